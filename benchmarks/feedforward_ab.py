"""Short A/B trainings of feed-forward designs on one painting, then one sheet beside Johnson et al.'s released model.

Every candidate is trained with the same photos, steps, crops and loss (``painterly train``), one after another
(two trainings side by side on a small CPU starve each other), and is copied to RUNS_DIR/NAME-STEPS.pt at each of
``--steps``; each copy then paints ``../shared/reference/johnson/chicago.jpg`` at 512 px.  The sheet puts the
pictures side by side with the released model's picture of the same photo: the whole pictures, the middle at 1:1,
and a patch of the sky at 4x, where a tiled motif or a hatch shows first.  Look at it at 1:1.  Runs resume
(``--resume``: the batches replay exactly), so the script can be stopped and started again.

    python benchmarks/feedforward_ab.py RUNS_DIR [--steps 400 800] [--only NAME ...] [--sheet docs/SHEET.jpg]
    python benchmarks/feedforward_ab.py --models LABEL=MODEL.pt ... --reference FILE|none --sheet docs/SHEET.jpg

The second form only draws the sheet, of networks trained elsewhere (a shipped painting's name works as MODEL);
``--reference none`` puts the painting itself first, for a painting Johnson et al. released no model of.
"""

from __future__ import annotations

import argparse
import shutil
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
    "realtime-bil": ["--arch", "realtime-bil"],
    "realtime-nn-jitter": ["--arch", "realtime-nn", "--jitter", "16"],
    "realtime-bil-jitter": ["--arch", "realtime-bil", "--jitter", "16"],
    "realtime-nn-noise": ["--arch", "realtime-nn", "--noise", "4"],
    "realtime-bil-noise": ["--arch", "realtime-bil", "--noise", "4"],
    "johnson-nn-s1024": ["--arch", "johnson-nn", "--style-size", "1024", "ORIGINAL"],
    "realtime-nn-s1024": ["--arch", "realtime-nn", "--style-size", "1024", "ORIGINAL"],
}


def train(runs: Path, name: str, flags: list[str], steps: int, painting: str) -> Path:
    """Train (or resume) candidate ``name`` to ``steps`` steps; returns its copy at that step."""
    out, copy = runs / f"{name}.pt", runs / f"{name}-{steps}.pt"
    if copy.exists():
        return copy
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
    shutil.copy(out, copy)
    return copy


def sheet(
    models: dict[str, Path], reference: Path, photo: Path, output: Path, size: int = 512, label: str = ""
) -> None:
    """The released model's picture (or the painting), then each candidate's, in columns: whole, the middle at 1:1,
    the sky at 4x."""
    from PIL import Image, ImageDraw

    from painterly.feedforward.stylizer import Stylizer
    from painterly.images import load_image, resize_long_side
    from painterly.metrics import lattice

    img = resize_long_side(load_image(photo), size)
    first = label or "Johnson et al. (released)"
    pictures = [(first, resize_long_side(Image.open(reference).convert("RGB"), size))]
    pictures += [(name, Stylizer(str(path))(img).resize(img.size)) for name, path in models.items()]
    for label, picture in pictures:  # a motif every 8, 4 or 2 px, measured (the released picture is a JPEG)
        print(f"{label}: lattice {lattice(picture):.1f}", file=sys.stderr)
    w, h = img.size
    middle = (w // 2 - 128, h // 2 - 128, w // 2 + 128, h // 2 + 128)
    sky = (w // 2 - 64, 16, w // 2 + 64, 144)
    rows = [
        [t.resize((w, h)) for _, t in pictures],
        [t.resize((w, h)).crop(middle) for _, t in pictures],
        [t.resize((w, h)).crop(sky).resize((512, 512), Image.Resampling.NEAREST) for _, t in pictures],
    ]
    heights = [max(t.height for t in r) for r in rows]
    canvas = Image.new("RGB", (len(pictures) * max(w, 512), 20 + sum(heights)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, _) in enumerate(pictures):
        draw.text((i * max(w, 512) + 4, 4), label, fill="black")
    y = 20
    for r, rh in zip(rows, heights):
        for i, t in enumerate(r):
            canvas.paste(t, (i * max(w, 512), y))
        y += rh
    output.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(output, quality=92)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="?")
    ap.add_argument("--steps", type=int, nargs="+", default=[400], help="copies at these steps")
    ap.add_argument("--painting", default="starry-night")
    ap.add_argument("--reference", default="chicago_starry_night.jpg")
    ap.add_argument("--only", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--flags", default="", help="extra painterly train flags for every candidate")
    ap.add_argument("--sheet", type=Path, default=None)
    ap.add_argument("--models", nargs="+", default=[], metavar="LABEL=MODEL", help="only draw the sheet of these")
    a = ap.parse_args()
    if a.models:
        models = {m.partition("=")[0]: Path(m.partition("=")[2]) for m in a.models}
        ref, label = REFERENCE / a.reference, ""
        if a.reference == "none":  # no released model of this painting: the painting itself comes first
            ref, label = STYLES / f"{a.painting}.jpg", f"the painting ({a.painting})"
        sheet(models, ref, REFERENCE / "chicago.jpg", a.sheet or Path(f"{a.painting}_sheet.jpg"), label=label)
        return 0
    if a.runs is None:
        ap.error("RUNS_DIR is needed to train (or --models to only draw a sheet)")
    a.runs.mkdir(parents=True, exist_ok=True)
    models = {}
    for name in a.only:
        for n in sorted(a.steps):
            models[f"{name}-{n}"] = train(a.runs, name, CANDIDATES[name] + a.flags.split(), n, a.painting)
            print(f"trained {name} to {n} steps", file=sys.stderr, flush=True)
    if a.sheet:
        sheet(models, REFERENCE / a.reference, REFERENCE / "chicago.jpg", a.sheet)
        print(f"wrote {a.sheet}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
