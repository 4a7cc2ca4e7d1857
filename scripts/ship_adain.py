"""Ship an AdaIN decoder inside the package (VGG19's, or the distilled encoder's with its student encoder, as the
checkpoint says): slim it to float16, score it (painterly.metrics) on photo-painting
pairs at 512 px (paintings it never saw, and the ones it trained on, for the generalisation gap), compare the
adain and wct transforms and float16 against float32, time it, and write the card
(src/painterly/pretrained/adain/card.json, or distilled_card.json) and the gallery (docs/adain_gallery.jpg, or
docs/adain_distilled_gallery.jpg).

Usage: python scripts/ship_adain.py CHECKPOINT [--size 512] [--photos N] [--eval-only] [--work DIR] [--reuse]
The photos are ../shared/data/content (none is in train_256).  ``--eval-only`` scores CHECKPOINT without shipping
(for checkpoints of a run still training).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from painterly.adain.model import AdaIN, encoder_name, load_decoder_checkpoint, slim_decoder
from painterly.app.bench import bench_adain
from painterly.config import AdainConfig
from painterly.images import load_image, resize_long_side, save_image
from painterly.shipped import ADAIN_DECODERS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from painterly.metrics import distances  # noqa: E402
from ship_pretrained import DATA, PAINTINGS, ROOT  # noqa: E402

#: each encoder's card beside its decoder
CARDS = {"vgg19": "card.json", "vgg19-quarter": "distilled_card.json"}
#: each encoder's gallery
GALLERIES = {"vgg19": "adain_gallery.jpg", "vgg19-quarter": "adain_distilled_gallery.jpg"}
#: each encoder as the card describes it
ENCODER_TEXT = {
    "vgg19": "bundled VGG19 to relu4_1",
    "vgg19-quarter": "VGG19 to relu4_1 with a quarter of its channels, distilled from it (Wang et al. 2020)",
}


def evaluate(
    model: AdaIN,
    paintings: list[str],
    photos: list[Path],
    size: int,
    score,
    work: Path,
    method: str = "adain",
    alpha: float = 1.0,
    reuse: bool = False,
) -> list[dict]:
    """The style and content distances of every photo x painting at ``size``, and the photo's own style
    distance to the painting (what the transfer has to cut); each pair's scores are kept beside its picture, and
    ``reuse`` takes them from there instead of painting and scoring the pair again."""
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in paintings:
        style = DATA / "styles" / PAINTINGS[name][1]
        for p in photos:
            plain = work / f"photo_{p.stem}.png"
            if not plain.is_file():
                save_image(resize_long_side(load_image(p), size), plain)
            out = work / f"{name}_{p.stem}.png"
            kept = out.with_suffix(".json")
            if reuse and out.is_file() and kept.is_file():  # a run that stopped: this pair is done
                rows.append(json.loads(kept.read_text()))
                continue
            save_image(model(plain, style, size=None, alpha=alpha, method=method, style_size=size), out)
            s, c = score(out, p, style)
            s0, _ = score(plain, p, style)
            rows.append(
                {
                    "painting": name,
                    "photo": p.name,
                    "style": round(s, 4),
                    "content": round(c, 4),
                    "photo_style": round(s0, 4),
                    "cut": round(s / s0, 3),
                }
            )
            kept.write_text(json.dumps(rows[-1]))
            print(
                f"  {method} {name} {p.name}: style {s:.4f} (photo {s0:.4f}, x{s / s0:.2f}) content {c:.4f}", flush=True
            )
    return rows


def summary(rows: list[dict]) -> dict | None:
    if not rows:  # e.g. no bundled painting among the training paintings: no generalisation gap to measure
        return None
    return {
        "pairs": len(rows),
        "style": round(statistics.mean(r["style"] for r in rows), 4),
        "photo_style": round(statistics.mean(r["photo_style"] for r in rows), 4),
        "mean_cut": round(statistics.mean(r["cut"] for r in rows), 3),
        "worst_cut": max(r["cut"] for r in rows),
        "content": round(statistics.mean(r["content"] for r in rows), 4),
        "worst_content": max(r["content"] for r in rows),
    }


def gallery(
    model: AdaIN,
    photos: list[Path],
    paintings: list[str],
    out: Path,
    cell: int = 300,
    method: str = "adain",
    alpha: float | None = None,
) -> None:
    """Rows: photos; columns: the photo, then each painting (inset) through AdaIN (or ``method``), painted at
    512 px (the size a painting's strokes are meant for) and shown at ``cell``."""
    imgs = [resize_long_side(load_image(p), cell) for p in photos]
    painted = [resize_long_side(load_image(p), max(cell, 512)) for p in photos]
    w, h = cell, max(i.size[1] for i in imgs)
    label = 22
    sheet = Image.new("RGB", ((1 + len(paintings)) * w, len(imgs) * h + label), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for j, name in enumerate(["photo", *paintings]):
        draw.text((j * w + 6, 2), name, fill="black", font=font)
    for i, img in enumerate(imgs):
        sheet.paste(img, (0, label + i * h))
        for j, name in enumerate(paintings, 1):
            style = DATA / "styles" / PAINTINGS[name][1]
            tile = model(painted[i], style, size=None, style_size=512, method=method, alpha=alpha).resize(
                img.size, Image.Resampling.LANCZOS
            )
            inset = resize_long_side(load_image(style), w // 4)
            tile.paste(inset, (tile.size[0] - inset.size[0] - 3, tile.size[1] - inset.size[1] - 3))
            sheet.paste(tile, (j * w, label + i * h))
    save_image(sheet, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--photos", type=int, default=0, help="only the first N held-out photos (0: all)")
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--methods", nargs="+", default=["adain", "wct"])
    ap.add_argument("--alphas", nargs="+", type=float, default=[1.0], help="style strengths to compare (held out)")
    ap.add_argument("--seen-photos", type=int, default=3, help="photos per training painting for the gap")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "ship_adain")
    ap.add_argument("--reuse", action="store_true", help="take the pictures and scores already in --work (a rerun)")
    a = ap.parse_args()
    ck = load_decoder_checkpoint(a.checkpoint)
    enc = encoder_name(ck)
    trained = ck["data"]["paintings"]
    held_out = [n for n, (_, f) in PAINTINGS.items() if f not in trained]
    seen = [n for n, (_, f) in PAINTINGS.items() if f in trained]
    photos = sorted((DATA / "content").iterdir())[: a.photos or None]

    def score(out, content, style):
        d = distances(out, content, style)
        return d["style"], d["content"]

    # the shipping alpha is always among them: float16 is compared with float32 at the alpha the card scores
    alphas = a.alphas if a.eval_only else sorted({*a.alphas, AdainConfig().alpha}, reverse=True)
    methods = a.methods if a.eval_only or "adain" in a.methods else ["adain", *a.methods]
    full = AdaIN(str(a.checkpoint), "cpu", encoder=enc)
    print(f"{a.checkpoint}: step {ck['step']}, {ck.get('seconds', 0) / 60:.0f} min; held out: {held_out}", flush=True)
    results = {
        f"{m} alpha {al:g}": summary(
            evaluate(
                full, held_out, photos, a.size, score, a.work / (m if al == 1.0 else f"{m}_{al:g}"), m, al, a.reuse
            )
        )
        for m in methods
        for al in alphas
    }
    for m, r in results.items():
        print(f"held-out {m}: {r}", flush=True)
    if a.eval_only:
        return
    trained_in_fp32 = next(iter(ck["state_dict"].values())).dtype == torch.float32
    dst = slim_decoder(a.checkpoint, ADAIN_DECODERS[enc], half=True)
    shipped = AdaIN(None, "cpu", encoder=enc)
    alpha = AdainConfig().alpha  # the card scores what `painterly adain` does by default
    held = evaluate(shipped, held_out, photos, a.size, score, a.work / "shipped", alpha=alpha, reuse=a.reuse)
    seen_rows = evaluate(
        shipped, seen, photos[: a.seen_photos], a.size, score, a.work / "seen", alpha=alpha, reuse=a.reuse
    )
    fp32 = a.work / ("adain" if alpha == 1.0 else f"adain_{alpha:g}")
    half_diff = float(
        np.mean(
            [
                np.abs(
                    np.asarray(Image.open(a.work / "shipped" / f"{n}_{p.stem}.png"), np.float32)
                    - np.asarray(Image.open(fp32 / f"{n}_{p.stem}.png"), np.float32)
                ).mean()
                / 255
                for n in held_out
                for p in photos
            ]
        )
    )
    t = ck["train"]
    seconds = float(ck.get("seconds", 0.0))
    card = {
        "method": f"AdaIN (Huang & Belongie 2017); encoder: {ENCODER_TEXT[enc]}",
        "encoder": enc,
        "alpha": alpha,
        "bytes": dst.stat().st_size,
        "decoder_width": ck["settings"]["width"],
        # a checkpoint already in float16 (one shipped before) has no float32 to compare with
        "half_mean_pixel_diff": round(half_diff, 5) if trained_in_fp32 else None,
        "training": {
            "steps": ck["step"],
            "batch_size": t["batch_size"],
            "image_size": t["image_size"],
            "lr": t["lr"],
            "style_weight": t["style_weight"],
            "photo_styles": t["photo_styles"],
            "painting_side": t.get("painting_side") or 2 * t["image_size"],
            "warmup_steps": t.get("warmup_steps", 0),
            **({"distill_steps": t["distill_steps"]} if t.get("distill_steps") else {}),
            "paintings": trained,
            "photos": ck["data"]["photos"],
            "seconds": round(seconds),
            "command": "scripts/train_adain.sh" if enc == "vgg19" else f"ENCODER={enc} scripts/train_adain.sh",
        },
        "scores": {
            "size": a.size,
            "photos": [p.name for p in photos],
            "held_out_paintings": held_out,
            "held_out": summary(held),
            "seen": summary(seen_rows),
            "methods_held_out_fp32": results,
            "per_pair": held + seen_rows,
        },
        "cpu_ms_512": {
            "new_painting": (ms := bench_adain(512, encoder=enc))["ms"],
            "painting_known": ms["ms_style_cached"],
        },
    }
    dst.with_name(CARDS[enc]).write_text(json.dumps(card, indent=1) + "\n")
    gallery(
        shipped,
        [DATA / "content" / n for n in ("chelsea.png", "jcj_tubingen.jpg", "adain_chicago.jpg")],
        held_out,
        ROOT / "docs" / GALLERIES[enc],
    )
    print(json.dumps({k: card["scores"][k] for k in ("held_out", "seen", "methods_held_out_fp32")}, indent=1))
    print(f"fp16 vs fp32 mean pixel diff {half_diff:.5f}; cpu ms {card['cpu_ms_512']}")


if __name__ == "__main__":
    sys.exit(main())
