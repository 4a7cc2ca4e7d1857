"""Where and in which arithmetic the networks run: ``--device`` and ``--precision``."""

from __future__ import annotations

import functools
from typing import Optional, TypeVar, Union

import torch
from torch import nn

from .errors import PainterlyError

M = TypeVar("M", bound=nn.Module)


def channels_last(module: M, dtype: Optional[torch.dtype] = None, device: Union[str, torch.device, None] = None) -> M:
    """``module`` (moved to ``device`` and cast to ``dtype``, if given) in the channels-last memory layout, the
    one oneDNN and cuDNN convolutions run fastest in."""
    return module.to(device=device, dtype=dtype, memory_format=torch.channels_last)  # type: ignore[call-overload]


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``auto`` picks bf16 where the hardware has fast bf16 (AVX-512 BF16/AMX CPUs, Ampere+ GPUs)."""
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes in bf16 natively (x86 AVX-512 BF16 or AMX, Arm's BF16 extension).  oneDNN also
    runs bf16 on AVX-512 CPUs without these, by emulation, several times slower than fp32, so its own check
    (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) is not enough."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return native_bf16_in(f.read())
    except OSError:  # not Linux: no way to tell here, so the safe choice
        return False


def native_bf16_in(cpuinfo: str) -> bool:
    """Whether the flags of a Linux ``/proc/cpuinfo`` text name native bf16 arithmetic."""
    flags = {
        w
        for line in cpuinfo.splitlines()
        if line.startswith(("flags", "Features"))
        for w in line.split(":", 1)[-1].split()
    }
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise PainterlyError(f"unknown device '{name}' (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PainterlyError(f"device '{name}' requested but CUDA is not available (use --device cpu)")
    return dev
