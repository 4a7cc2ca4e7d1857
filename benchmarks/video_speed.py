"""Video throughput and flicker, side by side in one run.

Usage: python benchmarks/video_speed.py [--model NAME] [--frames 150] [--size 640x360] [--work DIR]
Makes a test clip (a photo of ../shared/data/content as a still scene with sensor noise, a square moving across it,
30 fps, AAC audio), then measures with the fastest shipped model (or --model):
  - the network alone, frames per second at that size (batch 1 and 4);
  - `stylize_video` end to end (decode, stylise, encode to H.264, audio copied) for several batch sizes;
  - the webcam loop (`run_webcam`, headless, the clip standing in for the camera);
  - flicker (metrics.flicker: mean absolute change of the output on static pixels) without and with --temporal.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from painterly.config import WebcamConfig
from painterly.feedforward.stylizer import Stylizer
from painterly.media.video import TemporalBlend, probe, read_frames, stylize_video
from painterly.media.webcam import run_webcam
from painterly.metrics import flicker
from painterly.shipped import describe_models

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_clip(path: Path, frames: int, w: int, h: int, fps: int = 30) -> Path:
    bg = np.asarray(Image.open(DATA / "content" / "jcj_tubingen.jpg").convert("RGB").resize((w, h)), np.float32)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = c.add_stream("aac", rate=44100)
        samples = 0
        for i in range(frames):
            img = bg + rng.normal(0, 4, bg.shape)
            x = i * (w - 60) // max(1, frames - 1)
            img[h // 3 : h // 3 + 50, x : x + 50] = [220, 40, 40]
            f = av.VideoFrame.from_ndarray(img.clip(0, 255).astype(np.uint8), format="rgb24")
            f.pts = i
            c.mux(v.encode(f))
            while samples < (i + 1) * 44100 / fps:
                t = (samples + np.arange(1024)) / 44100
                af = av.AudioFrame.from_ndarray(
                    (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], format="fltp", layout="mono"
                )
                af.sample_rate, af.pts = 44100, samples
                samples += 1024
                c.mux(a.encode(af))
        c.mux(v.encode(None))
        c.mux(a.encode(None))
    return path


def network_fps(model: Stylizer, frames: list[np.ndarray], batch: int, runs: int = 3) -> float:
    model.frames(frames[:batch])
    best = []
    for _ in range(runs):
        t = time.perf_counter()
        for i in range(0, len(frames) - batch + 1, batch):
            model.frames(frames[i : i + batch])
        best.append((len(frames) // batch * batch) / (time.perf_counter() - t))
    return max(best)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--work", type=Path, default=Path("/tmp/painterly-video-bench"))
    ap.add_argument("--temporal", type=float, default=0.7)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    a.work.mkdir(parents=True, exist_ok=True)
    models = describe_models()
    name = a.model or min(models, key=lambda m: m["cpu_ms_512"])["name"]
    clip = make_clip(a.work / "clip.mp4", a.frames, w, h)
    print(f"clip {w}x{h}, {a.frames} frames at 30 fps with audio; model {name}; {torch.get_num_threads()} threads")
    model = Stylizer(name, "cpu")
    frames = read_frames(clip)
    res: dict[str, float] = {}
    for b in (1, 4):
        res[f"network_fps_batch{b}"] = network_fps(model, frames[:48], b)
    for b in (1, 2, 4, 8):
        out = a.work / f"out_b{b}.mp4"
        r = stylize_video(clip, out, model.frames, batch=b)
        res[f"end_to_end_fps_batch{b}"] = r.frames / r.seconds
        assert r.frames == a.frames and probe(out).audio == 1
    for threads in (1, 2):
        r = stylize_video(clip, a.work / "out_t.mp4", model.frames, batch=4, codec_threads=threads)
        res[f"end_to_end_fps_batch4_codec_threads{threads}"] = r.frames / r.seconds
    for preset in ("ultrafast", "medium"):
        r = stylize_video(clip, a.work / "out_p.mp4", model.frames, batch=4, preset=preset)
        res[f"end_to_end_fps_batch4_{preset}"] = r.frames / r.seconds
    r = stylize_video(clip, a.work / "out_temporal.mp4", model.frames, batch=4, temporal=a.temporal)
    res["end_to_end_fps_batch4_temporal"] = r.frames / r.seconds
    for _ in range(1):
        s = run_webcam(WebcamConfig(models=(name,), camera=str(clip), size=max(w, h), headless=True))
        res["webcam_fps"] = s.fps
    plain = read_frames(a.work / "out_b4.mp4")
    smooth = read_frames(a.work / "out_temporal.mp4")
    res["flicker_plain"] = flicker(frames, plain)
    res["flicker_temporal"] = flicker(frames, smooth)
    # the same, on frames not re-encoded (H.264 smooths small changes): stylised directly
    direct = [y for i in range(0, len(frames), 4) for y in model.frames(frames[i : i + 4])]
    blend = TemporalBlend(a.temporal)
    res["flicker_plain_unencoded"] = flicker(frames, direct)
    res["flicker_temporal_unencoded"] = flicker(frames, [blend(f, y) for f, y in zip(frames, direct)])
    for k, v in res.items():
        print(f"  {k:<34} {v:8.2f}")
    print(
        f"  temporal / plain flicker: {res['flicker_temporal'] / res['flicker_plain']:.2f} (encoded), "
        f"{res['flicker_temporal_unencoded'] / res['flicker_plain_unencoded']:.2f} (unencoded); "
        f"temporal / plain speed: {res['end_to_end_fps_batch4_temporal'] / res['end_to_end_fps_batch4']:.2f}"
    )
    print(json.dumps({k: round(v, 2) for k, v in res.items()}))


if __name__ == "__main__":
    main()
