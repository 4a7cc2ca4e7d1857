"""Losses of neural style transfer.

Gatys et al. (2016), "Image Style Transfer Using Convolutional Neural Networks": content loss on
feature maps (eq. 1), style loss on Gram matrices (eqs. 3-5).  painterly normalises each term by
the energy of its target (``|F - P|^2 / |P|^2`` and ``|G - A|^2 / |A|^2``), which replaces the
paper's per-layer constants ``1 / (4 N^2 M^2)``: the terms become scale free, so one set of
weights works at every image size, layer and backbone.  Every loss takes batches and averages
over the batch.
"""
from __future__ import annotations

from typing import Callable

import torch

from .registry import Registry

_EPS = 1e-8


def gram_matrix(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix of feature maps (B, C, H, W) -> (B, C, C), normalised by C*H*W (Gatys et al. eq. 3)."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def _relative(diff_energy: torch.Tensor, target_energy: torch.Tensor) -> torch.Tensor:
    return (diff_energy / target_energy.clamp_min(_EPS)).mean()


#: name -> fn(features, target_features) -> scalar
CONTENT_LOSSES: Registry[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = Registry("content loss")


@CONTENT_LOSSES.register("mse")
def mse_content_loss(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error of feature maps relative to the target's energy (Gatys et al. eq. 1)."""
    target = target.expand_as(x)
    dims = tuple(range(1, x.dim()))
    return _relative((x - target).pow(2).sum(dims), target.pow(2).sum(dims))


def style_loss(gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Squared Gram-matrix error relative to the target Gram's energy (Gatys et al. eq. 4)."""
    target_gram = target_gram.expand_as(gram)
    return _relative((gram - target_gram).pow(2).sum((1, 2)), target_gram.pow(2).sum((1, 2)))


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels (images in [0, 1])."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
    dw = (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()
    return dh + dw
