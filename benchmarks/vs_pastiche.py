"""painterly against pastiche 1.6 (PyPI) on the same photo/painting pairs, side by side in one run.

Each tool runs as a fresh process (wall time = process start to PNG written); both outputs are scored by the shared
painterly.metrics.distances (original VGG19, mean relative Gram distance relu1_1..relu5_1, relative feature
distance at relu4_2).  Ratios are painterly / pastiche (time: lower is faster; distances: lower is better).

Usage:
  python benchmarks/vs_pastiche.py OUTDIR --size 256 --pastiche-steps 300 [--pairs C:S ...] [-- painterly flags]
  --reuse-pastiche   keep pastiche outputs already in OUTDIR (for exploring painterly settings; the recorded
                     numbers in RESULTS.md come from runs without it)
  --equal-time SHEET painterly first; pastiche then gets the same wall time (its picture is the last one it saved,
                     step by step, within painterly's time) and SHEET shows photo, painting, both pictures per pair
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import DATA, distances, split_extra  # noqa: E402

PAIRS = [
    f"{DATA}/content/jcj_tubingen.jpg:{DATA}/styles/munch_the_scream.jpg",
    f"{DATA}/content/coffee.png:{DATA}/styles/kandinsky_composition_vii.jpg",
    f"{DATA}/content/rocket.jpg:{DATA}/styles/picabia_udnie.jpg",
]


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def pastiche_within(c: Path, s: Path, size: int, max_steps: int, seconds: float, out: Path) -> tuple[int, float]:
    """Run pastiche saving every step; keep the last picture written within ``seconds`` of process start."""
    work = out.with_suffix(".steps")
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.time()
    proc = subprocess.Popen(
        [
            shutil.which("pastiche") or "pastiche",
            "--content",
            str(c),
            "--styles",
            str(s),
            "--output",
            str(work / "final.png"),
            "--size",
            str(size),
            "--num-steps",
            str(max_steps),
            "--device",
            "cpu",
            "--no-verbose",
            "--workspace",
            str(work),
            "--workspace-step",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while proc.poll() is None and time.time() - t0 < seconds + 3:
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    snaps = sorted((p.stat().st_mtime - t0, p) for p in work.glob("[0-9]*.png"))
    ok = [(t, p) for t, p in snaps if t <= seconds]
    if not ok:
        raise SystemExit(f"pastiche saved no step within {seconds:.1f} s")
    t, p = ok[-1]
    shutil.copy(p, out)
    shutil.rmtree(work, ignore_errors=True)
    return int(p.stem), t


def sheet(path: Path, rows: list[tuple[Path, Path, Path, str, Path, str]], height: int = 256) -> None:
    """One row per pair: photo, painting, painterly's picture, pastiche's picture, captioned."""
    from PIL import Image, ImageDraw

    tiles = []
    for c, s, a, a_cap, b, b_cap in rows:
        row = []
        for img, cap in ((c, "photo"), (s, "painting"), (a, a_cap), (b, b_cap)):
            im = Image.open(img).convert("RGB")
            im = im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)
            canvas = Image.new("RGB", (im.width, height + 22), "white")
            canvas.paste(im, (0, 22))
            ImageDraw.Draw(canvas).text((4, 4), cap, fill="black")
            row.append(canvas)
        tiles.append(row)
    width = max(sum(t.width for t in r) + 4 * (len(r) - 1) for r in tiles)
    out = Image.new("RGB", (width, len(tiles) * (height + 26)), "white")
    for i, r in enumerate(tiles):
        x = 0
        for t in r:
            out.paste(t, (x, i * (height + 26)))
            x += t.width + 4
    out.save(path, quality=88)


def main() -> None:
    argv = sys.argv[1:]
    argv, extra = split_extra(argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pastiche-steps", type=int, default=300)
    ap.add_argument("--pairs", nargs="+", default=PAIRS)
    ap.add_argument("--reuse-pastiche", action="store_true")
    ap.add_argument("--equal-time", type=Path, metavar="SHEET")
    args = ap.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    pastiche = shutil.which("pastiche") or "pastiche"
    print(f"size {args.size}; pastiche {args.pastiche_steps} steps; painterly flags: {' '.join(extra) or '(defaults)'}")
    print(
        "| pair | pastiche s | painterly s | time ratio | pastiche style | painterly style | style ratio "
        "| pastiche content | painterly content | content ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    pictures: list[tuple[Path, Path, Path, str, Path, str]] = []
    for pair in args.pairs:
        c, s = (Path(p) for p in pair.split(":"))
        name = f"{c.stem}__{s.stem}"
        o_out = args.outdir / f"{name}__painterly.png"
        ot = timed(
            [
                sys.executable,
                "-m",
                "painterly",
                "transfer",
                str(c),
                str(s),
                "-o",
                str(o_out),
                "-q",
                "--size",
                str(args.size),
                *extra,
            ]
        )
        p_out = args.outdir / f"{name}__pastiche{args.pastiche_steps}.png"
        p_rec = p_out.with_suffix(".json")
        label: Optional[str] = None
        if args.equal_time:
            steps, pt = pastiche_within(c, s, args.size, args.pastiche_steps, ot, p_out)
            label = f"pastiche, {steps} steps in {pt:.0f} s"
        elif args.reuse_pastiche and p_rec.is_file():
            pt = json.loads(p_rec.read_text())["seconds"]
        else:
            pt = timed(
                [
                    pastiche,
                    "--content",
                    str(c),
                    "--styles",
                    str(s),
                    "--output",
                    str(p_out),
                    "--size",
                    str(args.size),
                    "--num-steps",
                    str(args.pastiche_steps),
                    "--device",
                    "cpu",
                    "--no-verbose",
                ]
            )
            p_rec.write_text(json.dumps({"seconds": pt}))
        (ps, pc), (os_, oc) = distances(p_out, c, s), distances(o_out, c, s)
        rows.append((pt, ot, ps, os_, pc, oc))
        pictures.append((c, s, o_out, f"painterly, {ot:.0f} s", p_out, label or f"pastiche, {pt:.0f} s"))
        print(
            f"| {c.stem} + {s.stem}{' (' + label + ')' if label else ''} | {pt:.1f} | {ot:.1f} | {ot / pt:.3f} "
            f"| {ps:.4f} | {os_:.4f} | {os_ / ps:.2f} | {pc:.3f} | {oc:.3f} | {oc / pc:.2f} |",
            flush=True,
        )
    if args.equal_time:
        sheet(args.equal_time, pictures)
    if len(rows) > 1:
        n = len(rows)
        print(
            f"| mean | {sum(r[0] for r in rows) / n:.1f} | {sum(r[1] for r in rows) / n:.1f} "
            f"| {sum(r[1] / r[0] for r in rows) / n:.3f} | | | {sum(r[3] / r[2] for r in rows) / n:.2f} | | "
            f"| {sum(r[5] / r[4] for r in rows) / n:.2f} |"
        )


if __name__ == "__main__":
    main()
