"""Where a video's time goes besides the network, side by side in one run: end-to-end frames per second of
`stylize_video` over the network alone on the same frames in memory, for x264 presets and codec thread counts.

    python benchmarks/video_pipeline.py [--model NAME] [--variant realtime] [--frames 150] [--size 640x360]
                                        [--presets veryfast superfast ultrafast] [--threads 0 1]
                                        [--convert opencv swscale] [--repeat 2]

Also the size of each file written (a faster preset writes larger files at the same quality setting) and the
codec's own cost: the clip decoded alone, and encoded alone from frames in memory.  ``--convert``: how the painted
RGB frames become the encoder's yuv420p, painterly's own conversion (opencv) or FFmpeg's swscale (what it did
before).  Every combination runs ``--repeat`` times, interleaved, so a drift of the machine's speed shows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

import painterly.media.video as video
from painterly.feedforward.stylizer import Stylizer
from painterly.media.video import read_frames, stylize_video

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_paths import network_fps  # noqa: E402
from video_speed import make_clip  # noqa: E402


def decode_fps(clip: Path, threads: int) -> float:
    t = time.perf_counter()
    n = 0
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        s.codec_context.thread_count = threads
        for frame in c.decode(s):
            frame.to_ndarray(format="rgb24")
            n += 1
    return n / (time.perf_counter() - t)


def encode_fps(frames: list[np.ndarray], out: Path, preset: str, threads: int) -> float:
    h, w = frames[0].shape[:2]
    t = time.perf_counter()
    with av.open(str(out), "w") as c:
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": "18", "preset": preset}
        if threads:
            v.codec_context.thread_count = threads
        for f in frames:
            c.mux(v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(v.encode(None))
    return len(frames) / (time.perf_counter() - t)


def swscale_yuv420(rgb: np.ndarray) -> np.ndarray:
    """FFmpeg's swscale conversion, for the comparison."""
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="starry-night")
    ap.add_argument("--variant", default="realtime")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--presets", nargs="+", default=["veryfast", "superfast", "ultrafast"])
    ap.add_argument("--threads", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--convert", nargs="+", default=["opencv"], choices=["opencv", "swscale"])
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="painterly-video-"))
    clip = make_clip(work / "clip.mp4", a.frames, w, h)
    frames = read_frames(clip)
    model = Stylizer(a.model, "cpu", variant=a.variant)
    painted = [y for f in frames for y in model.frames([f])]  # what the encoder gets, frame by frame
    net = network_fps(model, frames[:60])
    print(json.dumps({"network_fps": round(net, 1)}), flush=True)
    for threads in a.threads:
        print(json.dumps({"codec_threads": threads, "decode_alone_fps": round(decode_fps(clip, threads), 1)}))
    ours = video.rgb_to_yuv420
    for _ in range(a.repeat):
        for preset in a.presets:
            for threads in a.threads:
                for convert in a.convert:
                    video.rgb_to_yuv420 = ours if convert == "opencv" else swscale_yuv420
                    enc = encode_fps(painted, work / "enc.mp4", preset, threads)
                    out = work / f"out_{preset}_{threads}_{convert}.mp4"
                    net = network_fps(model, frames[:60], runs=2)  # just before: the machine's speed drifts
                    r = stylize_video(clip, out, model.frames, preset=preset, codec_threads=threads)
                    fps = r.frames / r.seconds
                    row = {
                        "preset": preset,
                        "codec_threads": threads,
                        "convert": convert,
                        "encode_alone_fps": round(enc, 1),
                        "network_fps": round(net, 1),
                        "end_to_end_fps": round(fps, 1),
                        "over_network": round(fps / net, 3),
                        "file_kb": out.stat().st_size // 1024,
                    }
                    print(json.dumps(row), flush=True)
    video.rgb_to_yuv420 = ours
    return 0


if __name__ == "__main__":
    sys.exit(main())
