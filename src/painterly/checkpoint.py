"""Checkpoints that describe themselves: plain dicts of tensors, numbers and strings, written atomically, read with
``weights_only=True`` (so a crafted file cannot run code), for both trained kinds: feed-forward networks and AdaIN
decoders.

A feed-forward checkpoint::

    format: "painterly-feedforward", painterly_version, arch, settings (the factory's arguments), state_dict,
    styles: [{name, thumbnail (uint8 3xHxW)}, ...], loss: {backbone, layers, weights, content_loss},
    step, steps, optimizer (Adam state, for --resume), history (loss terms per step), seconds, train, data
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from PIL import Image

from ._version import __version__
from .errors import PainterlyError
from .images import atomic_write, resize_long_side

#: the ``format`` of a feed-forward network's checkpoint
FEEDFORWARD_FORMAT = "painterly-feedforward"
#: the ``format`` of an AdaIN decoder's checkpoint
ADAIN_FORMAT = "painterly-adain"


def thumbnail(img: Image.Image, side: int = 96) -> torch.Tensor:
    """A small uint8 (3, H, W) copy of the painting, stored in the checkpoint."""
    small = resize_long_side(img.convert("RGB"), side)
    return torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def save_checkpoint(path: Union[str, Path], ckpt: dict[str, Any], fmt: str = FEEDFORWARD_FORMAT) -> Path:
    """Write atomically (a crash or Ctrl-C never leaves half a file), stamped with ``fmt`` and the version."""
    path = Path(path)
    ckpt = {"format": fmt, "painterly_version": __version__, **ckpt}
    atomic_write(path, lambda tmp: torch.save(ckpt, tmp))
    return path


def load_checkpoint(
    path: Union[str, Path], fmt: str = FEEDFORWARD_FORMAT, noun: str = "model", what: str = "feed-forward model"
) -> dict[str, Any]:
    """Read a checkpoint of format ``fmt`` with ``weights_only=True``; one-line errors for missing, corrupt or
    foreign files (``noun`` and ``what`` name the file and the kind expected in them)."""
    path = Path(path)
    if not path.is_file():
        raise PainterlyError(f"{noun} '{path}' not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle, zip and unpickler errors all mean "not a usable checkpoint"
        raise PainterlyError(
            f"{noun} '{path}' is not a readable painterly checkpoint "
            f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise PainterlyError(f"'{path}' is not a painterly {what}")
    return ckpt


def for_distribution(ckpt: dict[str, Any], half: bool = True) -> dict[str, Any]:
    """A checkpoint without the optimiser state (only ``--resume`` needs it) and, with ``half``, its weights in
    float16 (loading casts them back to the network's dtype).  About a third of the size."""
    # no optimiser state, and not a distilled encoder's training-only maps to its teacher
    ck = {k: v for k, v in ckpt.items() if k not in ("optimizer", "format", "painterly_version", "embed_state")}
    if half:
        for part in ("state_dict", "encoder_state"):  # the weights (and a distilled encoder's)
            if part in ck:
                ck[part] = {k: v.half() if v.is_floating_point() else v for k, v in ck[part].items()}
        if "history" in ck:  # the training loss curve: a plot's worth of precision
            ck["history"] = {k: v.half() for k, v in ck["history"].items()}
    return ck


def painting_names(ckpt: dict[str, Any]) -> list[str]:
    """The names of the paintings a checkpoint holds, in the order of its style rows (file names without suffix)."""
    styles = ckpt.get("styles") or [ckpt.get("style", {})]
    return [Path(str(s.get("name", "painting"))).stem for s in styles]
