"""Memory of every job: an estimate or a measurement before the work, and one clear error instead of a crash.

After the fact, :func:`oom_guard` turns an allocator failure anywhere (a picture, a video frame, a training batch;
CPU or CUDA) into one line with the size that should fit, from what was in use when it failed, what it asked for,
and how much room there is.

The estimate is a fit to peak resident memory measured with ``/usr/bin/time -v`` on the development machine
(VGG19 to relu5_1, forward and input gradient; benchmarks/RESULTS.md): about 1,400 bytes per output pixel in bf16
and 2,300 in fp32, plus the optimiser's state, plus the style image's forward pass, plus a fixed 0.55 GB (Python,
torch and the weights).  A 2048x2048 picture in bf16 peaks at 6.2 GB.
"""

from __future__ import annotations

import functools
import math
import os
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional

import torch

from .errors import PainterlyError

BASE_BYTES = 550 * 10**6
#: Saved activations and their gradients per output pixel (the optimised image's own network pass).
BYTES_PER_PIXEL = {torch.bfloat16: 1400, torch.float16: 1400, torch.float32: 2300}
#: The style (and content) targets are computed without autograd: about two 64-channel maps alive at a time.
TARGET_BYTES_PER_PIXEL = {torch.bfloat16: 300, torch.float16: 300, torch.float32: 600}

_GB = 10**9


def estimate_bytes(pixels: int, style_pixels: int, dtype: torch.dtype, optimizer_bytes: int = 0) -> int:
    """Peak memory of one scale of optimisation with ``pixels`` output pixels."""
    bpp = BYTES_PER_PIXEL.get(dtype, BYTES_PER_PIXEL[torch.float32])
    tbpp = TARGET_BYTES_PER_PIXEL.get(dtype, TARGET_BYTES_PER_PIXEL[torch.float32])
    return BASE_BYTES + bpp * pixels + max(0, tbpp * style_pixels - bpp * pixels) + optimizer_bytes


def available_bytes(device: torch.device) -> Optional[int]:
    """Free memory on ``device``: CUDA's free memory, or Linux's MemAvailable capped by a cgroup limit; None if
    unknown (then nothing is checked up front)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    avail: Optional[int] = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        return None
    try:  # a container's limit (cgroup v2)
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                used = int(f.read().strip())
            room = int(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    as_limit = _as_limit()  # ulimit -v
    if as_limit:
        size = _status_bytes("VmSize")
        room = as_limit - size if size is not None else as_limit
        avail = room if avail is None else min(avail, room)
    env = os.environ.get("PAINTERLY_MEMORY_LIMIT_GB", "").strip()
    if env:  # for tests and for sharing a machine
        try:
            gb = float(env)
        except ValueError:
            gb = math.nan
        if not math.isfinite(gb) or gb <= 0:
            raise PainterlyError(f"PAINTERLY_MEMORY_LIMIT_GB must be a positive number of GB, got '{env[:40]}'")
        avail = int(gb * _GB) if avail is None else min(avail, int(gb * _GB))
    return avail


def check_fits(
    width: int,
    height: int,
    style_pixels: int,
    dtype: torch.dtype,
    device: torch.device,
    optimizer_bytes: int,
    size: int,
) -> None:
    """Raise a one-line PainterlyError, with the largest --size that fits, if the picture cannot fit in memory."""
    avail = available_bytes(device)
    need = estimate_bytes(width * height, style_pixels, dtype, optimizer_bytes)
    if avail is None or need <= avail:
        return
    per_px = (need - BASE_BYTES) / (width * height)
    fit_px = max(0.0, (avail - BASE_BYTES) / per_px)
    fit = _side(size * math.sqrt(fit_px / (width * height)), 0.9, size)
    hint = f"try --size {fit}" if fit and fit >= 64 else "free some memory"
    if dtype == torch.float32:
        hint += " or --precision bf16 (where supported, it needs 40 % less)"
    raise PainterlyError(
        f"a {width}x{height} picture needs about {need / _GB:.1f} GB of memory on {device.type} but "
        f"only {avail / _GB:.1f} GB is free; {hint}"
    )


def fits(
    width: int, height: int, style_pixels: int, dtype: torch.dtype, device: torch.device, optimizer_bytes: int
) -> bool:
    """Whether one scale of optimisation of a width x height picture should fit in the free memory."""
    avail = available_bytes(device)
    return avail is None or estimate_bytes(width * height, style_pixels, dtype, optimizer_bytes) <= avail


#: What a tiled picture holds whole: the picture, its gradient and Adam's two moments, fp32, 3 channels.
TILED_BYTES_PER_PIXEL = 4 * 3 * 4


def tile_that_fits(width: int, height: int, dtype: torch.dtype, device: torch.device, optimizer_bytes: int = 0) -> int:
    """The side of the square tiles (a multiple of 64, at least 256) whose optimisation fits beside the whole
    picture's own state (and ``optimizer_bytes``, L-BFGS's history), or 0 if none does."""
    avail = available_bytes(device)
    if avail is None:
        return 0
    room = avail - BASE_BYTES - TILED_BYTES_PER_PIXEL * width * height - optimizer_bytes
    bpp = BYTES_PER_PIXEL.get(dtype, BYTES_PER_PIXEL[torch.float32])
    if room <= 0:
        return 0
    side = int(math.sqrt(0.7 * room / bpp)) // 64 * 64  # 0.7: the style targets and what the estimate misses
    side = min(side, 2048)  # larger tiles gain little and leave no room for error
    return side if side >= 256 else 0


#: Seconds per megapixel and step of the optimisation, measured in bf16 on the development CPU (2 cores: 0.68 s a
#: step at 512x341, benchmarks/RESULTS.md); a scale in tiles costs TILE_OVERHEAD times more: the margins of
#: context, the tiles cut at the moving grid's borders and the first pass that sums the Gram matrices (measured
#: 2.1x for 2048 px in 1024 px tiles, 3.0x for 4096 px in 2048 px tiles, benchmarks/transfer_tiles.py).
SECONDS_PER_MEGAPIXEL_STEP = 3.9
TILE_OVERHEAD = 2.6


@dataclass
class MemoryPlan:
    """How a transfer fits in memory: ``tile`` (0: every scale whole; else scales with a longer side are painted
    in tiles of that side) and the ``seconds`` it should take on a CPU like the development machine's."""

    tile: int
    seconds: float


