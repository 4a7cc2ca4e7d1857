"""AdaIN's feature transforms and encoder: adaptive instance normalisation (Huang & Belongie 2017, eq. 8), the
whitening-colouring transform (Li et al. 2017), blends of paintings' statistics, and the VGG19 encoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Union

import torch
from torch import nn

from ..backbones import create_backbone
from ..backbones.vgg import VGG, VGG19_CFG, normalize_filters, shipped_filter_means
from ..errors import PainterlyError

#: the encoder's layer that AdaIN transforms and the decoder inverts
ENCODER_LAYER = "relu4_1"
#: the encoder's layers whose statistics (mean and std) the decoder's style loss matches (Huang & Belongie 2017,
#: sec. 6)
STATISTICS_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: VGG19's channels at the layers a decoder can invert, shallowest last: the levels of the multi-level
#: whitening-colouring transform (Li et al. 2017, sec. 3.2), coarse to fine
VGG19_CHANNELS = {"relu4_1": 512, "relu3_1": 256, "relu2_1": 128, "relu1_1": 64}
WCT_LEVELS = tuple(VGG19_CHANNELS)


def wct_levels(n: int) -> tuple[str, ...]:
    """The ``n`` finest levels of the multi-level transform, coarsest first: 4 from relu4_1, 3 from relu3_1..."""
    if not 1 <= n <= len(WCT_LEVELS):
        raise PainterlyError(f"--wct-levels must be 1 to {len(WCT_LEVELS)}, got {n}")
    return WCT_LEVELS[len(WCT_LEVELS) - n :]


#: each level's stride: pixels per feature position
STRIDES = {"relu4_1": 8, "relu3_1": 4, "relu2_1": 2, "relu1_1": 1}
METHODS = ("adain", "wct", "multi-wct")
#: the encoders AdaIN can run on -> their channels relative to VGG19's: VGG19 itself, and the student distilled from
#: it with a quarter of its channels (Wang et al. 2020), about 1/16 of its multiply-adds
ENCODERS = {"vgg19": 1.0, "vgg19-quarter": 0.25}


def create_encoder(device: Union[str, torch.device] = "cpu", dtype: torch.dtype = torch.float32) -> VGG:
    """The bundled (Caffe) VGG19 up to relu4_1, frozen, in ``dtype`` and channels-last, its filters scaled to mean
    activation 1 (Gatys et al. 2016; the "normalised VGG" the AdaIN paper's encoder and loss use, which balances
    the style loss across layers).  The scaling is per channel, so AdaIN's output does not depend on it."""
    net = create_backbone("vgg19", layers=[ENCODER_LAYER])
    assert isinstance(net, VGG)
    means = shipped_filter_means(net, "max")
    if means is not None:
        normalize_filters(net, means)
    net.to(device).set_compute(dtype, channels_last=True)
    return net


def student_encoder(width: float) -> VGG:
    """VGG19's layers up to relu4_1 with ``width`` of its channels, the same layer names and input (Wang et al.
    2020, "Collaborative Distillation for Ultra-Resolution Universal Style Transfer"), untrained: it learns to
    reproduce the teacher's features through :class:`Embeddings` (``painterly train-adain --encoder``).  Its
    relu4_1 ends in a 1x1 convolution into VGG19's 512 relu4_1 channels (the linear embedding of that layer, kept
    for painting): the transforms and a VGG19 decoder work on its output unchanged."""
    cfg: list[int | str] = [v if isinstance(v, str) else max(8, round(v * width)) for v in VGG19_CFG]
    net = VGG(f"vgg19-x{width:g}", cfg, "max", input_mode="caffe").truncate([ENCODER_LAYER])
    at = net.layer_names.index(ENCODER_LAYER)
    net.layers[at] = nn.Sequential(net.layers[at], nn.Conv2d(channels_at(net, ENCODER_LAYER), 512, 1))
    return net


def channels_at(net: VGG, layer: str) -> int:
    """The channels of ``net``'s layer ``layer`` (a relu after a conv), before any embedding."""
    conv = net.layers[net.layer_names.index(layer) - 1]
    assert isinstance(conv, nn.Conv2d)
    return conv.out_channels


