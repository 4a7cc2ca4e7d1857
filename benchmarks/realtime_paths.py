"""Each real-time path against its own limit, side by side in one run: frames (or images) per second end to end
divided by the network alone at the same size and batch, timed on the same frames just before and just after the
path (the pipeline's efficiency; 1.0 = the network is all the time there is), for a video file, the webcam loop
and `painterly apply` on a folder.  Also the start-up of a
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
from collections.abc import Callable
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
    """The network alone, on frames already in memory (uint8 in, uint8 out, as the pipelines call it): the best
    of ``runs`` passes."""
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
    res: dict[str, float] = {}

    def beside_network(key: str, path: Callable[[], float], frames_: list[np.ndarray]) -> None:
        """The path's rate, and the network's alone on the same frames just before and just after it (the
        machine's speed drifts within a run: each path is compared with the network of its own moment)."""
        before = network_fps(model, frames_, runs=1)
        rate = path()
        after = network_fps(model, frames_, runs=1)
        res[f"{key}_per_s"], res[f"{key}_network_per_s"] = rate, (before + after) / 2
        res[f"{key}_efficiency"] = rate / res[f"{key}_network_per_s"]

    def video() -> float:
        r = stylize_video(clip, work / "out.mp4", model.frames)
        return r.frames / r.seconds

    def webcam() -> float:
        cfg = WebcamConfig(models=(a.model,), camera=str(clip), size=max(w, h), headless=True, variant=a.variant)
        return run_webcam(cfg).fps

    model.frames(frames[:1])  # warm
    beside_network("video", video, frames)
    beside_network("webcam", webcam, frames)
    folder = work / "photos"
    folder.mkdir()
    for i, f in enumerate(frames[:30]):
        Image.fromarray(f).save(folder / f"{i:03d}.jpg", quality=92)
    files = sorted(folder.iterdir())
    pictures = [np.asarray(Image.open(f).convert("RGB")) for f in files]

    def sequential(write: Callable[[Image.Image, Path], None]) -> Callable[[], float]:
        def go() -> float:
            t = time.perf_counter()
            for f in files:  # one after the other: read, paint, write a PNG
                write(model(f), work / f"{f.stem}.png")
            return len(files) / (time.perf_counter() - t)

        return go

    beside_network("folder_sequential", sequential(save_image), pictures)
    beside_network("folder_sequential_pillow_png", sequential(lambda img, p: img.save(p)), pictures)

    def folder_of(suffix: str) -> Callable[[], float]:
        def go() -> float:
            r = paint_folder(model, folder, work / f"painted{suffix}", suffix=suffix)  # `painterly apply MODEL DIR`
            return len(r.written) / r.seconds

        return go

    beside_network("folder", folder_of(".png"), pictures)
    beside_network("folder_jpg", folder_of(".jpg"), pictures)  # --folder-format jpg
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "painterly", "apply", a.model, str(folder), "-o", str(work / "painted"), "-q"],
        check=True,
    )
    res["folder_images_per_s_with_startup"] = len(files) / (time.perf_counter() - t)
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