def transfer_seconds(schedule: list[tuple[int, int]], size: tuple[int, int], tile: int) -> float:
    """About how long a schedule of (long side, steps) takes for a picture of ``size`` (bf16 on the development CPU)."""
    total = 0.0
    for side, steps in schedule:
        w, h = (max(1, round(v * side / max(size))) for v in size)
        total += steps * w * h / 1e6 * SECONDS_PER_MEGAPIXEL_STEP * (TILE_OVERHEAD if tile and side > tile else 1)
    return total


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the allocator failures of torch (CPU and CUDA) and Python's MemoryError."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text
        or "can't allocate memory" in text
        or "failed to allocate" in text
        or "bad_alloc" in text
        # oneDNN, when it cannot get the memory for a convolution's plan
        or "could not create a primitive" in text
    )


def _as_limit() -> Optional[int]:
    """The address-space limit (``ulimit -v``) of this process, if any."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def _status_bytes(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def process_bytes(device: torch.device) -> Optional[int]:
    """Memory this process holds where it counts against its limit: CUDA's allocated bytes, or on the CPU the
    resident size (the virtual size under ``ulimit -v``)."""
    if device.type == "cuda":
        return int(torch.cuda.memory_allocated(device))
    return _status_bytes("VmSize" if _as_limit() else "VmRSS")


def _room_bytes(device: torch.device, used: int) -> Optional[int]:
    """All the memory this process could hold: what it holds plus what is free."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return used + int(free) + int(torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    limit = _as_limit()
    if limit:
        return limit
    avail = available_bytes(device)
    return None if avail is None else used + avail


_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def requested_bytes(exc: BaseException) -> int:
    """The size of the allocation that failed, from torch's message (0 if it does not say)."""
    text = str(exc)
    m = re.search(r"tried to allocate (\d+) bytes", text, re.I)
    if m:
        return int(m.group(1))
    m = re.search(r"tried to allocate ([\d.]+) ?(B|KiB|MiB|GiB|TiB)", text, re.I)
    return int(float(m.group(1)) * _UNITS[m.group(2)]) if m else 0


def side_that_fits(exc: BaseException, side: int, device: torch.device, base: Optional[int]) -> Optional[int]:
    """After an allocator failure at long side ``side``: the long side (a multiple of 8) that should fit, assuming
    memory above ``base`` (what was held before the work began) grows with the pixels; None if unknown."""
    used = process_bytes(device)
    if used is None or base is None:
        return None
    room = _room_bytes(device, used)
    need = used + requested_bytes(exc)  # at least: what was held when it failed plus what it asked for
    if room is None or need <= base or room <= base:
        return None
    return _side(float(side), min(1.0, (room - base) / (need - base)) * 0.8, side)  # 0.8: for what was not asked


