"""Short A/B trainings of feed-forward designs on one painting, then one sheet beside Johnson et al.'s released model.

Every candidate is trained with the same photos, steps, crops and loss (``painterly train``), then paints
``../shared/reference/johnson/chicago.jpg`` at 512 px; the sheet puts the pictures side by side with the released
model's picture of the same photo, to be looked at at 1:1.  Runs resume (``--resume``), so the script can be
stopped and started again.

    python benchmarks/feedforward_ab.py RUNS_DIR [--steps 400] [--only NAME ...] [--sheet docs/SHEET.jpg]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from _shared import DATA, ROOT

REFERENCE = ROOT.parent / "shared" / "reference" / "johnson"
STYLES = ROOT / "src" / "painterly" / "pretrained" / "styles"
#: name -> (painting, reference picture, extra `painterly train` flags)
RECIPE = [
    "--image-size",
    "256",
    "--style-size",
    "512",
    "--content-weight",
    "1",
    "--style-weight",
    "5",
    "--tv-weight",
    "1",
    "--batch-size",
    "4",
    "--seed",
    "0",
]
#: the painting at its full size (1024 px), for style targets larger than the bundled 512 px copy
ORIGINALS = {"starry-night": DATA / "styles" / "vangogh_starry_night.jpg"}
CANDIDATES: dict[str, list[str]] = {
    "fast": ["--arch", "fast"],
    "realtime": ["--arch", "realtime"],
    "realtime-w32": ["--arch", "realtime", "--width", "32"],
    "johnson": ["--arch", "johnson"],
    "johnson-nn": ["--arch", "johnson-nn"],
    "realtime-nn": ["--arch", "realtime-nn"],
    "johnson-nn-s1024": ["--arch", "johnson-nn", "--style-size", "1024", "ORIGINAL"],
    "realtime-nn-s1024": ["--arch", "realtime-nn", "--style-size", "1024", "ORIGINAL"],
}


def train(runs: Path, name: str, flags: list[str], steps: int, painting: str) -> Path:
    out = runs / f"{name}.pt"
    style = STYLES / f"{painting}.jpg"
    if "ORIGINAL" in flags:  # the full-size painting
        flags = [f for f in flags if f != "ORIGINAL"]
        style = ORIGINALS[painting]
    # the candidate's flags come last, so they override the recipe's
    cmd = [
        "painterly",
        "train",
        str(style),
        "--data",
        str(DATA / "train_256"),
        *RECIPE,
        *flags,
        "--steps",
        str(steps),
        "--checkpoint-every",
        "100",
        "--preview-every",
        "100",
        "--resume",
        "-q",
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out


def sheet(models: dict[str, Path], reference: Path, photo: Path, output: Path, size: int = 512) -> None:
    """The released model's picture, then each candidate's, in rows of two, labelled, at 1:1."""
    from PIL import Image, ImageDraw

    from painterly.feedforward.stylizer import Stylizer
    from painterly.images import load_image, resize_long_side

    img = resize_long_side(load_image(photo), size)
    tiles = [("Johnson et al. (released)", resize_long_side(Image.open(reference).convert("RGB"), size))]
    tiles += [(name, Stylizer(str(path))(img)) for name, path in models.items()]
    w, h = tiles[0][1].size
    cols = 2
    rows = (len(tiles) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * w, rows * (h + 20)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, t) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + 20)
        canvas.paste(t.resize((w, h)), (x, y + 20))
        draw.text((x + 4, y + 4), label, fill="black")
    output.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(output, quality=92)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--painting", default="starry-night")
    ap.add_argument("--reference", default="chicago_starry_night.jpg")
    ap.add_argument("--only", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--flags", default="", help="extra painterly train flags for every candidate")
    ap.add_argument("--sheet", type=Path, default=None)
    a = ap.parse_args()
    a.runs.mkdir(parents=True, exist_ok=True)
    models = {}
    for name in a.only:
        models[name] = train(a.runs, name, CANDIDATES[name] + a.flags.split(), a.steps, a.painting)
        print(f"trained {name}", file=sys.stderr, flush=True)
    if a.sheet:
        sheet(models, REFERENCE / a.reference, REFERENCE / "chicago.jpg", a.sheet)
        print(f"wrote {a.sheet}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
