"""Each real-time path against its own limit, side by side in one run: frames (or images) per second end to end
divided by the network alone at the same size and batch (the pipeline's efficiency; 1.0 = the network is all
the time there is), for a video file, the webcam loop and `painterly apply` on a folder.  Also the start-up of a
whole `painterly apply` / `painterly adain` call split into Python + torch's import, the rest of the start-up, and
the work.

    python benchmarks/realtime_paths.py [--model NAME] [--variant realtime] [--frames 150] [--size 640x360]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from painterly.config import WebcamConfig
from painterly.feedforward.stylizer import Stylizer
from painterly.images import save_image
from painterly.media.folder import paint_folder
from painterly.media.video import read_frames, stylize_video
from painterly.media.webcam import run_webcam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video_speed import make_clip  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def network_fps(model: Stylizer, frames: list[np.ndarray], batch: int = 1, runs: int = 3) -> float:
    """The network alone, on frames already in memory (uint8 in, uint8 out, as the pipelines call it)."""
    model.frames(frames[:batch])
    best = 0.0
    for _ in range(runs):
        t = time.perf_counter()
        for i in range(0, len(frames) - batch + 1, batch):
            model.frames(frames[i : i + batch])
        best = max(best, (len(frames) // batch * batch) / (time.perf_counter() - t))
    return best


def seconds(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="starry-night")
    ap.add_argument("--variant", default="realtime")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="640x360")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="painterly-paths-"))
    clip = make_clip(work / "clip.mp4", a.frames, w, h)
    frames = read_frames(clip)
    model = Stylizer(a.model, "cpu", variant=a.variant)
    res: dict[str, float] = {"network_fps": network_fps(model, frames[:60])}
    r = stylize_video(clip, work / "out.mp4", model.frames)
    res["video_fps"] = r.frames / r.seconds
    s = run_webcam(WebcamConfig(models=(a.model,), camera=str(clip), size=max(w, h), headless=True, variant=a.variant))
    res["webcam_fps"] = s.fps
    folder = work / "photos"
    folder.mkdir()
    for i, f in enumerate(frames[:30]):
        Image.fromarray(f).save(folder / f"{i:03d}.jpg", quality=92)
    files = sorted(folder.iterdir())
    t = time.perf_counter()
    for f in files:  # one after the other: read, paint, write a PNG
        save_image(model(f), work / f"{f.stem}.png")
    res["folder_sequential_images_per_s"] = len(files) / (time.perf_counter() - t)
    t = time.perf_counter()
    for f in files:  # the same with Pillow's PNG encoder (what painterly wrote with before its own)
        model(f).save(work / f"{f.stem}.pillow.png")
    res["folder_sequential_pillow_png_images_per_s"] = len(files) / (time.perf_counter() - t)
    r = paint_folder(model, folder, work / "painted-lib")  # what `painterly apply MODEL FOLDER` runs
    res["folder_images_per_s"] = len(r.written) / r.seconds
    r = paint_folder(model, folder, work / "painted-jpg", suffix=".jpg")  # --folder-format jpg
    res["folder_jpg_images_per_s"] = len(r.written) / r.seconds
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "painterly",
            "apply",
            a.model,
            str(folder),
            "-o",
            str(work / "painted"),
            "--variant",
            a.variant,
            "-q",
        ],
        check=True,
    )
    res["folder_images_per_s_with_startup"] = len(files) / (time.perf_counter() - t)
    for k in ("video", "webcam"):
        res[f"{k}_efficiency"] = res[f"{k}_fps"] / res["network_fps"]
    res["folder_efficiency"] = res["folder_images_per_s"] / res["network_fps"]
    res["folder_jpg_efficiency"] = res["folder_jpg_images_per_s"] / res["network_fps"]
    # start-up: Python and torch alone, then whole calls on one 512 px picture
    photo = DATA / "content" / "jcj_tubingen.jpg"
    res["python_torch_import_s"] = seconds([sys.executable, "-c", "import torch"])
    res["apply_512_s"] = seconds(
        [
            sys.executable,
            "-m",
            "painterly",
            "apply",
            a.model,
            str(photo),
            "-o",
            str(work / "a.png"),
            "--size",
            "512",
            "-q",
        ]
    )
    res["adain_512_s"] = seconds(
        [
            sys.executable,
            "-m",
            "painterly",
            "adain",
            str(photo),
            "starry-night",
            "-o",
            str(work / "b.png"),
            "--size",
            "512",
            "-q",
        ]
    )
    print(f"{torch.get_num_threads()} threads, {w}x{h}, model {a.model} ({a.variant})")
    for k, v in res.items():
        print(f"  {k:<40} {v:8.3f}")
    print(json.dumps({k: round(v, 3) for k, v in res.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