def release() -> None:
    """glibc: return freed heap memory to the system (no-op elsewhere).  Also between the tiles of a tiled picture:
    their maps come in several sizes, and the heap would otherwise keep freed blocks of every size at once."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Optional[Callable[[int], int]]:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def measure_peak(fn: Callable[[], Any], device: torch.device) -> Optional[int]:
    """Peak memory ``fn()`` takes above what was held before it (CUDA's allocator statistics; on the CPU the
    resident high-water mark, reset through /proc/self/clear_refs); None where it cannot be measured."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - start)
    release()  # memory freed but kept by malloc would be reused unseen: give it back first
    resident = _status_bytes("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident size
    except OSError:
        return None
    fn()
    peak = _status_bytes("VmHWM")
    return None if resident is None or peak is None else max(0, peak - resident)


PROBE_SIDE = 1024  # long side of the larger run that measures memory per pixel (before painting, or after a failure)


def _per_pixel(probe: Callable[[int], int], device: torch.device, hi: int) -> Optional[tuple[float, int, int]]:
    """Memory per pixel of ``probe``'s work, run at long sides hi/2 and hi: the larger run's bytes per pixel (which
    include the caches that do not grow) or the growth between the two, whichever is more.  Returns (bytes per
    pixel, the side and the pixels of the larger run that could be measured; sides halve until the probe itself
    fits), or None."""
    while hi >= 64:
        try:
            px: list[int] = []
            with warnings.catch_warnings():  # oneDNN's fallbacks when short of memory are no news here
                warnings.simplefilter("ignore")
                peaks = [measure_peak(lambda: px.append(probe(s)), device) for s in (hi // 2, hi)]
        except (RuntimeError, MemoryError) as e:
            if not is_out_of_memory(e):
                raise
            hi //= 2
            continue
        small, large = peaks
        if small is None or large is None or len(px) < 2 or px[1] <= px[0] or not large:
            return None
        return max((large - small) / (px[1] - px[0]), large / px[1]), hi, px[1]
    return None


def _fill(measured: Optional[tuple[float, int, int]], budget: Optional[float]) -> Optional[float]:
    """The long side whose pixels would take ``budget`` bytes exactly."""
    if measured is None or not budget or budget <= 0:
        return None
    per_px, hi, px = measured
    return hi * math.sqrt(budget / per_px / px)


def _side(full: Optional[float], share: float, side: int) -> Optional[int]:
    """``share`` of the room's pixels as a long side (a multiple of 8, below ``side``); None under 16."""
    if full is None:
        return None
    fit = min(int(full * math.sqrt(share)) // 8 * 8, side - 8)
    return fit if fit >= 16 else None


@contextmanager
def oom_guard(
    what: str,
    side: int,
    device: torch.device,
    flag: str = "--size",
    probe: Optional[Callable[[int], int]] = None,
    pixels: Optional[int] = None,
    scale: float = 1.0,
    extra: str = "",
) -> Iterator[None]:
    """Turn an out-of-memory failure inside the block into a one-line PainterlyError naming ``what`` failed and the
    ``flag`` value that should fit.  ``probe(s)``, if given, does the same work at long side ``s`` and returns the
    pixels it painted: run once small after the failure, it measures the memory per pixel, and the hint is the side
    whose pixels fit in the room there is.  Without it the hint assumes the work needed at least what was held when
    it failed plus what it asked for (the traceback still holds the block's tensors while that is measured).
    With ``pixels`` (and ``probe``), a picture that cannot fit is refused before the block runs (:func:`check_room`).
    ``scale`` converts the side that fits into the ``flag``'s value (a coarser scale of a finer picture: the
    picture's side over this scale's), and ``extra`` ends the hint (" or --precision bf16").  Every job's
    out-of-memory message comes from here."""
    if pixels is not None and probe is not None:
        check_room(what, side, pixels, device, probe, flag)
    base = process_bytes(device)
    bound: Optional[int] = None
    try:
        yield
        return
    except (RuntimeError, MemoryError) as e:
        if not is_out_of_memory(e):
            raise
        bound = side_that_fits(e, side, device, base)
        traceback.clear_frames(e.__traceback__)  # the failed attempt's tensors go before the probe runs
    fit = None
    if probe is not None and base is not None:
        measured = _per_pixel(probe, device, min(PROBE_SIDE, side // 2))
        room = _room_bytes(device, process_bytes(device) or base)
        fit = _side(_fill(measured, room - base if room else None), 0.9, side)
    if scale != 1.0:
        fit, bound = (v and _side(v * scale, 1.0, round(side * scale) + 8) for v in (fit, bound))
    if fit:
        hint = f"try {flag} {fit} (should fit)"
    elif bound:  # an upper bound only: it needed at least what it held plus what it asked for
        hint = f"try {flag} {bound} or smaller"
    else:
        hint = f"free some memory or try a smaller {flag}"
    raise PainterlyError(f"ran out of memory {what} on {device.type}; {hint}{extra}") from None


#: A pessimistic memory cost per pixel of one feed-forward or AdaIN pass (measured: ~100 B for the shipped models,
#: ~230 B for AdaIN, on the CPU).  Only above this is the real cost measured before painting.
ROUGH_BYTES_PER_PIXEL = 400


def check_room(
    what: str, side: int, pixels: int, device: torch.device, probe: Callable[[int], int], flag: str = "--size"
) -> None:
    """Before a big one-pass picture: if it might not fit (at a pessimistic cost per pixel), measure its real cost
    with ``probe`` at small sizes and refuse, naming the ``flag`` value that fits, rather than start a job that
    the system's out-of-memory killer would end without a word."""
    avail = available_bytes(device)
    if avail is None or pixels * ROUGH_BYTES_PER_PIXEL < avail:
        return
    full = _fill(_per_pixel(probe, device, PROBE_SIDE), avail)  # the same probe whatever the side: one verdict
    if full is not None and full < side:  # refused only when it cannot fit; the size named keeps a fifth spare,
        fit = _side(full, 0.8, side)  # so that asking for it is not refused in turn
        raise PainterlyError(
            f"{what} needs more memory on {device.type} than the {avail / _GB:.1f} GB free; "
            + (f"try {flag} {fit} (should fit)" if fit else "free some memory")
        )
