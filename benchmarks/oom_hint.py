"""How good is the size painterly names when a picture does not fit in memory?

For each command and address-space cap (``ulimit -v``, so the allocator really fails): run at a size that cannot
fit, read the ``try --size N (should fit)`` of the one-line error (from the check before painting, or after the
allocator failed), run at N (it must succeed), then bisect the largest size that does fit under the same cap
(painterly's own check switched off, so the allocator decides).  Prints suggested / largest: 1.0 would be
perfect, above 1.0 a suggestion that fails, below it the margin left.

    python benchmarks/oom_hint.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO, PAINTING = ROOT / "examples" / "chelsea.jpg", ROOT / "examples" / "starry_night.jpg"


#: painterly with its check before painting switched off: what really fits, as the allocator decides
UNCHECKED = (
    "import sys, painterly.memory as m; m.check_room = lambda *x, **k: None; "
    "from painterly.app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run(argv: list[str], cap_gb: float, size: int, out: Path, check: bool = True) -> tuple[bool, str, float]:
    cap = int(cap_gb * 2**30)
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "painterly"] if check else [sys.executable, "-c", UNCHECKED]
    r = subprocess.run(
        [*cmd, *argv, "-o", str(out), "--size", str(size), "-q"],
        capture_output=True,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)),
    )
    return r.returncode == 0, r.stderr.strip(), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="apply only, one cap")
    args = ap.parse_args()
    cases = [
        ("apply starry-night", ["apply", "starry-night", str(PHOTO)], 2.5, 8000),
        ("apply starry-night", ["apply", "starry-night", str(PHOTO)], 4.0, 12000),
    ]
    if not args.quick:
        cases.append(("adain", ["adain", str(PHOTO), str(PAINTING)], 3.0, 4000))
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(
        f"{'command':<20} {'cap':>6} {'asked':>6} {'suggested':>9} {'fits?':>6} {'largest':>8} {'ratio':>6}  hint time"
    )
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "o.png"
        for name, argv, cap, too_big in cases:
            ok, err, secs = run(argv, cap, too_big, out)
            m = re.search(r"try --size (\d+) \(should fit\)", err)
            if ok or not m:
                print(f"{name:<20} {cap:>5}G {too_big:>6}  no hint: {err[-160:]}")
                continue
            hint = int(m.group(1))
            path = "up front" if "needs more memory" in err else "after failure"
            fits, _, _ = run(argv, cap, hint, out)
            lo, hi = (hint, too_big) if fits else (64, hint)  # bisect the largest side that fits, to ~1 %
            while hi - lo > max(16, lo // 100):  # with the check off: the largest the allocator allows
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if run(argv, cap, mid, out, check=False)[0] else (lo, mid)
            print(
                f"{name:<20} {cap:>5}G {too_big:>6} {hint:>9} {'yes' if fits else 'NO':>6} {lo:>8} "
                f"{hint / lo:>6.2f}  {secs:.1f} s ({path})"
            )


if __name__ == "__main__":
    main()
