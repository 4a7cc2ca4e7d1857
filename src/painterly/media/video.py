"""Stylising video files (PyAV, FFmpeg's libraries) and temporal smoothing with optical flow.

:func:`stylize_video` runs three stages at once: a reader thread demuxes and decodes (scaling in FFmpeg's swscale),
the calling thread stylises frames in batches, a writer thread encodes (H.264) and muxes.  Frame count, timestamps
(so the frame rate, constant or variable), resolution (unless resized), rotation metadata and audio (packets copied,
not re-encoded) are kept.  The output is written to a temporary file and renamed at the end; on Ctrl-C the frames
done so far are finalised into a playable file first.

:class:`TemporalBlend` is the optical-flow smoothing of Ruder, Dosovitskiy & Brox (2016), "Artistic style transfer
for videos", applied to feed-forward outputs: the previous output, warped to the current frame by DIS flow
(Kroeger et al. 2016, OpenCV), is blended in where the forward-backward flow check says the pixel was visible
(their occlusion criterion) and the brightness agrees.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..config import ApplyConfig
from ..errors import Interrupted, PainterlyError, Saved
from ..images import atomic_write
from ..progress import Progress

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".ogv")
#: the containers painterly writes (tested): FFmpeg's muxer, and the video codec where not H.264
_FORMATS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
    ".ts": "mpegts",
}
OUTPUT_SUFFIXES = tuple(_FORMATS)
_ENCODERS = {".webm": ("libvpx", "yuv420p"), ".avi": ("mpeg4", "yuv420p")}
_DEFAULT_ENCODER = ("libx264", "yuv420p")

#: a function from a batch of RGB uint8 frames (H, W, 3) to as many painted frames of the same size
FrameFn = Callable[[list[np.ndarray]], list[np.ndarray]]


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _av():
    try:
        import av
    except ImportError:
        raise PainterlyError("video needs PyAV: pip install av") from None
    return av


@dataclass
class VideoInfo:
    width: int
    height: int
    frames: int  # from the container; 0 when it does not say
    fps: float
    rotation: int
    audio: int  # number of audio streams
    duration: float


def probe(path: str | os.PathLike) -> VideoInfo:
    """What a video holds; a one-line error for missing, unreadable or video-less files."""
    av = _av()
    p = Path(path)
    if not p.is_file():
        raise PainterlyError(f"video '{p}' not found")
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise PainterlyError(f"'{p}' has no video stream")
            s = c.streams.video[0]
            rotation = 0
            for frame in c.decode(s):
                rotation = int(frame.rotation or 0)
                break
            else:
                raise PainterlyError(f"video '{p}' has no decodable frame")
            return VideoInfo(
                s.codec_context.width,
                s.codec_context.height,
                int(s.frames or 0),
                float(s.average_rate or s.guessed_rate or 0),
                rotation,
                len(c.streams.audio),
                float(c.duration / 1e6) if c.duration else 0.0,
            )
    except av.error.FFmpegError as e:
        raise PainterlyError(f"video '{p}' cannot be read ({type(e).__name__}: {e.strerror or e})") from None


def read_frames(path: str | os.PathLike, size: Optional[int] = None, limit: int = 0) -> list[np.ndarray]:
    """The frames of a video as RGB uint8 arrays (at the size :func:`stylize_video` writes)."""
    av = _av()
    info = probe(path)
    width, height = output_size(info.width, info.height, size)
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            if limit and len(out) >= limit:
                break
    return out


def _even(n: int) -> int:
    return max(2, n - n % 2)


def output_size(width: int, height: int, size: Optional[int]) -> tuple[int, int]:
    """The frame size written: the input's, or long side ``size`` (then even, for 4:2:0 video)."""
    if not size:
        return width, height
    s = size / max(width, height)
    return _even(round(width * s)), _even(round(height * s))


@dataclass
class VideoProgress(Progress):
    """After each batch of frames: ``step`` frames painted of ``total`` (0 when the file does not say);
    ``rate`` is the frames per second."""


@dataclass
class VideoResult:
    path: Path
    frames: int
    seconds: float


