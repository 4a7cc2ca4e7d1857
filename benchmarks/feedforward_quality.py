"""Quality of feed-forward architectures after the same training: train each on the same photos, painting, steps
and seed, stylise held-out photos, and score them with painterly.metrics.distances.

Usage: python benchmarks/feedforward_quality.py OUTDIR --archs johnson fast --steps 300 [--style PAINTING]
       [--size 512] [-- extra 'painterly train' flags]
Prints per architecture: training seconds, mean style and content distance over the photos, and ratios to the
first architecture.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import DATA, distances, split_extra  # noqa: E402


def main() -> None:
    argv = sys.argv[1:]
    argv, extra = split_extra(argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--archs", nargs="+", default=["johnson", "fast"])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--style", type=Path, default=DATA / "styles" / "vangogh_starry_night.jpg")
    ap.add_argument("--data", type=Path, default=DATA / "train_256")
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    photos = sorted((DATA / "content").glob("*"))
    rows = []
    for arch in args.archs:
        model = args.outdir / f"{arch}.pt"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "painterly",
                "train",
                str(args.style),
                "--data",
                str(args.data),
                "--arch",
                arch,
                "-o",
                str(model),
                "--steps",
                str(args.steps),
                "--quiet",
                *extra,
            ],
            check=True,
        )
        secs = time.perf_counter() - t
        styled = args.outdir / arch
        subprocess.run(
            [
                sys.executable,
                "-m",
                "painterly",
                "apply",
                str(model),
                str(DATA / "content"),
                "-o",
                str(styled),
                "--size",
                str(args.size),
                "-q",
            ],
            check=True,
        )
        scores = [distances(styled / f"{p.stem}.png", p, args.style) for p in photos]
        st = sum(s for s, _ in scores) / len(scores)
        co = sum(c for _, c in scores) / len(scores)
        rows.append((arch, secs, st, co))
        print(
            f"{arch}: trained {args.steps} steps in {secs:.0f} s; style {st:.4f} content {co:.3f} "
            f"over {len(photos)} photos at {args.size} px",
            flush=True,
        )
    base = rows[0]
    print(f"\n| architecture | train s | style | content | style vs {base[0]} | content vs {base[0]} |")
    print("|---|---|---|---|---|---|")
    for arch, secs, st, co in rows:
        print(f"| {arch} | {secs:.0f} | {st:.4f} | {co:.3f} | {st / base[2]:.2f} | {co / base[3]:.2f} |")


if __name__ == "__main__":
    main()
