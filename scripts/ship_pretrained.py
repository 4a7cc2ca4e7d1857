"""Ship the trained networks inside the package: slim each to float16, score every painting on the held-out photos,
time it, and write the catalogue (src/painterly/pretrained/cards.json), the gallery (docs/gallery.jpg), the sheet
beside Johnson et al.'s released models (docs/feedforward_vs_johnson.jpg) and the README's table of them.

Usage: python scripts/ship_pretrained.py RUNS_DIR [--variants quality realtime] [--size 512]
       python scripts/ship_pretrained.py --single NAME=CHECKPOINT [NAME=CHECKPOINT ...]
       python scripts/ship_pretrained.py --retime   (every shipped network timed again in one run)
RUNS_DIR holds quality.pt and realtime.pt from scripts/train_pretrained.sh; --single ships one painting's own
network (`painterly train`) as pretrained/NAME.pt, used for pictures, video and the webcam alike.
The held-out photos are ../shared/data/content (none of them is in train_256); every picture is scored with
painterly's own measures (painterly.metrics: the style and content distances, and Wang et al. 2021's criteria)
against the painting at full size in ../shared/data/styles, and so is the photo itself ("photo_style": the
distance the network has to cut).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from painterly.checkpoint import load_checkpoint, painting_names
from painterly.feedforward.export import slim_checkpoint
from painterly.feedforward.stylizer import Stylizer
from painterly.images import load_image, resize_long_side, save_image
from painterly.metrics import distances, evaluate
from painterly.shipped import CARDS, PRETRAINED, model_cards, style_image_path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
REFERENCE = ROOT.parent / "shared" / "reference" / "johnson"

#: shipped name -> (painting as credited, original file in ../shared/data/styles), in the networks' style order
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
#: the paintings Johnson et al. released models of -> their picture of chicago.jpg and their copy of the painting
JOHNSON = {
    "starry-night": "starry_night",
    "great-wave": "wave",
    "the-scream": "the_scream",
    "composition-vii": "composition_vii",
    "udnie": "udnie",
}
USE = {
    "quality": "pictures and folders (painterly apply)",
    "realtime": "video and the webcam (painterly apply on a video, painterly webcam)",
}


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


def rounded(d: dict[str, float], n: int = 4) -> dict[str, float]:
    return {k: round(v, n) for k, v in d.items()}


def score_painting(name: str, variant: str, size: int, work: Path) -> dict:
    """The painting's held-out scores with the shipped network ``variant``: distances on every photo, Wang et
    al.'s criteria on chicago, and (for the paintings Johnson et al. released) theirs beside it."""
    model = Stylizer(name, "cpu", variant=variant)
    style = DATA / "styles" / PAINTINGS[name][1]
    rows = []
    (work / variant / name).mkdir(parents=True, exist_ok=True)
    for p in sorted((DATA / "content").iterdir()):
        img = resize_long_side(load_image(p), size)
        out = model(img)
        save_image(out, work / variant / name / f"{p.stem}.png")
        got, before = distances(out, img, style), distances(img, img, style)
        rows.append(
            {
                "photo": p.name,
                "style": round(got["style"], 4),
                "content": round(got["content"], 4),
                "photo_style": round(before["style"], 4),
                "cut": round(got["style"] / before["style"], 3),
            }
        )
    chicago = resize_long_side(load_image(REFERENCE / "chicago.jpg"), size)
    ours = model(chicago)
    save_image(ours, work / variant / name / "chicago_johnson.png")
    card = {
        "photos": len(rows),
        "size": size,
        "style": round(statistics.mean(r["style"] for r in rows), 4),
        "content": round(statistics.mean(r["content"] for r in rows), 4),
        "photo_style": round(statistics.mean(r["photo_style"] for r in rows), 4),
        "worst_cut": max(r["cut"] for r in rows),
        "per_photo": rows,
        "chicago": rounded(evaluate(ours, chicago, style)),
    }
    if name in JOHNSON:
        theirs = load_image(REFERENCE / f"chicago_{JOHNSON[name]}.jpg")
        theirs_style = REFERENCE / f"style_{JOHNSON[name]}.jpg"
        card["chicago_vs_johnson"] = {
            "painterly": rounded(evaluate(resize_long_side(ours, max(theirs.size)), chicago, theirs_style)),
            "johnson": rounded(evaluate(theirs, chicago, theirs_style)),
        }
    print(
        f"{variant} {name}: style {card['style']} (photo {card['photo_style']}), worst cut x{card['worst_cut']}, "
        f"content {card['content']}; chicago lp {card['chicago']['lp']}",
        flush=True,
    )
    return card


