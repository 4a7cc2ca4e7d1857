"""Ship trained models inside the package: slim each to float16, score it on held-out photos with the shared judge,
time it, and write the catalogue (src/painterly/pretrained/cards.json) and the gallery sheet (docs/gallery.jpg).

Usage: python scripts/ship_pretrained.py RUNS_DIR [NAME ...] [--size 512] [--work DIR]
RUNS_DIR holds the finished checkpoints of scripts/train_pretrained.sh (NAME.pt).  The held-out photos are
../shared/data/content (none of them is in train_256); each model's output is judged against the original painting
in ../shared/data/styles, and so is the photo itself ("photo_style": the distance the model has to cut).
This is a development tool: it reads ../shared/tools/judge.py, which the product never imports.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from painterly.checkpoint import load_checkpoint
from painterly.feedforward.export import slim_checkpoint
from painterly.feedforward.stylizer import Stylizer
from painterly.images import load_image, resize_long_side, save_image
from painterly.shipped import CARDS, PRETRAINED, model_cards, style_image_path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
JOHNSON_STARRY_CHICAGO = {"style": 0.322, "content": 0.797}  # Johnson et al.'s ECCV16 model, issue 6

#: shipped name -> (painting as credited, original file in ../shared/data/styles)
PAINTINGS = {
    "starry-night": ("Vincent van Gogh, The Starry Night (1889)", "vangogh_starry_night.jpg"),
    "great-wave": ("Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831)", "hokusai_great_wave.jpg"),
    "the-scream": ("Edvard Munch, The Scream (1893)", "munch_the_scream.jpg"),
    "composition-vii": ("Wassily Kandinsky, Composition VII (1913)", "kandinsky_composition_vii.jpg"),
    "udnie": ("Francis Picabia, Udnie (1913)", "picabia_udnie.jpg"),
    "water-lilies": ("Claude Monet, Water Lilies (1919)", "monet_water_lilies_1919.jpg"),
    "shipwreck": ("J. M. W. Turner, The Shipwreck of the Minotaur (c. 1810)", "turner_shipwreck_of_the_minotaur.jpg"),
    "delaunay-portrait": ("Robert Delaunay, Portrait of Jean Metzinger (1906)", "delaunay_1906_portrait.jpg"),
}


def load_judge():
    spec = importlib.util.spec_from_file_location("judge", ROOT.parent / "shared" / "tools" / "judge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.judge()
    return lambda out, content, style: mod.score(str(out), str(content), str(style), net)


def cpu_ms(model: Stylizer, size: int = 512, runs: int = 10) -> float:
    """Median milliseconds per size x size image, as `painterly apply` runs it (after 2 warm-up runs)."""
    x = torch.rand(1, 3, size, size)
    for _ in range(2):
        model.tensor(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model.tensor(x)
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def ship(name: str, runs: Path, work: Path, size: int, score) -> dict:
    src = runs / f"{name}.pt"
    ck = load_checkpoint(src)
    if ck.get("step") != ck.get("steps"):
        raise SystemExit(f"{src}: training unfinished (step {ck.get('step')} of {ck.get('steps')})")
    painting, original = PAINTINGS[name]
    style = DATA / "styles" / original
    dst = slim_checkpoint(str(src), PRETRAINED / f"{name}.pt", half=True)
    shipped, full = Stylizer(str(dst), "cpu"), Stylizer(str(src), "cpu")
    photos = sorted((DATA / "content").iterdir())
    (work / name).mkdir(parents=True, exist_ok=True)
    (work / "photos").mkdir(parents=True, exist_ok=True)
    rows = []
    for p in photos:
        img = resize_long_side(load_image(p), size)
        plain = work / "photos" / f"{p.stem}.png"
        save_image(img, plain)
        out = work / name / f"{p.stem}.png"
        y = shipped(img)
        save_image(y, out)
        s, c = score(out, p, style)
        s0, _ = score(plain, p, style)
        rows.append(
            {
                "photo": p.name,
                "style": round(s, 4),
                "content": round(c, 4),
                "photo_style": round(s0, 4),
                "cut": round(s / s0, 3),
            }
        )
        print(f"  {name} {p.name}: style {s:.4f} (photo {s0:.4f}, x{s / s0:.2f}) content {c:.4f}", flush=True)
    chi = DATA / "content" / "adain_chicago.jpg"
    # what float16 storage changes: the shipped model against the float32 one, on the last photo
    half_diff = float(np.abs(np.asarray(y, np.float32) - np.asarray(full(img), np.float32)).mean() / 255)
    out = work / name / "chicago_510.png"
    save_image(shipped(resize_long_side(load_image(chi), 510)), out)
    cs, cc = score(out, chi, style)
    t = ck["train"]
    seconds = float(ck.get("seconds", 0.0))
    card = {
        "painting": painting,
        "arch": ck["arch"],
        "use": "stills, video and webcam",
        "style_image": f"styles/{name}.jpg",
        "bytes": dst.stat().st_size,
        "half_mean_pixel_diff": round(half_diff, 5),
        "training": {
            "steps": ck["step"],
            "batch_size": t["batch_size"],
            "image_size": t["image_size"],
            "style_size": t["style_size"],
            "style_weight": t["style_weight"],
            "content_weight": t["content_weight"],
            "tv_weight": t["tv_weight"],
            "lr": t["lr"],
            "data": f"{ck['data']['photos']} photos of train_256 (ImageNet, BSDS500, COCO samples)",
            "seconds": round(seconds),
            "images_per_s": round(ck["step"] * t["batch_size"] / seconds, 2) if seconds else None,
            "command": f"scripts/train_pretrained.sh DATA runs/pretrained {name}",
        },
        "judge": {
            "size": size,
            "photos": len(rows),
            "style": round(statistics.mean(r["style"] for r in rows), 4),
            "content": round(statistics.mean(r["content"] for r in rows), 4),
            "photo_style": round(statistics.mean(r["photo_style"] for r in rows), 4),
            "worst_cut": max(r["cut"] for r in rows),
            "chicago_510": {"style": round(cs, 4), "content": round(cc, 4)},
            "per_photo": rows,
        },
        "cpu_ms_512": cpu_ms(shipped),
    }
    print(
        f"{name}: style {card['judge']['style']} content {card['judge']['content']} worst cut "
        f"x{card['judge']['worst_cut']}; chicago {cs:.4f}/{cc:.4f}; {card['cpu_ms_512']} ms; "
        f"fp16 vs fp32 mean pixel diff {half_diff:.5f}",
        flush=True,
    )
    return card


def gallery(names: list[str], photo: Path, out: Path, cell: int = 340) -> None:
    """One photo through every shipped model, each with its painting inset, as one sheet."""
    img = resize_long_side(load_image(photo), cell)
    w, h = img.size
    tiles = [("photo", img)] + [(n, Stylizer(n, "cpu")(img)) for n in names]
    cols = 3
    rows = (len(tiles) + cols - 1) // cols
    label = 22
    sheet = Image.new("RGB", (cols * w, rows * (h + label)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for i, (name, tile) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + label)
        tile = tile.copy()
        if name != "photo":
            inset = resize_long_side(load_image(style_image_path(name)), w // 4)
            tile.paste(inset, (w - inset.size[0] - 4, h - inset.size[1] - 4))
        sheet.paste(tile, (x, y))
        draw.text((x + 6, y + h + 2), name, fill="black", font=font)
    save_image(sheet, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path)
    ap.add_argument("names", nargs="*", default=list(PAINTINGS))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "ship")
    ap.add_argument("--gallery-photo", type=Path, default=ROOT / "examples" / "chelsea.jpg")
    ap.add_argument(
        "--time-only",
        action="store_true",
        help="only re-measure cpu_ms_512 of the shipped models (run it on an otherwise idle machine)",
    )
    a = ap.parse_args()
    cards = model_cards()
    if a.time_only:
        for name in a.names:
            if name in cards:
                cards[name]["cpu_ms_512"] = cpu_ms(Stylizer(name, "cpu"), runs=20)
                print(f"{name}: {cards[name]['cpu_ms_512']} ms per 512x512 image", flush=True)
    else:
        score = load_judge()
        for name in a.names:
            cards[name] = ship(name, a.runs, a.work, a.size, score)
            CARDS.write_text(json.dumps(dict(sorted(cards.items())), indent=1) + "\n")
    CARDS.write_text(json.dumps(dict(sorted(cards.items())), indent=1) + "\n")
    shipped = [n for n in PAINTINGS if (PRETRAINED / f"{n}.pt").is_file()]
    gallery(shipped, a.gallery_photo, ROOT / "docs" / "gallery.jpg")
    print(
        "\n| model | painting | arch | steps | train min | style | photo's style | worst cut | content | "
        "chicago style / content | ms per 512x512 | MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in shipped:
        c = cards[n]
        j = c["judge"]
        print(
            f"| `{n}` | {c['painting']} | {c['arch']} | {c['training']['steps']} | "
            f"{c['training']['seconds'] / 60:.0f} | {j['style']:.3f} | {j['photo_style']:.3f} | "
            f"x{j['worst_cut']:.2f} | {j['content']:.3f} | {j['chicago_510']['style']:.3f} / "
            f"{j['chicago_510']['content']:.3f} | {c['cpu_ms_512']:.0f} | {c['bytes'] / 1e6:.1f} |"
        )
    sn = cards.get("starry-night", {}).get("judge", {}).get("chicago_510")
    if sn:
        print(
            f"\nstarry-night on chicago at 510 px: style {sn['style']} (Johnson et al. "
            f"{JOHNSON_STARRY_CHICAGO['style']}), content {sn['content']} ({JOHNSON_STARRY_CHICAGO['content']})"
        )


if __name__ == "__main__":
    sys.exit(main())
