"""Quality against time for coarse-to-fine schedules: how painterly's default schedule was chosen.

Every schedule runs in this one process on the same pairs (the machine should be otherwise idle); the picture is
scored with painterly.metrics.distances (original VGG19, relu1_1..relu5_1 and relu4_2, relative).  Seconds are the
optimisation's own time (network already loaded), averaged over the pairs.

Usage: python benchmarks/schedules.py --size 256 "300" "128:100,256:50" ... [--precision bf16] [--pairs C:S ...]
A schedule "N" is N steps at --size alone; otherwise it is passed as --scales (the last entry is --size).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from painterly import StyleTransfer, TransferConfig  # noqa: E402
from painterly.metrics import distances  # noqa: E402
from vs_pastiche import PAIRS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("schedules", nargs="+")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--tolerance", type=float, default=0.0)
    ap.add_argument("--pairs", nargs="+", default=PAIRS)
    args = ap.parse_args()
    print(f"size {args.size}, precision {args.precision}, tolerance {args.tolerance}, {len(args.pairs)} pairs")
    print("| schedule | seconds | steps | style | content |")
    print("|---|---|---|---|---|")
    for sched in args.schedules:
        if ":" in sched:
            cfg = TransferConfig(size=args.size, scales=sched, precision=args.precision, tolerance=args.tolerance)
        else:
            cfg = TransferConfig(
                size=args.size, scales="", iterations=int(sched), precision=args.precision, tolerance=args.tolerance
            )
        st = StyleTransfer(cfg)
        secs = steps = style = content = 0.0
        for pair in args.pairs:
            c, s = pair.split(":")
            r = st.run(c, s)
            d = distances(r.image, c, s)
            secs, steps = secs + r.seconds, steps + r.steps
            style, content = style + d["style"], content + d["content"]
        n = len(args.pairs)
        print(f"| {sched} | {secs / n:.1f} | {steps / n:.0f} | {style / n:.4f} | {content / n:.3f} |", flush=True)


if __name__ == "__main__":
    main()