class Embeddings(nn.Module):
    """The linear maps (1x1 convolutions) from the student's features to the teacher's at each statistics layer
    above relu4_1 (whose map is part of the student, :func:`student_encoder`), through which the student learns to
    reproduce the teacher (Wang et al. 2020, sec. 3.2); used in training only."""

    def __init__(self, student: VGG, teacher: VGG) -> None:
        super().__init__()
        self.maps = nn.ModuleDict(
            {
                k: nn.Conv2d(channels_at(student, k), channels_at(teacher, k), 1)
                for k in STATISTICS_LAYERS
                if k != ENCODER_LAYER
            }
        )

    def forward(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: self.maps[k](v) if k in self.maps else v for k, v in feats.items()}


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
    """What the transforms need of a painting's relu4_1 features: mean, std, and (for WCT) the covariance; for
    the multi-level transform, the same of every level in ``levels`` (layer -> code)."""

    mean: torch.Tensor  # (1, C, 1, 1)
    std: torch.Tensor  # (1, C, 1, 1)
    cov: torch.Tensor  # (C, C)
    levels: dict[str, StyleCode] = field(default_factory=dict)

    def at(self, layer: str) -> StyleCode:
        """The code of ``layer`` (this one at relu4_1)."""
        if layer == ENCODER_LAYER:
            return self
        if layer not in self.levels:
            raise PainterlyError(f"this painting's statistics hold no {layer} (take them with levels=True)")
        return self.levels[layer]

    @staticmethod
    def of(f: torch.Tensor) -> StyleCode:
        f = f[:1].float()
        mean, std = mean_std(f)
        x = _positions(f - mean)[0]  # (H * W, C), no copy of a channels-last map
        return StyleCode(mean, std, x.T @ x / max(1, x.shape[0] - 1))

    @staticmethod
    def of_chunks(f: torch.Tensor, rows: int = 64) -> StyleCode:
        """The same statistics of a large feature map (1, C, H, W), summed over bands of ``rows`` rows (in float64),
        so no float copy of the whole map is made."""
        c = f.shape[1]
        total = torch.zeros(c, dtype=torch.float64)
        outer = torch.zeros(c, c, dtype=torch.float64)
        n = 0
        for y in range(0, f.shape[-2], rows):
            x = f[0, :, y : y + rows].reshape(c, -1).double()
            total += x.sum(1)
            outer += x @ x.T
            n += x.shape[1]
        mean = total / max(1, n)
        cov = (outer - n * torch.outer(mean, mean)) / max(1, n - 1)
        var = (cov.diagonal() * (n - 1) / max(1, n)).clamp_min(0)  # as mean_std: over positions, no correction
        return StyleCode(mean.float().view(1, c, 1, 1), (var + 1e-5).sqrt().float().view(1, c, 1, 1), cov.float())

    @staticmethod
    def blend(codes: Sequence[StyleCode], weights: Sequence[float]) -> StyleCode:
        """Interpolate several paintings' statistics (Huang & Belongie 2017, sec. 7.2)."""
        w = torch.tensor(weights, dtype=torch.float32)
        w = w / w.sum()
        shared = set.intersection(*(set(c.levels) for c in codes)) if codes else set()
        return StyleCode(
            sum(wi * c.mean for wi, c in zip(w, codes)),
            sum(wi * c.std for wi, c in zip(w, codes)),
            sum(wi * c.cov for wi, c in zip(w, codes)),
            {k: StyleCode.blend([c.levels[k] for c in codes], weights) for k in sorted(shared)},
        )


def _positions(f: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H * W, C): a view of a channels-last map (the encoder's layout), a copy otherwise."""
    b, c, h, w = f.shape
    return f.permute(0, 2, 3, 1).reshape(b, h * w, c)


def _sym_power(cov: torch.Tensor, power: float, eps: float = 1e-5) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov.double())
    keep = vals > eps * vals.max().clamp_min(1e-12)
    vals = torch.where(keep, vals.clamp_min(eps), torch.ones_like(vals))
    scale = torch.where(keep, vals.pow(power), torch.zeros_like(vals))
    return ((vecs * scale) @ vecs.T).float()


def feature_transform(
    content: StyleCode, style: StyleCode, method: str = "adain", alpha: float = 1.0
) -> Callable[[torch.Tensor], torch.Tensor]:
    """AdaIN (Huang & Belongie 2017, eq. 8) or the whitening-colouring transform (Li et al. 2017, sec. 3.1) fixed by
    the whole photo's statistics ``content`` and the painting's ``style``, to apply to any part of the photo's
    features: a tile of a large picture is transformed exactly as it would be in the whole.  ``alpha`` blends the
    result with the features themselves (Huang & Belongie 2017, sec. 7.1), folded into the transform: both are
    affine, so it costs no pass of its own over the map."""
    if method == "adain":
        # alpha ((f - mu_c) s + mu_s) + (1 - alpha) f = f (alpha s + 1 - alpha) + alpha (mu_s - mu_c s)
        s = style.std / content.std
        scale = alpha * s + (1 - alpha)
        shift = alpha * (style.mean - content.mean * s)

        def apply(f: torch.Tensor) -> torch.Tensor:
            return f.float() * scale + shift

        return apply
    # alpha (M (f - mu_c) + mu_s) + (1 - alpha) f = (alpha M + (1 - alpha) I)(f - mu_c) + alpha mu_s + (1 - alpha) mu_c
    colour = _sym_power(style.cov, 0.5) @ _sym_power(content.cov, -0.5)  # colour after whitening
    matrix = alpha * colour + (1 - alpha) * torch.eye(colour.shape[0])
    mean = alpha * style.mean + (1 - alpha) * content.mean

    def apply_wct(f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        y = _positions(f.float() - content.mean) @ matrix.T  # (B, H * W, C)
        return y.reshape(b, h, w, c).permute(0, 3, 1, 2) + mean

    return apply_wct


def wct(content: torch.Tensor, style: StyleCode) -> torch.Tensor:
    """Whitening-colouring transform (Li et al. 2017, sec. 3.1): decorrelate each photo's features, then give them
    the painting's covariance and mean."""
    return torch.cat([feature_transform(StyleCode.of(f), style, "wct")(f) for f in content.split(1)])
