"""The backbone base class and registry (the networks themselves register in :mod:`.vgg` and :mod:`.resnet`).

A backbone takes RGB images in [0, 1], applies its own input normalisation, and returns the
activations of named layers.  ``create_backbone(name, ...)`` builds one; ``BACKBONES.names()`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

import torch
from torch import nn

from ..errors import PainterlyError, suggest
from ..registry import Registry


class Backbone(nn.Module):
    """Base class: named layers, default content/style layers, and ``forward(x, layers) -> {name: act}``."""

    name: str = ""
    layer_names: tuple[str, ...] = ()
    default_content_layers: tuple[str, ...] = ()
    default_style_layers: tuple[str, ...] = ()

    def check_layers(self, layers: Sequence[str]) -> None:
        """Raise a one-line error for unknown layer names, suggesting the closest."""
        for layer in layers:
            if layer not in self.layer_names:
                raise PainterlyError(
                    f"unknown layer '{layer}' for backbone {self.name}{suggest(layer, self.layer_names)}"
                    f" ('painterly layers --backbone {self.name}' lists them)"
                )

    channels_last: bool = False
    #: the input normalisation (registered as buffers by each backbone)
    mean: torch.Tensor
    std: torch.Tensor

    def set_compute(self, dtype: torch.dtype = torch.float32, channels_last: bool = False) -> Backbone:
        """Run the convolutions in ``dtype`` (weights cast once) and, optionally, channels-last memory layout.
        Inputs stay fp32 images in [0, 1]; the input normalisation is done in fp32 before the cast."""
        self.channels_last = channels_last
        keep = {n: b.clone() for n, b in self.named_buffers() if n in ("mean", "std")}  # stay fp32
        layout = torch.channels_last if channels_last else torch.contiguous_format
        self.to(dtype=dtype, memory_format=layout)  # type: ignore[call-overload]
        for n, b in keep.items():
            setattr(self, n, b)
        return self

    def compute_input(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised image in the network's dtype and memory layout."""
        h = self.normalize(x)
        dtype = next(self.parameters()).dtype
        return h.to(dtype=dtype, memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - each backbone defines it
        raise NotImplementedError

    def truncate(self, layers: Sequence[str]) -> Backbone:
        """Drop every module after the deepest of ``layers`` (they would only cost time)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError


#: name -> factory(weights: Optional[str], pool: str) -> Backbone
BACKBONES: Registry[Callable[..., Backbone]] = Registry("backbone")


def create_backbone(
    name: str = "vgg19", weights: Optional[str] = None, pool: str = "max", layers: Optional[Sequence[str]] = None
) -> Backbone:
    """Build backbone ``name`` in eval mode with frozen weights, truncated after the deepest of ``layers``."""
    if pool not in ("max", "avg"):
        raise PainterlyError(f"unknown pooling '{pool}' (choices: max, avg)")
    net = BACKBONES.get(name)(weights=weights, pool=pool)
    net.eval().requires_grad_(False)
    if layers:
        net.check_layers(layers)
        net = net.truncate(layers)
    return net
