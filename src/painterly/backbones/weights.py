"""Weight files: torchvision-format state dicts from a path, or downloaded once with their checksum."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Optional

import torch

from ..errors import PainterlyError

#: torchvision's published ImageNet weights; the 8 hex digits in each file name are the start of the
#: file's SHA-256 (torchvision's own check_hash convention).
TORCHVISION_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
}


def load_state_dict(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """Load a state dict with ``weights_only=True``; anything else (code in a pickle, junk) is refused."""
    p = Path(path)
    if not p.is_file():
        raise PainterlyError(f"{what} weights file '{p}' not found")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling errors come in many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PainterlyError(
            f"{what} weights file '{p}' is not a safe tensor-only checkpoint ({first[:160]})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PainterlyError(f"{what} weights file '{p}' is not a state dict of tensors")
    return state


def sha256_prefix_ok(path: Path, prefix: str) -> bool:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest().startswith(prefix)


def fetch_torchvision_weights(name: str, cache_dir: Optional[Path] = None) -> Path:
    """Path to torchvision's weights for ``name`` in the torch hub cache, downloading (and verifying) them
    if needed.  Fails with a one-line message naming ``--weights`` when offline."""
    url = TORCHVISION_URLS[name]
    fname = url.rsplit("/", 1)[1]
    m = re.search(r"-([0-9a-f]{8,})\.pth$", fname)
    prefix = m.group(1) if m else ""
    cache = Path(cache_dir) if cache_dir else Path(torch.hub.get_dir()) / "checkpoints"
    dst = cache / fname
    if dst.is_file():
        if sha256_prefix_ok(dst, prefix):
            return dst
        dst.unlink()
        raise PainterlyError(
            f"cached {name} weights '{dst}' failed their checksum and were deleted; run again to download them afresh"
        )
    cache.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(dst), hash_prefix=prefix, progress=False)
    except RuntimeError as e:
        if dst.exists():
            dst.unlink()
        raise PainterlyError(f"downloaded {name} weights failed their checksum ({e}); nothing was kept") from None
    except Exception as e:  # noqa: BLE001 - URLError, socket errors, ...
        raise PainterlyError(
            f"cannot download {name} weights from {url} ({type(e).__name__}); "
            f"pass --weights PATH to a torchvision-format state dict"
        ) from None
    return dst
