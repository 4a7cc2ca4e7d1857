"""Feed-forward style networks ("image transformation networks") behind one registry.

``johnson``: Johnson, Alahi & Fei-Fei (2016), "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution": 9x9 conv, two stride-2 convs, 5 residual blocks, two stride-2 transposed convs, 9x9 conv out;
instance normalisation (Ulyanov et al. 2016) by default, batch normalisation as an option; reflection padding.

``depsep``, ``depsep-nn``, ``depsep-nn-bil``: Pandey, Karmakar & Ramakrishnan (2018), "Computationally Efficient
Approaches for Image Style Transfer" (seed 000): every convolution becomes a depthwise-separable one (a depthwise
k x k conv with channel multiplier 4, then a 1x1 conv), normalised after each; ``-nn`` upsamples by nearest
neighbour + conv instead of transposed convs, ``-nn-bil`` by the concatenation of nearest-neighbour and bilinear
upsampling + conv.

Every network maps RGB in [0, 1] (any height and width) to RGB in [0, 1] of the same size.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .errors import PainterlyError
from .registry import Registry

#: name -> factory(**settings) -> nn.Module; settings are stored in checkpoints
NETWORKS: Registry[Callable[..., nn.Module]] = Registry("architecture")


class InstanceNorm(nn.InstanceNorm2d):
    """Instance normalisation (Ulyanov et al. 2016), affine.  For one image it is batch normalisation with batch
    statistics, which torch computes on channels-last tensors in place of instance_norm's reshape-and-copy (the same
    numbers; measured 22 -> 4 ms for 32x512x512 in bf16 on the development CPU)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1:
            return nn.functional.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return InstanceNorm(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise PainterlyError(f"unknown normalisation '{kind}' (choices: instance, batch)")


def conv(cin: int, cout: int, k: int, stride: int = 1, separable: bool = False) -> nn.Module:
    """Reflection-padded k x k convolution; ``separable``: depthwise (multiplier 4) then pointwise (seed 000)."""
    pad = nn.ReflectionPad2d(k // 2)
    if not separable:
        return nn.Sequential(pad, nn.Conv2d(cin, cout, k, stride))
    return nn.Sequential(pad, nn.Conv2d(cin, 4 * cin, k, stride, groups=cin), nn.Conv2d(4 * cin, cout, 1))


def icnr_(conv_seq: nn.Module, scale: int = 2) -> None:
    """ICNR initialisation of a convolution followed by ``PixelShuffle(scale)`` (Aitken et al. 2017, "Checkerboard
    artifact free sub-pixel convolution"): the ``scale**2`` filters that feed one output channel start equal, so
    the sub-pixel layer starts as nearest-neighbour upsampling and not with a checkerboard."""
    layer = [m for m in conv_seq.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        cout = layer.out_channels // scale**2
        layer.weight.copy_(layer.weight[:cout].repeat_interleave(scale**2, dim=0))
        if layer.bias is not None:
            layer.bias.copy_(layer.bias[:cout].repeat_interleave(scale**2, dim=0))


class ConvBlock(nn.Sequential):
    """conv -> norm -> ReLU (the building block of Johnson et al.)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, norm: str, separable: bool = False) -> None:
        super().__init__(conv(cin, cout, k, stride, separable), _norm(norm, cout), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + norm(conv(relu(norm(conv(x))))) (Johnson et al., after He et al.)."""

    def __init__(self, ch: int, norm: str, separable: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBlock(ch, ch, 3, 1, norm, separable), conv(ch, ch, 3, 1, separable),
                                  _norm(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """x2 upsampling then conv -> norm -> ReLU.

    ``transposed``: a stride-2 transposed 3x3 conv (Johnson et al.; separable: depthwise transposed + 1x1);
    ``nearest``: nearest-neighbour x2 then a 3x3 conv; ``nearest+bilinear``: both upsamplings concatenated, then a
    3x3 conv (seed 000)."""

    def __init__(self, cin: int, cout: int, mode: str, norm: str, separable: bool) -> None:
        super().__init__()
        self.mode = mode
        if mode == "transposed":
            if separable:
                self.conv = nn.Sequential(
                    nn.ConvTranspose2d(cin, 4 * cin, 3, 2, padding=1, output_padding=1, groups=cin),
                    nn.Conv2d(4 * cin, cout, 1))
            else:
                self.conv = nn.ConvTranspose2d(cin, cout, 3, 2, padding=1, output_padding=1)
        elif mode == "nearest":
            self.conv = conv(cin, cout, 3, 1, separable)
        elif mode == "nearest+bilinear":
            self.conv = conv(2 * cin, cout, 3, 1, separable)
        else:
            raise PainterlyError(f"unknown upsampling '{mode}'")
        self.post = nn.Sequential(_norm(norm, cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        elif self.mode == "nearest+bilinear":
            x = torch.cat([nn.functional.interpolate(x, scale_factor=2, mode="nearest"),
                           nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)], 1)
        return self.post(self.conv(x))


class TransformNet(nn.Module):
    """Encoder (9x9, two stride-2), residual blocks, decoder (two x2 upsamplings, 9x9), output in [0, 1].

    Inputs of any size: they are edge-padded to a multiple of 4 and the output is cropped back."""

    def __init__(self, arch: str, norm: str = "instance", width: int = 32, blocks: int = 5,
                 separable: bool = False, upsample: str = "transposed") -> None:
        super().__init__()
        self.arch = arch
        self.settings = dict(norm=norm, width=width, blocks=blocks)
        w, s = width, separable
        self.encoder = nn.Sequential(ConvBlock(3, w, 9, 1, norm, s), ConvBlock(w, 2 * w, 3, 2, norm, s),
                                     ConvBlock(2 * w, 4 * w, 3, 2, norm, s))
        self.residuals = nn.Sequential(*[Residual(4 * w, norm, s) for _ in range(blocks)])
        self.decoder = nn.Sequential(Upsample(4 * w, 2 * w, upsample, norm, s), Upsample(2 * w, w, upsample, norm, s),
                                     conv(w, 3, 9, 1, s))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # to a multiple of 4 (cropped off again); unconditional, so an exported graph handles every size
        x = nn.functional.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
        y = self.decoder(self.residuals(self.encoder(x - 0.5)))
        y = (torch.tanh(y) + 1) / 2  # seed 001: a tanh output, mapped to [0, 1]
        return y[..., :h, :w]


@NETWORKS.register("johnson")
def johnson(norm: str = "instance", width: int = 32, blocks: int = 5) -> TransformNet:
    """Johnson et al. (2016)."""
    return TransformNet("johnson", norm, width, blocks)


@NETWORKS.register("depsep")
def depsep(norm: str = "instance", width: int = 32, blocks: int = 5) -> TransformNet:
    """Seed 000's DepSep: Johnson et al. with depthwise-separable convolutions (multiplier 4)."""
    return TransformNet("depsep", norm, width, blocks, separable=True, upsample="transposed")


@NETWORKS.register("depsep-nn")
def depsep_nn(norm: str = "instance", width: int = 32, blocks: int = 5) -> TransformNet:
    """Seed 000's DepSep-NN: DepSep with nearest-neighbour upsampling + conv instead of transposed convs."""
    return TransformNet("depsep-nn", norm, width, blocks, separable=True, upsample="nearest")


@NETWORKS.register("depsep-nn-bil")
def depsep_nn_bil(norm: str = "instance", width: int = 32, blocks: int = 5) -> TransformNet:
    """Seed 000's DepSep-NN-Bil: DepSep upsampling by concatenated nearest-neighbour and bilinear upsampling."""
    return TransformNet("depsep-nn-bil", norm, width, blocks, separable=True, upsample="nearest+bilinear")


class FastNet(nn.Module):
    """painterly's own architecture (not from the documents), designed from the profile of the others on a CPU
    (benchmarks/RESULTS.md): no convolution or normalisation at full resolution (the image is folded into
    channels by pixel-unshuffle and unfolded by pixel-shuffle: lossless and nearly free), the residual blocks at
    1/8 resolution with ``4 * width`` channels, dense 3x3 convolutions only (depthwise ones run far below peak here),
    sub-pixel upsampling (ICNR-initialised) instead of transposed convolutions, instance normalisation except at the ends, additive
    skips from the 1/2- and 1/4-resolution encoder stages to the decoder.
    About 5 GMAC at 512x512 against Johnson et al.'s 33."""

    def __init__(self, norm: str = "instance", width: int = 24, blocks: int = 4) -> None:
        super().__init__()
        self.arch = "fast"
        self.settings = dict(norm=norm, width=width, blocks=blocks)
        w = width
        self.down1 = nn.Sequential(nn.PixelUnshuffle(2), ConvBlock(12, w, 3, 1, norm))  # 1/2 resolution
        self.down2 = ConvBlock(w, 2 * w, 3, 2, norm)  # 1/4
        self.down3 = ConvBlock(2 * w, 4 * w, 3, 2, norm)  # 1/8
        self.residuals = nn.Sequential(*[Residual(4 * w, norm) for _ in range(blocks)])
        self.up1 = nn.Sequential(conv(4 * w, 4 * 2 * w, 3), nn.PixelShuffle(2), _norm(norm, 2 * w),
                                 nn.ReLU(inplace=True))  # 1/4
        self.up2 = nn.Sequential(conv(2 * w, 4 * w, 3), nn.PixelShuffle(2), _norm(norm, w), nn.ReLU(inplace=True))
        self.out = nn.Sequential(conv(w, 12, 3), nn.PixelShuffle(2))  # full resolution, 3 channels
        for up in (self.up1, self.up2, self.out):
            icnr_(up[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # to a multiple of 16 (cropped off again); unconditional, so an exported graph handles every size
        x = nn.functional.pad(x, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
        e1 = self.down1(x - 0.5)
        e2 = self.down2(e1)
        y = self.residuals(self.down3(e2))
        y = self.up2(self.up1(y) + e2) + e1  # additive skips keep the photo's detail (U-Net-like)
        return ((torch.tanh(self.out(y)) + 1) / 2)[..., :h, :w]


@NETWORKS.register("fast")
def fast(norm: str = "instance", width: int = 24, blocks: int = 4) -> FastNet:
    """painterly's own fast network (see :class:`FastNet`)."""
    return FastNet(norm, width, blocks)


def create_network(arch: str, **settings: Any) -> nn.Module:
    """Build architecture ``arch`` with ``settings`` (as stored in a checkpoint)."""
    return NETWORKS.get(arch)(**settings)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def multiply_adds(net: nn.Module, height: int = 512, width: int = 512) -> int:
    """Multiply-adds of the convolutions (incl. transposed and 1x1) for one image of ``height x width``."""
    total = 0

    def hook(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1]
        if isinstance(m, nn.ConvTranspose2d):  # every input position meets every kernel tap
            total += inp[0].shape[-2] * inp[0].shape[-1] * m.in_channels * (m.out_channels // m.groups) * k
        else:
            total += out.shape[-2] * out.shape[-1] * m.out_channels * (m.in_channels // m.groups) * k

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, height, width))
    finally:
        for h in hooks:
            h.remove()
    return total


@torch.no_grad()
def _fold_separable(dw: nn.Module, pw: nn.Conv2d) -> nn.Module:
    """One dense convolution equal to depthwise ``dw`` (channel multiplier m) followed by 1x1 ``pw`` (no
    nonlinearity between them): ``W[o, c] = sum_m P[o, m*c + i] * D[m*c + i]``; the biases compose likewise."""
    cin, mult = dw.groups, dw.out_channels // dw.groups
    p = pw.weight[:, :, 0, 0]  # (cout, cin*mult)
    cout = p.shape[0]
    if isinstance(dw, nn.ConvTranspose2d):  # weight (cin, mult, k, k)
        d = dw.weight.reshape(cin, mult, *dw.kernel_size)
        w = torch.einsum("cmhw,ocm->cohw", d, p.reshape(cout, cin, mult))
        dense: nn.Module = nn.ConvTranspose2d(cin, cout, dw.kernel_size, dw.stride, dw.padding, dw.output_padding)
    else:  # weight (cin*mult, 1, k, k)
        d = dw.weight.reshape(cin, mult, *dw.kernel_size)
        w = torch.einsum("cmhw,ocm->ochw", d, p.reshape(cout, cin, mult))
        dense = nn.Conv2d(cin, cout, dw.kernel_size, dw.stride, dw.padding)
    dense.weight.copy_(w)
    dense.bias.copy_(pw.bias + p @ dw.bias)
    return dense


def for_inference(net: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The same function, arranged for speed on this hardware: every depthwise-separable pair folded into one
    dense convolution (depthwise kernels run far below the machine's peak; the folded layer computes the same sums),
    weights in ``dtype`` and channels-last, eval mode, no gradients.  The input must be in ``dtype`` too."""
    import copy

    net = copy.deepcopy(net).eval().requires_grad_(False)
    for mod in list(net.modules()):
        if not isinstance(mod, nn.Sequential):
            continue
        kids = list(mod)
        for i in range(len(kids) - 1):
            a, b = kids[i], kids[i + 1]
            if (isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and a.groups > 1 and a.groups == a.in_channels
                    and isinstance(b, nn.Conv2d) and b.kernel_size == (1, 1) and b.groups == 1):
                mod[i] = _fold_separable(a, b)
                mod[i + 1] = nn.Identity()
    return net.to(dtype=dtype, memory_format=torch.channels_last)
