"""AdaIN speed: `painterly bench adain` (in-process milliseconds per 512x512 photo and painting, by part) and the
wall time of whole `painterly adain` calls at 512 px from process start to PNG, beside the floor every call pays
(starting Python and importing torch) and the shipped `fast` model's call, measured side by side in one run.

Usage: python benchmarks/adain_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import DATA


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    photo, painting = DATA / "content" / "jcj_tubingen.jpg", DATA / "styles" / "munch_the_scream.jpg"
    bench = subprocess.run(
        [sys.executable, "-m", "painterly", "bench", "adain", "--size", "512", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(bench.strip())
    res = json.loads(bench.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "o.png"
        py = [sys.executable, "-m", "painterly"]
        rows = {
            "python + import torch": wall([sys.executable, "-c", "import torch"], a.runs),
            "painterly adain 512 px": wall(py + ["adain", str(photo), str(painting), "-o", str(out), "-q"], a.runs),
            "painterly apply fast model 512 px": wall(
                py + ["apply", "the-scream", str(photo), "-o", str(out), "--size", "512", "-q"], a.runs
            ),
        }
    print(f"\nwhole calls, median of {a.runs} (seconds):")
    for k, v in rows.items():
        print(f"  {k:<36} {v:6.2f}")
    print(
        json.dumps(
            {
                "ms": res["ms"],
                "ms_style_cached": res["ms_style_cached"],
                "cli_seconds": {k: round(v, 2) for k, v in rows.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