def sheet(tiles: list[tuple[str, Image.Image]], out: Path, cols: int) -> None:
    """Labelled tiles in rows of ``cols``, at their own size (1:1)."""
    w, h = max(t.size[0] for _, t in tiles), max(t.size[1] for _, t in tiles)
    label = 22
    rows = (len(tiles) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * w, rows * (h + label)), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=16)
    for i, (name, tile) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + label)
        canvas.paste(tile, (x, y))
        draw.text((x + 6, y + h + 2), name, fill="black", font=font)
    save_image(canvas, out)


def gallery(names: list[str], photo: Path, out: Path, cell: int = 340) -> None:
    """One photo through every shipped painting (quality network), each with its painting inset."""
    img = resize_long_side(load_image(photo), cell)
    tiles = [("photo", img)]
    for n in names:
        tile = Stylizer(n, "cpu")(img)
        inset = resize_long_side(load_image(style_image_path(n)), img.width // 4)
        tile.paste(inset, (tile.width - inset.width - 4, tile.height - inset.height - 4))
        tiles.append((n, tile))
    sheet(tiles, out, 3)


def versus_johnson(variants: list[str], work: Path, out: Path) -> None:
    """For each painting Johnson et al. released: their picture of chicago, then each shipped network's, at 512 px
    (painted here where this run did not score that painting)."""
    tiles = []
    chicago = resize_long_side(load_image(REFERENCE / "chicago.jpg"), 512)
    for name, ref in JOHNSON.items():
        theirs = load_image(REFERENCE / f"chicago_{ref}.jpg")
        tiles.append((f"{name}: Johnson et al.", resize_long_side(theirs, 512)))
        for v in variants:
            ours = work / v / name / "chicago_johnson.png"
            picture = load_image(ours) if ours.is_file() else Stylizer(name, "cpu", variant=v)(chicago)
            tiles.append((f"{name}: painterly {v}", picture))
    sheet(tiles, out, 1 + len(variants))


def training_card(ck: dict, command: str, **extra: object) -> dict:
    """The model card's account of a checkpoint's training (``extra`` after the loss weights)."""
    t = ck["train"]
    seconds = float(ck.get("seconds", 0.0))
    keys = ("batch_size", "image_size", "style_size", "style_weight", "content_weight", "tv_weight", "lr")
    return {
        "steps": ck["step"],
        **{k: t[k] for k in keys},
        **extra,
        "data": f"{ck['data']['photos']} photos of train_256 (ImageNet, BSDS500, COCO samples)",
        "seconds": round(seconds),
        "images_per_s": round(ck["step"] * t["batch_size"] / seconds, 2) if seconds else None,
        "command": command,
    }


def half_precision_diff(full: Stylizer, shipped: Stylizer) -> float:
    """Mean absolute pixel difference (0-1) of the float16 network from the float32 one on a held-out photo."""
    probe = resize_long_side(load_image(DATA / "content" / "chelsea.png"), 256)
    return float(np.abs(np.asarray(shipped(probe), np.float32) - np.asarray(full(probe), np.float32)).mean() / 255)


def ship_single(name: str, src: Path, size: int, work: Path) -> None:
    """One painting's own network into the package as ``pretrained/NAME.pt`` (float16), with its model card."""
    if name not in PAINTINGS:
        raise SystemExit(f"--single: '{name}' is not a shipped painting ({', '.join(PAINTINGS)})")
    ck = load_checkpoint(src)
    if painting_names(ck) not in ([name], [Path(PAINTINGS[name][1]).stem]):
        raise SystemExit(f"{src}: not a network of the painting '{name}' alone (it has {painting_names(ck)})")
    if ck.get("styles"):  # the shipped name
        ck["styles"] = [dict(ck["styles"][0], name=f"{name}.jpg")]
    else:
        ck["style"] = dict(ck["style"], name=f"{name}.jpg")
    ck["steps"] = ck["step"]  # shipped as trained: a run stopped early ships the steps it had
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / f"{name}.renamed.pt"
    torch.save(ck, tmp)
    dst = slim_checkpoint(str(tmp), PRETRAINED / f"{name}.pt", half=True)
    full, shipped = Stylizer(str(tmp), "cpu"), Stylizer(name, "cpu")
    half_diff = half_precision_diff(full, shipped)
    t = ck["train"]
    cards = model_cards()
    entries = cards["paintings"] if "paintings" in cards else cards
    entries[name] = {
        "painting": PAINTINGS[name][0],
        "arch": ck["arch"],
        "use": "stills, video and webcam",
        "style_image": f"styles/{name}.jpg",
        "bytes": dst.stat().st_size,
        "half_mean_pixel_diff": round(half_diff, 5),
        "cpu_ms_512": cpu_ms(shipped),
        "training": training_card(
            ck,
            (
                f"painterly train styles/{name}.jpg --data train_256 --arch {ck['arch']} --steps {ck['step']} "
                f"--image-size {t['image_size']} --style-size {t['style_size']} --style-weight {t['style_weight']:g} "
                f"--tv-weight {t['tv_weight']:g} --batch-size {t['batch_size']} --seed {t['seed']}"
                + (f" --noise {noise}" if (noise := ck.get("settings", {}).get("noise")) else "")
                + (f" --content-layers {' '.join(layers)}" if (layers := t.get("content_layers")) else "")
            ),
        ),
        "scores": score_painting(name, "quality", size, work),
    }
    CARDS.write_text(json.dumps(cards, indent=1) + "\n")
    print(f"{name}: {entries[name]['cpu_ms_512']} ms per 512x512; float16 vs float32 {half_diff:.5f}", flush=True)


def retime() -> None:
    """Every shipped single-painting network timed again in this one run, so the cards' speeds compare."""
    cards = model_cards()
    entries = cards.get("paintings", cards)
    for name in PAINTINGS:
        if name in entries and (PRETRAINED / f"{name}.pt").is_file():
            entries[name]["cpu_ms_512"] = cpu_ms(Stylizer(name, "cpu"))
            print(f"{name}: {entries[name]['cpu_ms_512']} ms per 512x512", flush=True)
    CARDS.write_text(json.dumps(cards, indent=1) + "\n")


def readme_table(readme: Path = ROOT / "README.md") -> None:
    """The table of shipped paintings in the README (between its ``<!-- models -->`` markers), from the cards."""
    cards = model_cards()
    entries = cards.get("paintings", cards)
    rows = [
        "| painting | network | training | ms per 512x512 | style kept of the photo's (worst of 9) "
        "| Wang et al.'s LP on chicago: painterly / Johnson et al. |",
        "|---|---|---|---|---|---|",
    ]
    for name in PAINTINGS:
        card = entries.get(name)
        if not card:
            continue
        sc, t = card.get("scores", {}), card.get("training", {})
        vs = sc.get("chicago_vs_johnson")
        lp = f"{vs['painterly']['lp']:.3f} / {vs['johnson']['lp']:.3f}" if vs else "—"
        rows.append(
            f"| `{name}`: {card['painting']} | {card['arch']} | {t.get('steps', '?'):,} steps | "
            f"{card.get('cpu_ms_512', '?')} | x{sc.get('worst_cut', float('nan')):.2f} | {lp} |"
        )
    text = readme.read_text()
    start, end = "<!-- models -->\n", "<!-- /models -->"
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no '<!-- models -->' ... '<!-- /models -->' markers for the table")
    head, rest = text.split(start, 1)
    readme.write_text(head + start + "\n".join(rows) + "\n" + end + rest.split(end, 1)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="?")
    ap.add_argument("--single", nargs="+", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--variants", nargs="*", default=["quality", "realtime"])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "ship")
    ap.add_argument("--gallery-photo", type=Path, default=ROOT / "examples" / "chelsea.jpg")
    ap.add_argument("--retime", action="store_true", help="only time every shipped painting again, in one run")
    a = ap.parse_args()
    if a.retime:
        retime()
        readme_table()
        return
    if a.single:
        for spec in a.single:
            name, _, path = spec.partition("=")
            ship_single(name, Path(path), a.size, a.work)
        names = [n for n in PAINTINGS if (PRETRAINED / f"{n}.pt").is_file()]
        gallery(names, a.gallery_photo, ROOT / "docs" / "gallery.jpg")
        versus_johnson(["quality"], a.work, ROOT / "docs" / "feedforward_vs_johnson.jpg")
        readme_table()
        return
    if a.runs is None:
        ap.error("give RUNS_DIR, or --single NAME=CHECKPOINT")
    cards = model_cards()
    networks, paintings = cards.get("networks", {}), cards.get("paintings", {})
    for v in a.variants:
        src = a.runs / f"{v}.pt"
        ck = load_checkpoint(src)
        if [Path(s["name"]).stem for s in ck["styles"]] != [Path(f).stem for _, f in PAINTINGS.values()]:
            raise SystemExit(f"{src}: its paintings are not the shipped ones in the shipped order")
        ck["styles"] = [dict(s, name=f"{n}.jpg") for s, n in zip(ck["styles"], PAINTINGS)]  # shipped names
        tmp = a.work / f"{v}.renamed.pt"
        a.work.mkdir(parents=True, exist_ok=True)
        torch.save(ck, tmp)
        dst = slim_checkpoint(str(tmp), PRETRAINED / f"{v}.pt", half=True)
        full, shipped = (
            Stylizer(str(tmp), "cpu", mix=next(iter(PAINTINGS))),
            Stylizer(next(iter(PAINTINGS)), "cpu", variant=v),
        )
        half_diff = half_precision_diff(full, shipped)
        networks[v] = {
            "arch": ck["arch"],
            "settings": ck["settings"],
            "use": USE[v],
            "bytes": dst.stat().st_size,
            "half_mean_pixel_diff": round(half_diff, 5),
            "cpu_ms_512": cpu_ms(shipped),
            "training": training_card(ck, f"scripts/train_pretrained.sh DATA RUNS {v}", paintings=len(PAINTINGS)),
        }
        print(f"{v}: {networks[v]['cpu_ms_512']} ms per 512x512; float16 vs float32 {half_diff:.5f}", flush=True)
    for name, (credit, _) in PAINTINGS.items():
        entry = paintings.setdefault(name, {})
        entry["painting"] = credit
        entry["style_image"] = f"styles/{name}.jpg"
        entry.setdefault("scores", {})
        for v in a.variants:
            entry["scores"][v] = score_painting(name, v, a.size, a.work)
        CARDS.write_text(json.dumps({"networks": networks, "paintings": paintings}, indent=1) + "\n")
    gallery(list(PAINTINGS), a.gallery_photo, ROOT / "docs" / "gallery.jpg")
    versus_johnson(a.variants, a.work, ROOT / "docs" / "feedforward_vs_johnson.jpg")
    print("\n| painting | network | style | photo's style | worst cut | content | chicago cf / ge / lp |")
    print("|---|---|---|---|---|---|---|")
    for name, entry in paintings.items():
        for v, s in entry["scores"].items():
            c = s["chicago"]
            print(
                f"| `{name}` | {v} | {s['style']:.3f} | {s['photo_style']:.3f} | x{s['worst_cut']:.2f} | "
                f"{s['content']:.3f} | {c['cf']:.3f} / {c['ge']:.3f} / {c['lp']:.3f} |"
            )
    print("\n| painting | network | lp (painterly) | lp (Johnson et al.) | lp2 (painterly) | lp2 (Johnson et al.) |")
    print("|---|---|---|---|---|---|")
    for name, entry in paintings.items():
        for v, s in entry["scores"].items():
            if "chicago_vs_johnson" in s:
                p, j = s["chicago_vs_johnson"]["painterly"], s["chicago_vs_johnson"]["johnson"]
                print(f"| `{name}` | {v} | {p['lp']:.3f} | {j['lp']:.3f} | {p['lp2']:.3f} | {j['lp2']:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
