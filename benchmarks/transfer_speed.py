"""Seconds per optimisation step of `painterly transfer` (L-BFGS, VGG19 to relu5_1) at several sizes.

Usage: python benchmarks/transfer_speed.py [--sizes 256 512] [--steps 10]
Sizes run side by side in one process; the first 2 steps of each are warm-up and not counted.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from painterly.app.bench import seconds_per_step

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--content", default=str(ROOT / "examples/chelsea.jpg"))
    ap.add_argument("--style", default=str(ROOT / "examples/starry_night.jpg"))
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    rows = {}
    for size in a.sizes:
        rows[size] = seconds_per_step(a.content, a.style, size, a.steps, precision="fp32")
        print(f"{size} px (long side): {rows[size]:.3f} s/step")
    base = a.sizes[0]
    for size in a.sizes[1:]:
        print(f"ratio {size}/{base}: {rows[size] / rows[base]:.2f}x")
    print(json.dumps({str(k): round(v, 4) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
