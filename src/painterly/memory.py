"""Memory of optimisation-based transfer: an estimate before the run, and one clear error instead of a crash.

The estimate is a fit to peak resident memory measured with ``/usr/bin/time -v`` on the development machine
(VGG19 to relu5_1, forward and input gradient; benchmarks/RESULTS.md): about 1,400 bytes per output pixel in bf16
and 2,300 in fp32, plus the optimiser's state, plus the style image's forward pass, plus a fixed 0.55 GB (Python,
torch and the weights).  A 2048x2048 picture in bf16 peaks at 6.2 GB.
"""
from __future__ import annotations

import math
import os
from typing import Optional

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
    if os.environ.get("PAINTERLY_MEMORY_LIMIT_GB"):  # for tests and for sharing a machine
        cap = int(float(os.environ["PAINTERLY_MEMORY_LIMIT_GB"]) * _GB)
        avail = cap if avail is None else min(avail, cap)
    return avail


def check_fits(width: int, height: int, style_pixels: int, dtype: torch.dtype, device: torch.device,
               optimizer_bytes: int, size: int) -> None:
    """Raise a one-line PainterlyError, with the largest --size that fits, if the picture cannot fit in memory."""
    avail = available_bytes(device)
    need = estimate_bytes(width * height, style_pixels, dtype, optimizer_bytes)
    if avail is None or need <= avail:
        return
    per_px = (need - BASE_BYTES) / (width * height)
    fit_px = max(0.0, (avail - BASE_BYTES) / per_px)
    fit = int(size * math.sqrt(fit_px / (width * height)) * 0.95) // 16 * 16
    hint = f"try --size {fit}" if fit >= 64 else "free some memory"
    if dtype == torch.float32:
        hint += " or --precision bf16 (where supported, it needs 40 % less)"
    raise PainterlyError(f"a {width}x{height} picture needs about {need / _GB:.1f} GB of memory on {device.type} but "
                         f"only {avail / _GB:.1f} GB is free; {hint}")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the allocator failures of torch (CPU and CUDA) and Python's MemoryError."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "failed to allocate" in text)