class TemporalBlend:
    """Blend each stylised frame with the previous output warped along the optical flow (Ruder et al. 2016), where
    the flow is trusted.  ``weight`` in [0, 1): the share of the warped previous output (0 = off)."""

    def __init__(self, weight: float) -> None:
        import cv2

        if not 0.0 <= weight < 1.0:
            raise PainterlyError(f"--temporal must be in [0, 1), got {weight}")
        self.cv2, self.weight = cv2, weight
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)  # type: ignore[attr-defined]
        self.prev_gray: Optional[np.ndarray] = None
        self.prev_out: Optional[np.ndarray] = None

    def __call__(self, frame: np.ndarray, styled: np.ndarray) -> np.ndarray:
        cv2 = self.cv2
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if self.prev_gray is None or self.weight == 0 or self.prev_gray.shape != gray.shape:
            self.prev_gray, self.prev_out = gray, styled
            return styled
        back = self.flow.calc(gray, self.prev_gray, None)  # current -> previous frame
        fwd = self.flow.calc(self.prev_gray, gray, None)  # previous -> current
        h, w = gray.shape
        grid = np.indices((h, w), dtype=np.float32)[::-1].transpose(1, 2, 0)
        where = grid + back
        warped = cv2.remap(self.prev_out, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fwd_at = cv2.remap(fwd, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        prev_at = cv2.remap(self.prev_gray, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Ruder et al.'s disocclusion test: forward and backward flow must cancel
        err = ((back + fwd_at) ** 2).sum(-1)
        trusted = err <= 0.01 * ((back**2).sum(-1) + (fwd_at**2).sum(-1)) + 0.5
        trusted &= np.abs(gray.astype(np.int16) - prev_at.astype(np.int16)) < 24  # lighting changed: restyle
        trusted &= (where[..., 0] >= 0) & (where[..., 0] <= w - 1) & (where[..., 1] >= 0) & (where[..., 1] <= h - 1)
        mask = cv2.GaussianBlur(trusted.astype(np.float32), (5, 5), 0)[..., None] * self.weight
        out = (warped * mask + styled * (1.0 - mask) + 0.5).astype(np.uint8)
        self.prev_gray, self.prev_out = gray, out
        return out


#: RGB (0-255) -> limited-range BT.601 chroma, as FFmpeg's swscale converts for H.264 (rows: U, V; last column:
#: the offset)
_CHROMA = np.array([[-37.797, -74.203, 112.0, 128.0 * 256], [112.0, -93.786, -18.214, 128.0 * 256]]) / 256


def rgb_to_yuv420(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 frame (H, W, 3), H a multiple of 4 and W even -> its yuv420p planes stacked (H * 3 / 2, W) as
    PyAV reads them, and as swscale makes them (limited-range BT.601, chroma the mean of each 2x2 block) in a tenth
    of its time: OpenCV's luma and an area-averaged half-size picture's chroma."""
    import cv2

    h, w = rgb.shape[:2]
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)[:h]
    half = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    uv = cv2.transform(half, _CHROMA)  # (H/2, W/2, 2), rounded and saturated to uint8
    return np.concatenate([y, uv[..., 0].reshape(h // 4, w), uv[..., 1].reshape(h // 4, w)])


_END = object()


def _reader(
    path: str,
    width: int,
    height: int,
    out_q: queue.Queue[Any],
    stop: threading.Event,
    errors: list[BaseException],
    threads: int = 0,
) -> None:
    av = _av()
    try:
        with av.open(path) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            vs.codec_context.thread_count = threads
            streams = [vs, *c.streams.audio]
            audio_index = {a.index: i for i, a in enumerate(c.streams.audio)}
            for packet in c.demux(streams):
                if stop.is_set():
                    break
                if packet.stream.type == "audio":
                    if packet.size and packet.dts is not None:
                        out_q.put(("audio", packet, audio_index[packet.stream.index]))
                    continue
                for frame in packet.decode():
                    rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                    out_q.put(("video", rgb, frame.pts, frame.time_base))  # the last (empty) packet flushes
    except BaseException as e:  # noqa: BLE001 - handed to the main thread
        errors.append(e)
    finally:
        out_q.put(_END)


def stylize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    process: FrameFn,
    *,
    size: Optional[int] = None,
    batch: int = 1,
    temporal: float = 0.0,
    crf: int = ApplyConfig.crf,
    preset: str = ApplyConfig.preset,
    codec_threads: int = 0,
    callback: Optional[Callable[[VideoProgress], None]] = None,
) -> VideoResult:
    """Stylise every frame of ``src`` with ``process`` (a batch of RGB uint8 frames -> as many stylised ones of
    the same size) into ``dst``.  ``codec_threads``: threads of the decoder and of the encoder each (0: FFmpeg's
    choice).  Ctrl-C finalises the frames done so far into ``dst`` and raises :class:`painterly.errors.Interrupted`
    (``saved.result``: the :class:`VideoResult`)."""
    av = _av()
    info = probe(src)
    src, dst = Path(src), Path(dst)
    width, height = output_size(info.width, info.height, size)
    codec, pix_fmt = _ENCODERS.get(dst.suffix.lower(), _DEFAULT_ENCODER)
    if width % 2 or height % 2:  # 4:2:0 needs even sizes: H.264 keeps odd ones in 4:4:4, others lose a pixel
        if codec == "libx264":
            pix_fmt = "yuv444p"
        else:
            width, height = _even(width), _even(height)
    blend = TemporalBlend(temporal) if temporal else None
    t0 = time.perf_counter()
    state = {"interrupted": False}
    errors: list[BaseException] = []
    written = [0]

    def write(tmp: str) -> None:
        stop = threading.Event()
        in_q: queue.Queue[Any] = queue.Queue(maxsize=4 * batch + 64)
        out_q: queue.Queue[Any] = queue.Queue(maxsize=4 * batch + 64)
        with av.open(str(src)) as inp:
            container = av.open(tmp, "w", format=_FORMATS[dst.suffix.lower()])
            try:
                ivs = inp.streams.video[0]
                rate = ivs.average_rate or ivs.guessed_rate or Fraction(30)
                vstream = container.add_stream(codec, rate=rate)
                vstream.width, vstream.height, vstream.pix_fmt = width, height, pix_fmt
                vstream.time_base = ivs.time_base
                vstream.codec_context.time_base = ivs.time_base
                if codec == "libx264":
                    vstream.options = {"crf": str(crf), "preset": preset}
                if codec_threads:
                    vstream.codec_context.thread_count = codec_threads
                if info.rotation:
                    vstream.set_display_rotation(info.rotation)
                astreams = {}  # the n-th audio stream in -> its copy out
                for n, a in enumerate(inp.streams.audio):
                    try:
                        astreams[n] = container.add_stream_from_template(a)
                    except (ValueError, av.error.FFmpegError) as e:
                        raise PainterlyError(
                            f"the audio of '{src}' ({a.codec_context.name}) cannot be copied into "
                            f"a {dst.suffix} file ({e}); try .mkv"
                        ) from None
                reader = threading.Thread(
                    target=_reader, daemon=True, args=(str(src), width, height, in_q, stop, errors, codec_threads)
                )
                writer = threading.Thread(
                    target=_writer, args=(container, vstream, astreams, out_q, errors, written), daemon=True
                )
                reader.start()
                writer.start()
                try:
                    _stylize_loop(in_q, out_q, process, batch, blend, errors, info.frames, t0, callback)
                except KeyboardInterrupt:
                    state["interrupted"] = True
                    stop.set()
                    _drain(in_q)
                finally:
                    out_q.put(_END)
                    writer.join()
                    stop.set()
                    _drain(in_q)
                    reader.join(timeout=10)
            finally:
                container.close()
        if errors:
            err = errors[0]
            if isinstance(err, PainterlyError):
                raise err
            if isinstance(err, av.error.FFmpegError):
                raise PainterlyError(
                    f"video '{src}' could not be processed after {written[0]} frames "
                    f"({type(err).__name__}: {err.strerror or err})"
                )
            raise err
        if written[0] == 0:
            if state["interrupted"]:
                raise KeyboardInterrupt  # before the first frame: nothing to keep
            raise PainterlyError(f"no frame of '{src}' was stylised")

    atomic_write(dst, write)  # on Ctrl-C ``write`` returns normally with the frames so far
    result = VideoResult(dst, written[0], time.perf_counter() - t0)
    if state["interrupted"]:
        raise Interrupted(Saved(f"{result.frames} frames", dst, result, result.frames))
    return result


def _drain(q: queue.Queue[Any]) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


def _writer(
    container: Any,
    vstream: Any,
    astreams: dict[int, Any],
    in_q: queue.Queue[Any],
    errors: list[BaseException],
    written: list[int],
) -> None:
    """Encode stylised frames and mux them with the audio packets (mapped to the copied output streams)."""
    av = _av()
    try:
        while True:
            item = in_q.get()
            if item is _END:
                break
            if item[0] == "audio":
                packet = item[1]
                packet.stream = astreams[item[2]]
                container.mux(packet)
                continue
            _, rgb, pts, tb = item
            if vstream.pix_fmt == "yuv420p" and rgb.shape[0] % 4 == 0:  # PyAV's array: (H * 3 / 2, W), chroma
                frame = av.VideoFrame.from_ndarray(rgb_to_yuv420(rgb), format="yuv420p")  # packed in rows of W
            else:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = pts, tb
            container.mux(vstream.encode(frame))
            written[0] += 1
        container.mux(vstream.encode(None))
    except BaseException as e:  # noqa: BLE001
        errors.append(e)
        _drain(in_q)


def _stylize_loop(
    in_q: queue.Queue[Any],
    out_q: queue.Queue[Any],
    process: FrameFn,
    batch: int,
    blend: Optional[TemporalBlend],
    errors: list[BaseException],
    total: int,
    t0: float,
    callback: Optional[Callable[[VideoProgress], None]],
) -> int:
    done = 0
    pending: list[Any] = []  # frames of this batch and the audio between them, in order

    def flush() -> None:
        nonlocal done
        frames = [it for it in pending if it[0] == "video"]
        if frames:
            styled = process([it[1] for it in frames])
            for it, y in zip(frames, styled):
                it[4] = blend(it[1], y) if blend is not None else y
        for it in pending:
            if it[0] == "video":
                out_q.put(("video", it[4], it[2], it[3]))
                done += 1
            else:
                out_q.put(tuple(it))
        pending.clear()
        if callback is not None and frames:
            callback(VideoProgress(done, total, time.perf_counter() - t0))

    while True:
        item = in_q.get()
        if item is _END:
            break
        if errors:
            break
        if item[0] == "audio":
            pending.append(list(item))
        else:
            pending.append(["video", item[1], item[2], item[3], None])
            if sum(1 for it in pending if it[0] == "video") >= batch:
                flush()
    flush()
    return done
