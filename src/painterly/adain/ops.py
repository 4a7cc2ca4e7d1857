"""AdaIN's feature transforms and encoder: adaptive instance normalisation (Huang & Belongie 2017, eq. 8), the
whitening-colouring transform (Li et al. 2017), blends of paintings' statistics, and the VGG19 encoder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import torch

from ..backbones import Backbone, create_backbone
from ..backbones.vgg import VGG, normalize_filters, shipped_filter_means

#: the encoder's layer that AdaIN transforms and the decoder inverts
ENCODER_LAYER = "relu4_1"
#: the encoder's layers whose statistics (mean and std) the decoder's style loss matches (Huang & Belongie 2017,
#: sec. 6)
STATISTICS_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
METHODS = ("adain", "wct")


def create_encoder(device: Union[str, torch.device] = "cpu", dtype: torch.dtype = torch.float32) -> Backbone:
    """The bundled (Caffe) VGG19 up to relu4_1, frozen, in ``dtype`` and channels-last, its filters scaled to mean
    activation 1 (Gatys et al. 2016; the "normalised VGG" the AdaIN paper's encoder and loss use, which balances
    the style loss across layers).  The scaling is per channel, so AdaIN's output does not depend on it."""
    net = create_backbone("vgg19", layers=[ENCODER_LAYER])
    assert isinstance(net, VGG)
    means = shipped_filter_means(net, "max")
    if means is not None:
        normalize_filters(net, means)
    return net.to(device).set_compute(dtype, channels_last=True)


def mean_std(f: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation over positions, as (B, C, 1, 1) float32."""
    f = f.float()
    var, mean = torch.var_mean(f, dim=(2, 3), keepdim=True, correction=0)
    return mean, (var + eps).sqrt()


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y)  (Huang & Belongie 2017, eq. 8)."""
    c_mean, c_std = mean_std(content)
    return (content.float() - c_mean) / c_std * style_std + style_mean


@dataclass
class StyleCode:
    """What the transforms need of a painting's relu4_1 features: mean, std, and (for WCT) the covariance."""

    mean: torch.Tensor  # (1, C, 1, 1)
    std: torch.Tensor  # (1, C, 1, 1)
    cov: torch.Tensor  # (C, C)

    @staticmethod
    def of(f: torch.Tensor) -> StyleCode:
        f = f[:1].float()
        mean, std = mean_std(f)
        x = (f - mean).flatten(2)[0]
        return StyleCode(mean, std, x @ x.T / max(1, x.shape[1] - 1))

    @staticmethod
    def blend(codes: Sequence[StyleCode], weights: Sequence[float]) -> StyleCode:
        """Interpolate several paintings' statistics (Huang & Belongie 2017, sec. 7.2)."""
        w = torch.tensor(weights, dtype=torch.float32)
        w = w / w.sum()
        return StyleCode(
            sum(wi * c.mean for wi, c in zip(w, codes)),
            sum(wi * c.std for wi, c in zip(w, codes)),
            sum(wi * c.cov for wi, c in zip(w, codes)),
        )


def _sym_power(cov: torch.Tensor, power: float, eps: float = 1e-5) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov.double())
    keep = vals > eps * vals.max().clamp_min(1e-12)
    vals = torch.where(keep, vals.clamp_min(eps), torch.ones_like(vals))
    scale = torch.where(keep, vals.pow(power), torch.zeros_like(vals))
    return ((vecs * scale) @ vecs.T).float()


def wct(content: torch.Tensor, style: StyleCode) -> torch.Tensor:
    """Whitening-colouring transform (Li et al. 2017, sec. 3.1): decorrelate the photo's features, then give them
    the painting's covariance and mean."""
    out = []
    colour = _sym_power(style.cov, 0.5)
    for f in content.float():
        c, h, w = f.shape
        x = f.reshape(c, -1)
        m = x.mean(1, keepdim=True)
        x = x - m
        white = _sym_power(x @ x.T / max(1, x.shape[1] - 1), -0.5) @ x
        out.append((colour @ white + style.mean.view(c, 1)).view(c, h, w))
    return torch.stack(out)
