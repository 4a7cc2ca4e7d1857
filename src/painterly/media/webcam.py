"""Live stylisation of a camera (or any source OpenCV opens, such as a video file standing in for one).

A capture thread keeps reading (for a live camera only the newest frame is kept, so a slow network never shows a
stale picture; a file is read frame by frame), the main thread stylises and shows the picture with an fps overlay.
Keys: ``n`` / ``p`` next / previous model, ``s`` side by side with the camera, ``space`` or ``c`` snapshot,
``q`` or ``Esc`` quit.  ``headless=True`` runs the same loop without a window (tests, benchmarks, servers).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
from PIL import Image

from ..config import WebcamConfig
from ..errors import PainterlyError
from ..images import save_image
from ..progress import Progress

KEYS = "n/p: next/previous model   s: side by side   space/c: snapshot   q/Esc: quit"


@dataclass
class WebcamStats:
    frames: int = 0
    seconds: float = 0.0
    snapshots: list[Path] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def _cv2():
    # FFmpeg inside OpenCV logs its own complaints ("moov atom not found") to stderr; painterly says it in one line
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        import cv2
    except ImportError as e:
        raise PainterlyError(f"the webcam needs OpenCV: pip install opencv-python ({e})") from None
    return cv2


def has_display() -> bool:
    """Whether a window can open (Linux needs X11 or Wayland; OpenCV's Qt aborts the process without one)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class _Capture(threading.Thread):
    """Reads frames in the background: the newest only for a live camera, every frame for a file."""

    def __init__(self, cap, live: bool) -> None:
        super().__init__(daemon=True)
        self.cap, self.live = cap, live
        self.frames: queue.Queue[Optional[np.ndarray]] = queue.Queue(maxsize=1 if live else 4)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            ok, frame = self.cap.read()
            self._offer(frame if ok else None)
            if not ok:
                break

    def _offer(self, item: Optional[np.ndarray]) -> None:
        while not self.stopped.is_set():
            if self.live:
                try:
                    self.frames.get_nowait()  # drop the stale frame
                except queue.Empty:
                    pass
            try:
                self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def open_source(source: Union[int, str]):
    """An OpenCV capture of camera index ``source`` or a video file; a one-line error if there is none."""
    cv2 = _cv2()
    if isinstance(source, str) and not source.isdigit() and not Path(source).exists():
        raise PainterlyError(f"camera source '{source}' not found")
    src = int(source) if isinstance(source, str) and source.isdigit() else source
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our one-line error says it
    try:
        cap = cv2.VideoCapture(src)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not cap.isOpened():
        if isinstance(src, int):
            raise PainterlyError(f"cannot open camera {src} (no camera there, or it is in use)")
        raise PainterlyError(f"cannot open video '{src}' (not a video OpenCV can read)")
    return cap, isinstance(src, int)


@dataclass
class WebcamProgress(Progress):
    """After each painted frame: ``step`` frames so far (``total``: the --frames limit, 0 for none) and the
    smoothed frames per second."""

    fps: float = 0.0


def run_webcam(cfg: WebcamConfig, callback: Optional[Callable[[WebcamProgress], None]] = None) -> WebcamStats:
    """Show ``cfg.camera`` stylised by ``cfg.models[0]`` (keys switch between the models) until ``q``, the end of
    the source or ``cfg.frames`` frames."""
    from .stylizers import load_stylizer

    cv2 = _cv2()
    models, size, headless, side_by_side = cfg.models, cfg.size, cfg.headless, cfg.side_by_side
    if not models:
        raise PainterlyError("no model to run: train one or install the shipped ones ('painterly models')")
    if not headless and not has_display():
        raise PainterlyError(
            "no display to show the webcam window (no DISPLAY / WAYLAND_DISPLAY); "
            "use --headless to run without a window"
        )
    if not headless and not Path(os.environ.get("QT_QPA_FONTDIR", "")).is_dir():
        # OpenCV's Qt points at a font folder its wheel does not ship, and complains on every window
        fonts = [d for d in Path("/usr/share/fonts/truetype").glob("*") if d.is_dir()]
        if fonts:
            os.environ["QT_QPA_FONTDIR"] = str(fonts[0])
    loaded: dict[int, Any] = {}

    def model(i: int) -> Any:
        if i not in loaded:
            loaded[i] = load_stylizer(models[i], cfg.device, stroke_scale=cfg.stroke_scale, variant=cfg.variant)
        return loaded[i]

    current = 0
    model(current)
    cap, live = open_source(cfg.camera)
    capture = _Capture(cap, live)
    stats = WebcamStats()
    window = "painterly"
    fps = 0.0
    t0 = last = time.perf_counter()
    capture.start()
    try:
        while not cfg.frames or stats.frames < cfg.frames:
            frame = capture.frames.get()
            if frame is None:
                break
            h, w = frame.shape[:2]
            s = size / max(h, w)
            if s != 1:
                frame = cv2.resize(frame, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            styled = model(current).frames([rgb])[0]
            shown = cv2.cvtColor(styled, cv2.COLOR_RGB2BGR)
            if side_by_side:
                shown = np.hstack([frame, shown])
            stats.frames += 1
            now = time.perf_counter()
            fps = 1 / max(now - last, 1e-9) if stats.frames == 1 else 0.9 * fps + 0.1 / max(now - last, 1e-9)
            last = now
            if callback is not None:
                callback(WebcamProgress(stats.frames, cfg.frames, now - t0, fps=fps))
            if headless:
                continue
            cv2.putText(
                shown,
                f"{fps:4.1f} fps  {Path(str(models[current])).stem}",
                (8, 22),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6,
                (255, 255, 255),
                2,
                cv2.LINE_AA,
            )
            cv2.imshow(window, shown)
            key = cv2.waitKey(1) & 0xFF
            if key in (ord("q"), 27):
                break
            if key == ord("n"):
                current = (current + 1) % len(models)
            elif key == ord("p"):
                current = (current - 1) % len(models)
            elif key == ord("s"):
                side_by_side = not side_by_side
            elif key in (ord(" "), ord("c")):
                path = Path(cfg.snapshot_dir) / time.strftime("painterly-%Y%m%d-%H%M%S.png")
                save_image(Image.fromarray(cv2.cvtColor(shown, cv2.COLOR_BGR2RGB)), path)
                stats.snapshots.append(path)
    finally:
        stats.seconds = time.perf_counter() - t0
        capture.stopped.set()
        capture.join(timeout=2)
        cap.release()
        if not headless:
            cv2.destroyAllWindows()
    return stats
