"""AdaIN beside the paper's own decoder: painterly's picture of the reference pair (Huang & Belongie's chicago.jpg
and style_asheville.jpg, ../shared/reference/adain/) next to the picture their released decoder made, both scored
by `painterly evaluate`'s measures, and one sheet to look at at 1:1.

    python benchmarks/adain_vs_paper.py [--decoder D.pt ...] [--alpha 1.0] [--method adain ...]
        [--wct-decoders DIR] [--sheet docs/adain_vs_paper.jpg]

Every decoder paints with every method; ``--decoder ""`` is the shipped one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from painterly.adain.model import AdaIN
from painterly.images import load_image, resize_long_side
from painterly.metrics import evaluate

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "adain"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decoder", nargs="*", default=[None], help="decoder checkpoints (default: the shipped one)")
    ap.add_argument("--alpha", type=float, default=1.0, help="the paper's picture is at alpha 1")
    ap.add_argument("--method", nargs="+", default=["adain"], help="adain, wct, multi-wct")
    ap.add_argument("--wct-decoders", default=None, help="folder of the multi-wct decoders (default: the shipped)")
    ap.add_argument("--wct-levels", type=int, nargs="+", default=[3], help="multi-wct's levels (each is a picture)")
    ap.add_argument("--sheet", type=Path, default=None)
    a = ap.parse_args()
    photo, painting = REFERENCE / "chicago.jpg", REFERENCE / "style_asheville.jpg"
    theirs = load_image(REFERENCE / "chicago_asheville.jpg")
    tiles = [("photo", resize_long_side(load_image(photo), max(theirs.size))), ("Huang & Belongie (released)", theirs)]
    rows = {"paper": evaluate(theirs, photo, painting)}
    for d in a.decoder:
        model = AdaIN(d or None, "cpu", wct_decoders=a.wct_decoders)
        for method, levels in [(m, n) for m in a.method for n in (a.wct_levels if m == "multi-wct" else [0])]:
            label = (Path(d).stem if d else "shipped") if method != "multi-wct" else f"multi-wct {levels}"
            if len(a.method) > 1 and method not in ("adain", "multi-wct"):
                label += f" {method}"
            if label in rows:  # multi-wct does not use the AdaIN decoder: once is enough
                continue
            kw = {"wct_levels": levels} if levels else {}
            ours = model(photo, painting, size=max(theirs.size), alpha=a.alpha, method=method, **kw)
            tiles.append((f"painterly ({label}, alpha {a.alpha:g})", ours))
            rows[label] = evaluate(ours, photo, painting)
    keys = ["style", "style_x2", "style_x4", "content", "cf", "ge", "ge_color", "ge_texture", "lp", "lp1", "lp2"]
    print(f"{'':<18}" + "".join(f"{k:>10}" for k in keys))
    for label, r in rows.items():
        print(f"{label:<18}" + "".join(f"{r[k]:>10.3f}" for k in keys))
    print(json.dumps({label: {k: round(r[k], 4) for k in keys} for label, r in rows.items()}))
    if a.sheet:
        w, h = theirs.size
        sheet = Image.new("RGB", (2 * w, ((len(tiles) + 1) // 2) * (h + 20)), "white")
        draw = ImageDraw.Draw(sheet)
        for i, (label, t) in enumerate(tiles):
            x, y = (i % 2) * w, (i // 2) * (h + 20)
            sheet.paste(t.resize((w, h)), (x, y + 20))
            draw.text((x + 4, y + 4), label, fill="black")
        a.sheet.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(a.sheet, quality=92)
    return 0


if __name__ == "__main__":
    sys.exit(main())
