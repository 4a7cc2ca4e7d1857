"""Print-size pictures from `painterly transfer`: tiled against whole at a size where both fit, and the time and
peak memory of pictures far larger than memory would allow whole.

    python benchmarks/transfer_tiles.py OUT [--compare 2048] [--tile 1024] [--large 4096x4096 7680x4320]
                                            [--large-tile 0] [--large-scales SPEC]

The large pictures take the tile that painterly plans for the free memory (``--large-tile 0``); run with
PAINTERLY_MEMORY_LIMIT_GB=16 to plan for a 16 GB machine.  ``--large-scales`` gives them a coarse-to-fine schedule of
their own (`painterly transfer --scales`), for example fewer steps at the largest scales on a slow machine.

Each run is a separate `painterly transfer` process under /usr/bin/time -v (peak resident memory).  The photo is
../shared/data/content/jcj_tubingen.jpg, cropped to each picture's aspect ratio; the painting is The Starry Night.
Also writes 1:1 crops across tile borders, to look for seams, and each run's progress and /usr/bin/time report
beside its picture (OUT/NAME.log).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from painterly.metrics import distances

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PHOTO = DATA / "content" / "jcj_tubingen.jpg"
PAINTING = Path(__file__).resolve().parents[1] / "src" / "painterly" / "pretrained" / "styles" / "starry-night.jpg"


def photo_at(aspect: float, out: Path) -> Path:
    """The photo cropped (centred) to ``aspect`` (width / height)."""
    img = Image.open(PHOTO).convert("RGB")
    w, h = img.size
    if w / h > aspect:
        nw = round(h * aspect)
        img = img.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
    else:
        nh = round(w / aspect)
        img = img.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))
    img.save(out)
    return out


def run(photo: Path, out: Path, size: int, tile: int, scales: str = "") -> dict:
    cmd = (
        [
            "/usr/bin/time",
            "-v",
            sys.executable,
            "-m",
            "painterly",
            "transfer",
            str(photo),
            str(PAINTING),
            "-o",
            str(out),
            "--size",
            str(size),
        ]
        + (["--tile", str(tile)] if tile else [])
        + (["--scales", scales] if scales else [])
    )
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    out.with_suffix(".log").write_text(r.stderr)  # the progress bar's steps with their times, then /usr/bin/time's
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) * 1024
    return {"size": size, "tile": tile, "seconds": round(seconds, 1), "peak_gb": round(peak / 1e9, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--compare", type=int, default=2048)
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--large", nargs="*", default=["4096x4096", "7680x4320"])
    ap.add_argument("--large-tile", type=int, default=0, help="tile side for the large pictures (0: as planned)")
    ap.add_argument("--large-scales", default="", help="--scales for the large pictures (default: painterly's own)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    if a.compare:
        photo = photo_at(4 / 3, a.out / "photo_4x3.png")
        for tile in (0, a.tile):
            out = a.out / f"compare_{a.compare}_{'tiled' if tile else 'whole'}.png"
            row = run(photo, out, a.compare, tile)
            row.update({k: round(v, 4) for k, v in distances(out, photo, PAINTING).items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
    for spec in a.large:
        w, h = map(int, spec.split("x"))
        photo = photo_at(w / h, a.out / f"photo_{spec}.png")
        out = a.out / f"large_{spec}.png"
        row = run(photo, out, max(w, h), a.large_tile, a.large_scales)
        if a.large_scales:
            row["scales"] = a.large_scales
        img = Image.open(out)
        row["output"] = list(img.size)
        # 1:1 crops (the grid moves every step, so a seam, if one stayed, could be anywhere: these are where the
        # first tiles would meet without the offset, and the centre)
        seam = a.large_tile or 2048 - 2 * 256  # a 2048 tile's own part, without its margins
        for i, (cx, cy) in enumerate(((seam, seam), (img.width // 2, img.height // 2))):
            img.crop((cx - 256, cy - 256, cx + 256, cy + 256)).save(a.out / f"large_{spec}_crop{i}.png")
        rows.append(row)
        print(json.dumps(row), flush=True)
    (a.out / "results.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
