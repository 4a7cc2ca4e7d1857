"""A folder of pictures through any one-pass model: every image painted into the same place under the output
folder, as PNG (or JPEG, WebP); unreadable ones skipped.  Each picture is encoded in a second thread while the
network paints the next one, which gains on machines with cores to spare (on 2 cores the network keeps both busy;
benchmarks/RESULTS.md).  PNG is written by OpenCV's encoder (:func:`painterly.images.png_bytes`), about 15 ms for
a 640x360 picture where Pillow takes 42; JPEG is the cheapest, about 2 ms."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from PIL import Image

from ..errors import PainterlyError
from ..images import OUTPUT_FORMATS, image_files, save_image
from ..progress import Callback, Progress


@dataclass
class FolderProgress(Progress):
    """After each picture: ``step`` of ``total`` pictures done, ``path`` the one just painted."""

    path: str = ""


@dataclass
class FolderResult:
    """``written`` pictures (their paths), ``skipped`` ones' one-line reasons, ``seconds`` of wall time."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def paint_folder(
    paint: Callable[[Path], Image.Image],
    src: str | Path,
    dest: str | Path,
    callback: Optional[Callback[FolderProgress]] = None,
    suffix: str = ".png",
) -> FolderResult:
    """``paint(file) -> picture`` for every image under ``src``, written to ``dest`` at the same relative path with
    ``suffix`` (``.png``, ``.jpg``, ``.webp``).  A picture that cannot be read or written is skipped (its reason in
    the result); when none can be painted, a one-line error, and a ``dest`` made for this call is removed again.
    Interrupted (Ctrl-C), the pictures finished so far are kept whole: each file is written atomically and the last
    write is waited for."""
    src, dest = Path(src), Path(dest)
    if suffix.lower() not in OUTPUT_FORMATS:
        raise PainterlyError(f"unsupported picture format '{suffix}' (choices: {', '.join(OUTPUT_FORMATS)})")
    files = image_files(src)
    if not files:
        raise PainterlyError(f"no images in folder '{src}'")
    if dest.exists() and not dest.is_dir():
        raise PainterlyError(f"output '{dest}' must be a folder when the input is a folder")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    res, t0 = FolderResult(), time.perf_counter()
    pending: Optional[tuple[Future, Path]] = None

    def finish(job: Optional[tuple[Future, Path]]) -> None:
        if job is None:
            return
        try:
            job[0].result()
            res.written.append(job[1])
        except PainterlyError as e:
            res.skipped.append(str(e))

    def write(img: Image.Image, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(img, target)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="painterly-png") as writer:
        try:
            for i, f in enumerate(files):
                target = dest / f.relative_to(src).with_suffix(suffix)
                try:
                    img = paint(f)
                except PainterlyError as e:
                    res.skipped.append(str(e))
                else:
                    finish(pending)  # at most one picture waits to be written: memory stays one picture's
                    pending = (writer.submit(write, img, target), target)
                if callback is not None:
                    callback(FolderProgress(i + 1, len(files), time.perf_counter() - t0, path=str(f)))
        finally:
            finish(pending)
    res.seconds = time.perf_counter() - t0
    if not res.written:
        if created and not any(dest.iterdir()):
            dest.rmdir()  # nothing was written: leave no empty folder behind
        raise PainterlyError(f"none of the {len(files)} images in '{src}' could be painted (first: {res.skipped[0]})")
    return res
