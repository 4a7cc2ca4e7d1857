"""AdaIN's two encoders side by side in one run: VGG19 and the distilled vgg19-quarter (Wang et al. 2020,
"Collaborative Distillation for Ultra-Resolution Universal Style Transfer").

1. Speed: `painterly bench adain --encoder E` (ms per 512x512 photo with a new painting, and with its statistics
   known), the two encoders alternating, twice.
2. Quality: every photo x painting (held-out photos of ../shared/data/content, the bundled paintings, none of
   them seen in training) painted at 512 px at the default alpha by each encoder and scored with Wang et al.
   2021's CF, GE and LP (painterly.metrics.evaluate); the pictures and one sheet per encoder go to --work.
3. Memory: the peak resident memory of a whole `painterly adain` call on a photo of 2048 and 4096 px, each in its
   own process (/usr/bin/time).

Usage: python benchmarks/adain_encoders.py [--photos chelsea.png ...] [--work runs/adain_encoders]
       [--quarter-decoder D.pt] [--skip-quality] [--skip-memory] [--sizes 2048 4096]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from _shared import DATA, ROOT
from painterly.adain.model import AdaIN
from painterly.app.bench import bench_adain
from painterly.config import AdainConfig
from painterly.images import load_image, resize_long_side, save_image
from painterly.metrics import evaluate

ENCODERS = ("vgg19", "vgg19-quarter")
PHOTOS = ("chelsea.png", "jcj_tubingen.jpg", "adain_chicago.jpg")
KEYS = ("style", "content", "cf", "ge", "lp", "lp2")


def speed(decoders: dict[str, str | None]) -> dict[str, list[float]]:
    """ms per 512x512 photo, new painting and known painting, the encoders alternating twice."""
    got: dict[str, list[float]] = {e: [] for e in ENCODERS}
    for _ in range(2):
        for e in ENCODERS:
            r = bench_adain(512, encoder=e, decoder=decoders[e])
            got[e] += [r["ms"], r["ms_style_cached"]]
            print(f"  {e}: {r['ms']:.0f} ms with a new painting, {r['ms_style_cached']:.0f} ms known", flush=True)
    return got


def quality(decoders: dict[str, str | None], photos: list[Path], work: Path) -> dict[str, dict[str, float]]:
    """Wang et al.'s criteria over every photo x painting for each encoder, and a sheet per encoder."""
    paintings = sorted((DATA / "styles").iterdir())
    alpha = AdainConfig().alpha
    means = {}
    for e in ENCODERS:
        model = AdaIN(decoders[e], "cpu", encoder=e)
        (work / e).mkdir(parents=True, exist_ok=True)
        rows, tiles = [], []
        for p in photos:
            photo = resize_long_side(load_image(p), 512)
            for s in paintings:
                out = model(photo, s, size=None, alpha=alpha, style_size=512)
                save_image(out, work / e / f"{p.stem}_{s.stem}.png")
                rows.append(evaluate(out, photo, s))
                tiles.append(out.resize((256, round(256 * out.height / out.width)), Image.Resampling.LANCZOS))
                print(f"  {e} {p.stem} {s.stem}: " + " ".join(f"{k} {rows[-1][k]:.3f}" for k in KEYS), flush=True)
        h = max(t.height for t in tiles)
        sheet = Image.new("RGB", (256 * len(paintings), h * len(photos)), "white")
        for i, t in enumerate(tiles):
            sheet.paste(t, ((i % len(paintings)) * 256, (i // len(paintings)) * h))
        save_image(sheet, work / f"sheet_{e}.jpg")
        means[e] = {k: statistics.mean(r[k] for r in rows) for k in KEYS}
    return means


def memory(decoders: dict[str, str | None], sizes: list[int]) -> dict[str, dict[int, tuple[float, float]]]:
    """(peak GB, seconds) of a whole `painterly adain` call at each size, each in its own process."""
    got: dict[str, dict[int, tuple[float, float]]] = {e: {} for e in ENCODERS}
    photo = load_image(DATA / "content" / "jcj_tubingen.jpg")
    painting = DATA / "styles" / "vangogh_starry_night.jpg"
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            big = Path(d) / f"photo_{n}.png"
            photo.resize((n, round(n * photo.height / photo.width)), Image.Resampling.LANCZOS).save(big)
            for e in ENCODERS:
                cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "painterly", "adain", str(big), str(painting)]
                cmd += ["-o", str(Path(d) / "out.png"), "-q", "--encoder", e, "--size", str(n)]
                cmd += ["--decoder", decoders[e]] if decoders[e] else []
                t = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True)
                seconds = time.perf_counter() - t
                if r.returncode:
                    raise SystemExit(f"painterly adain --encoder {e} at {n} px failed: {r.stderr.strip()[-300:]}")
                kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
                got[e][n] = (kb / 1024**2, seconds)
                print(f"  {e} at {n} px: peak {kb / 1024**2:.2f} GB, {seconds:.1f} s", flush=True)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", nargs="+", default=list(PHOTOS), help="photos of ../shared/data/content ('all')")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "adain_encoders")
    ap.add_argument("--quarter-decoder", default=None, help="the distilled checkpoint (default: the shipped one)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    a = ap.parse_args()
    decoders = {"vgg19": None, "vgg19-quarter": a.quarter_decoder}
    photos = sorted((DATA / "content").iterdir()) if a.photos == ["all"] else [DATA / "content" / p for p in a.photos]
    report: dict = {}
    print("speed (ms per 512x512 photo):", flush=True)
    ms = speed(decoders)
    new = {e: statistics.median(v[0::2]) for e, v in ms.items()}
    known = {e: statistics.median(v[1::2]) for e, v in ms.items()}
    report["ms_new_painting"], report["ms_painting_known"] = new, known
    print(
        f"  ratio vgg19 / vgg19-quarter: {new['vgg19'] / new['vgg19-quarter']:.2f}x with a new painting, "
        f"{known['vgg19'] / known['vgg19-quarter']:.2f}x with it known",
        flush=True,
    )
    if not a.skip_quality:
        print(f"quality ({len(photos)} photos x 8 paintings at 512 px):", flush=True)
        q = quality(decoders, photos, a.work)
        report["quality"] = q
        for k in KEYS:
            print(
                f"  {k:<8} vgg19 {q['vgg19'][k]:.3f}  vgg19-quarter {q['vgg19-quarter'][k]:.3f}  "
                f"({100 * (q['vgg19-quarter'][k] / q['vgg19'][k] - 1):+.1f} %)"
            )
    if not a.skip_memory:
        print("memory (whole `painterly adain` calls):", flush=True)
        report["memory_gb_seconds"] = memory(decoders, a.sizes)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
