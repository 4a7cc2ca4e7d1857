"""Quality of `painterly transfer` with its defaults on photo/painting pairs, scored by
painterly.metrics.distances (original VGG19, Gram distance relu1_1..relu5_1, content distance relu4_2).

Usage: python benchmarks/quality_check.py OUTDIR CONTENT:STYLE [CONTENT:STYLE ...] [-- extra painterly flags]
Prints, per pair, the output's style and content distances and the photo's own style distance.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import distances, split_extra  # noqa: E402


def main(argv: list[str]) -> None:
    argv, extra = split_extra(argv)
    outdir, pairs = Path(argv[0]), argv[1:]
    outdir.mkdir(parents=True, exist_ok=True)
    print("| content | style | seconds | style dist | photo's own style dist | ratio | content dist |")
    print("|---|---|---|---|---|---|---|")
    for pair in pairs:
        c, s = (Path(p) for p in pair.split(":"))
        out = outdir / f"{c.stem}__{s.stem}.png"
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "painterly", "transfer", str(c), str(s), "-o", str(out), "-q", *extra], check=True
        )
        secs = time.perf_counter() - t
        so, co = distances(out, c, s)
        sp, _ = distances(c, c, s)
        print(f"| {c.name} | {s.name} | {secs:.0f} | {so:.4f} | {sp:.4f} | {so / sp:.3f} | {co:.3f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
