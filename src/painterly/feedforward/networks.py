"""Feed-forward style networks ("image transformation networks") behind one registry.

``johnson``: Johnson, Alahi & Fei-Fei (2016), "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution": 9x9 conv, two stride-2 convs, 5 residual blocks, two stride-2 transposed convs, 9x9 conv out;
instance normalisation (Ulyanov et al. 2016) by default, batch normalisation as an option; reflection padding.

``depsep``, ``depsep-nn``, ``depsep-nn-bil``: Pandey, Karmakar & Ramakrishnan (2018), "Computationally Efficient
Approaches for Image Style Transfer": every convolution becomes a depthwise-separable one (a depthwise
k x k conv with channel multiplier 4, then a 1x1 conv), normalised after each; ``-nn`` upsamples by nearest
neighbour + conv instead of transposed convs, ``-nn-bil`` by the concatenation of nearest-neighbour and bilinear
upsampling + conv.

Every network maps RGB in [0, 1] (any height and width) to RGB in [0, 1] of the same size.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from ..errors import PainterlyError
from ..registry import Registry
from ..runtime import channels_last

#: name -> factory(**settings) -> nn.Module; settings are stored in checkpoints
NETWORKS: Registry[Callable[..., StyleNet]] = Registry("architecture")


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


class ConditionalInstanceNorm(nn.Module):
    """Conditional instance normalisation (Dumoulin, Shlens & Kudlur 2017, "A Learned Representation for Artistic
    Style"): instance normalisation whose scale and shift belong to a painting, row ``i`` of ``weight`` and
    ``bias`` to painting ``i``; every other weight of the network is shared by all paintings.  ``mix`` (B, styles)
    says which painting each image of the batch takes, a one-hot row for one painting or a convex combination
    of rows for a blend; the network sets it before each call (:meth:`StyleNet.forward`)."""

    def __init__(self, channels: int, styles: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(styles, channels))
        self.bias = nn.Parameter(torch.zeros(styles, channels))
        self.eps = 1e-5
        self.mix: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mix is None:
            raise PainterlyError("a conditional network needs a painting: call it with style=...")
        mix = self.mix.to(self.weight.dtype)
        w, b = (mix @ self.weight)[..., None, None], (mix @ self.bias)[..., None, None]
        return nn.functional.instance_norm(x, eps=self.eps) * w.to(x.dtype) + b.to(x.dtype)

    @torch.no_grad()
    def fixed(self, mix: torch.Tensor) -> InstanceNorm:
        """Plain instance normalisation with the scale and shift of painting mix ``mix`` (styles,): the same
        function for that painting, at no cost per call."""
        norm = InstanceNorm(self.weight.shape[1]).to(self.weight.device)
        mix = mix.to(self.weight)
        norm.weight.copy_(mix @ self.weight)
        norm.bias.copy_(mix @ self.bias)
        norm.eps = self.eps
        return norm


def _norm(kind: str, channels: int, styles: int = 1) -> nn.Module:
    if kind == "instance":
        return InstanceNorm(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "conditional":
        return ConditionalInstanceNorm(channels, styles)
    raise PainterlyError(f"unknown normalisation '{kind}' (choices: {', '.join(NORMS)})")


#: the normalisations every network takes
NORMS = ("instance", "batch", "conditional")


class StyleNet(nn.Module):
    """What every network here shares: ``net(x)`` for a network of one painting; ``net(x, style)`` for a
    conditional one (:class:`ConditionalInstanceNorm`), ``style`` (B,) painting indices or (B, styles) mixing
    weights; :meth:`for_style` fixes a painting (or blend) and gives back a plain network of that painting."""

    arch: str
    settings: dict[str, Any]

    @property
    def styles(self) -> int:
        """How many paintings the network holds (1 unless conditional)."""
        return int(self.settings.get("styles", 1)) if self.settings.get("norm") == "conditional" else 1

    def _conditioned(self) -> list[ConditionalInstanceNorm]:
        return [m for m in self.modules() if isinstance(m, ConditionalInstanceNorm)]

    def _set_style(self, x: torch.Tensor, style: Optional[torch.Tensor]) -> None:
        norms = self._conditioned()
        if not norms:
            return
        if style is None:
            raise PainterlyError("this network holds several paintings: say which (style=...)")
        if style.dim() == 1:  # indices
            style = nn.functional.one_hot(style.long(), self.styles).float()
        style = style.to(x.device).float().expand(x.shape[0], -1)
        for m in norms:
            m.mix = style

    @torch.no_grad()
    def for_style(self, mix: torch.Tensor) -> StyleNet:
        """A copy that paints with painting mix ``mix`` (styles,) (one-hot: one painting), with plain instance
        normalisation: the same pictures as ``self(x, mix)``, as fast as a network of one painting."""
        import copy

        net = copy.deepcopy(self)
        for mod in list(net.modules()):
            for child_name, child in list(mod.named_children()):
                if isinstance(child, ConditionalInstanceNorm):
                    setattr(mod, child_name, child.fixed(mix))
        net.settings = {**net.settings, "norm": "instance"}
        net.settings.pop("styles", None)
        return net


def conv(cin: int, cout: int, k: int, stride: int = 1, separable: bool = False) -> nn.Module:
    """Reflection-padded k x k convolution; ``separable``: depthwise (multiplier 4) then pointwise (Pandey et al.
    2018)."""
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

    def __init__(
        self, cin: int, cout: int, k: int, stride: int, norm: str, separable: bool = False, styles: int = 1
    ) -> None:
        super().__init__(conv(cin, cout, k, stride, separable), _norm(norm, cout, styles), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + norm(conv(relu(norm(conv(x))))) (Johnson et al., after He et al.)."""

    def __init__(self, ch: int, norm: str, separable: bool = False, styles: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBlock(ch, ch, 3, 1, norm, separable, styles), conv(ch, ch, 3, 1, separable), _norm(norm, ch, styles)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """x2 upsampling then conv -> norm -> ReLU.

    ``transposed``: a stride-2 transposed 3x3 conv (Johnson et al.; separable: depthwise transposed + 1x1);
    ``nearest``: nearest-neighbour x2 then a 3x3 conv; ``nearest+bilinear``: both upsamplings concatenated, then a
    3x3 conv (Pandey et al. 2018)."""

    def __init__(self, cin: int, cout: int, mode: str, norm: str, separable: bool, styles: int = 1) -> None:
        super().__init__()
        self.mode = mode
        self.conv: nn.Module
        if mode == "transposed":
            if separable:
                self.conv = nn.Sequential(
                    nn.ConvTranspose2d(cin, 4 * cin, 3, 2, padding=1, output_padding=1, groups=cin),
                    nn.Conv2d(4 * cin, cout, 1),
                )
            else:
                self.conv = nn.ConvTranspose2d(cin, cout, 3, 2, padding=1, output_padding=1)
        elif mode == "nearest":
            self.conv = conv(cin, cout, 3, 1, separable)
        elif mode == "nearest+bilinear":
            self.conv = conv(2 * cin, cout, 3, 1, separable)
        else:
            raise PainterlyError(f"unknown upsampling '{mode}'")
        self.post = nn.Sequential(_norm(norm, cout, styles), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        elif self.mode == "nearest+bilinear":
            x = torch.cat(
                [
                    nn.functional.interpolate(x, scale_factor=2, mode="nearest"),
                    nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
                ],
                1,
            )
        return self.post(self.conv(x))


class TransformNet(StyleNet):
    """Encoder (9x9, two stride-2), residual blocks, decoder (two x2 upsamplings, 9x9), output in [0, 1].

    Inputs of any size: they are edge-padded to a multiple of 4 and the output is cropped back."""

    def __init__(
        self,
        arch: str,
        norm: str = "instance",
        width: int = 32,
        blocks: int = 5,
        separable: bool = False,
        upsample: str = "transposed",
        styles: int = 1,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.settings = dict(norm=norm, width=width, blocks=blocks)
        if norm == "conditional":
            self.settings["styles"] = styles
        w, s, n = width, separable, styles
        self.encoder = nn.Sequential(
            ConvBlock(3, w, 9, 1, norm, s, n),
            ConvBlock(w, 2 * w, 3, 2, norm, s, n),
            ConvBlock(2 * w, 4 * w, 3, 2, norm, s, n),
        )
        self.residuals = nn.Sequential(*[Residual(4 * w, norm, s, n) for _ in range(blocks)])
        self.decoder = nn.Sequential(
            Upsample(4 * w, 2 * w, upsample, norm, s, n), Upsample(2 * w, w, upsample, norm, s, n), conv(w, 3, 9, 1, s)
        )

    def forward(self, x: torch.Tensor, style: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._set_style(x, style)
        h, w = x.shape[-2:]
        # to a multiple of 4 (cropped off again); unconditional, so an exported graph handles every size
        x = nn.functional.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
        y = self.decoder(self.residuals(self.encoder(x - 0.5)))
        y = (torch.tanh(y) + 1) / 2  # a tanh output (Johnson et al. 2016), mapped to [0, 1]
        return y[..., :h, :w]


@NETWORKS.register("johnson")
def johnson(norm: str = "instance", width: int = 32, blocks: int = 5, styles: int = 1) -> TransformNet:
    """Johnson et al. (2016)."""
    return TransformNet("johnson", norm, width, blocks, styles=styles)


@NETWORKS.register("johnson-nn")
def johnson_nn(norm: str = "instance", width: int = 32, blocks: int = 5, styles: int = 1) -> TransformNet:
    """Johnson et al. (2016) with nearest-neighbour upsampling + 3x3 conv in place of the transposed convs, as
    Dumoulin et al. (2017) trained it: no checkerboard (Odena et al. 2016, "Deconvolution and Checkerboard
    Artifacts")."""
    return TransformNet("johnson-nn", norm, width, blocks, upsample="nearest", styles=styles)


@NETWORKS.register("depsep")
def depsep(norm: str = "instance", width: int = 32, blocks: int = 5, styles: int = 1) -> TransformNet:
    """Pandey et al. (2018)'s DepSep: Johnson et al. with depthwise-separable convolutions (multiplier 4)."""
    return TransformNet("depsep", norm, width, blocks, separable=True, upsample="transposed", styles=styles)


@NETWORKS.register("depsep-nn")
def depsep_nn(norm: str = "instance", width: int = 32, blocks: int = 5, styles: int = 1) -> TransformNet:
    """Pandey et al. (2018)'s DepSep-NN: DepSep with nearest-neighbour upsampling + conv instead of transposed
    convs."""
    return TransformNet("depsep-nn", norm, width, blocks, separable=True, upsample="nearest", styles=styles)


@NETWORKS.register("depsep-nn-bil")
def depsep_nn_bil(norm: str = "instance", width: int = 32, blocks: int = 5, styles: int = 1) -> TransformNet:
    """Pandey et al. (2018)'s DepSep-NN-Bil: DepSep upsampling by concatenated nearest-neighbour and bilinear
    upsampling."""
    return TransformNet(
        "depsep-nn-bil", norm, width, blocks, separable=True, upsample="nearest+bilinear", styles=styles
    )


class FastNet(StyleNet):
    """painterly's own architecture (not from the documents), designed from the profile of the others on a CPU
    (benchmarks/RESULTS.md): no convolution or normalisation at full resolution (the image is folded into
    channels by pixel-unshuffle and unfolded by pixel-shuffle: lossless and nearly free), the residual blocks at
    1/8 resolution with ``4 * width`` channels, dense 3x3 convolutions only (depthwise ones run far below peak
    here), sub-pixel upsampling (ICNR-initialised) instead of transposed convolutions, instance normalisation
    except at the ends.  ``skips``: additive skips from the 1/2- and 1/4-resolution encoder stages to the decoder
    (U-Net-like; they carry the photo's fine detail straight to the output, so the picture stays the photo under a
    fine texture: off in the ``realtime`` network).  About 5 GMAC at 512x512 against Johnson et al.'s 33.

    ``noise``: channels of Gaussian noise given to the network beside the photo at 1/2 resolution (Ulyanov et al.
    2016, "Texture Networks"): in a flat area a network whose stages stride by 2 can only paint a pattern periodic
    with its total stride (8 px), and noise gives it something non-periodic to paint strokes from.  Fresh noise
    every training step; at inference a fixed field (:func:`noise_field`), so a picture and every frame of a
    video are painted alike."""

    def __init__(
        self,
        norm: str = "instance",
        width: int = 24,
        blocks: int = 4,
        skips: bool = True,
        styles: int = 1,
        arch: str = "fast",
        upsample: str = "shuffle",
        noise: int = 0,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.settings = dict(norm=norm, width=width, blocks=blocks)
        if norm == "conditional":
            self.settings["styles"] = styles
        if noise:
            self.settings["noise"] = noise
        self.skips, self.noise = skips, noise
        if noise:  # not saved: the same seed makes it anew
            self.register_buffer("field", noise_field(noise, NOISE_TILE, NOISE_TILE), persistent=False)
        w, n = width, styles
        # 1/2 resolution (the photo folded into 12 channels, then the noise beside it)
        self.down1 = nn.Sequential(nn.PixelUnshuffle(2), ConvBlock(12 + noise, w, 3, 1, norm, styles=n))
        self.down2 = ConvBlock(w, 2 * w, 3, 2, norm, styles=n)  # 1/4
        self.down3 = ConvBlock(2 * w, 4 * w, 3, 2, norm, styles=n)  # 1/8
        self.residuals = nn.Sequential(*[Residual(4 * w, norm, styles=n) for _ in range(blocks)])
        if upsample == "shuffle":  # sub-pixel convolutions, ICNR-initialised
            self.up1 = nn.Sequential(
                conv(4 * w, 4 * 2 * w, 3), nn.PixelShuffle(2), _norm(norm, 2 * w, n), nn.ReLU(inplace=True)
            )  # 1/4
            self.up2 = nn.Sequential(
                conv(2 * w, 4 * w, 3), nn.PixelShuffle(2), _norm(norm, w, n), nn.ReLU(inplace=True)
            )
            self.out = nn.Sequential(conv(w, 12, 3), nn.PixelShuffle(2))  # full resolution, 3 channels
            for up in (self.up1, self.up2, self.out):
                icnr_(up[0])
        elif upsample == "nearest":
            # nearest-neighbour x2 then a 3x3 conv at the two inner stages: the same multiply-adds as sub-pixel
            # convolutions, no position-dependent filters, so no motif repeated every 4 or 8 pixels (Odena et al.
            # 2016); the last step stays sub-pixel (a full-resolution conv costs a quarter of the frame rate), its
            # 2-pixel period held down by the total-variation loss
            def upsample2() -> nn.Module:
                return nn.Upsample(scale_factor=2, mode="nearest")

            self.up1 = nn.Sequential(upsample2(), conv(4 * w, 2 * w, 3), _norm(norm, 2 * w, n), nn.ReLU(inplace=True))
            self.up2 = nn.Sequential(upsample2(), conv(2 * w, w, 3), _norm(norm, w, n), nn.ReLU(inplace=True))
            self.out = nn.Sequential(conv(w, 12, 3), nn.PixelShuffle(2))
            icnr_(self.out[0])
        elif upsample == "bilinear":
            # bilinear x2 then a 3x3 conv at every stage, the last one at full resolution: no stage paints blocks
            # of 2x2 pixels, so strokes come out smooth rather than stair-stepped (Odena et al. 2016)
            def bilinear2() -> nn.Module:
                return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

            self.up1 = nn.Sequential(bilinear2(), conv(4 * w, 2 * w, 3), _norm(norm, 2 * w, n), nn.ReLU(inplace=True))
            self.up2 = nn.Sequential(bilinear2(), conv(2 * w, w, 3), _norm(norm, w, n), nn.ReLU(inplace=True))
            self.out = nn.Sequential(bilinear2(), conv(w, 3, 3))
        else:
            raise PainterlyError(f"unknown upsampling '{upsample}' (choices: shuffle, nearest, bilinear)")

    def forward(self, x: torch.Tensor, style: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._set_style(x, style)
        h, w = x.shape[-2:]
        # to a multiple of 16 (cropped off again); unconditional, so an exported graph handles every size
        x = nn.functional.pad(x, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
        x = self.down1[0](x - 0.5)
        if self.noise:
            b, _, hh, ww = x.shape
            if self.training:
                z = torch.randn(b, self.noise, hh, ww, device=x.device, dtype=x.dtype)
            else:  # the fixed field, repeated every NOISE_TILE px at 1/2 resolution (in one graph for every size)
                field: torch.Tensor = self.field  # type: ignore[assignment]
                t = NOISE_TILE
                z = field.to(x.dtype).repeat(1, 1, hh // t + 1, ww // t + 1)[..., :hh, :ww].expand(b, -1, -1, -1)
            x = torch.cat([x, z], 1)
        e1 = self.down1[1](x)
        e2 = self.down2(e1)
        y = self.residuals(self.down3(e2))
        if self.skips:
            y = self.up2(self.up1(y) + e2) + e1
        else:
            y = self.up2(self.up1(y))
        return ((torch.tanh(self.out(y)) + 1) / 2)[..., :h, :w]


#: side of the fixed noise field at 1/2 resolution (it repeats every 1,024 px of the picture)
NOISE_TILE = 512


def noise_field(channels: int, height: int, width: int) -> torch.Tensor:
    """The fixed noise a :class:`FastNet` paints from at inference: (1, channels, height, width) standard normal
    values from a fixed seed, the same for every picture and every frame."""
    g = torch.Generator().manual_seed(20161)
    return torch.randn(1, channels, height, width, generator=g)


@NETWORKS.register("fast")
def fast(norm: str = "instance", width: int = 24, blocks: int = 4, styles: int = 1, noise: int = 0) -> FastNet:
    """painterly's own fast network with skips (see :class:`FastNet`)."""
    return FastNet(norm, width, blocks, skips=True, styles=styles, noise=noise)


@NETWORKS.register("realtime-nn")
def realtime_nn(norm: str = "instance", width: int = 24, blocks: int = 4, styles: int = 1, noise: int = 0) -> FastNet:
    """``realtime`` upsampling by nearest neighbour + 3x3 conv in place of the inner sub-pixel convolutions: the
    network the shipped paintings use (docs/feedforward_ab_400.jpg)."""
    return FastNet(norm, width, blocks, False, styles, "realtime-nn", "nearest", noise)


@NETWORKS.register("realtime-bil")
def realtime_bil(norm: str = "instance", width: int = 24, blocks: int = 4, styles: int = 1, noise: int = 0) -> FastNet:
    """``realtime`` with bilinear upsampling and a 3x3 conv at every stage, the last at full resolution: smooth
    strokes, no 2x2 blocks, at the cost of one full-resolution layer."""
    return FastNet(norm, width, blocks, False, styles, "realtime-bil", "bilinear", noise)


@NETWORKS.register("realtime")
def realtime(norm: str = "instance", width: int = 24, blocks: int = 4, styles: int = 1, noise: int = 0) -> FastNet:
    """:class:`FastNet` without the skips: the network paints the whole picture anew rather than laying a texture
    over the photo's detail."""
    return FastNet(norm, width, blocks, skips=False, styles=styles, arch="realtime", noise=noise)


def create_network(arch: str, **settings: Any) -> StyleNet:
    """Build architecture ``arch`` with ``settings`` (as stored in a checkpoint); one line for a setting the
    architecture does not have."""
    factory = NETWORKS.get(arch)
    unknown = sorted(set(settings) - set(inspect.signature(factory).parameters))
    if unknown:
        raise PainterlyError(f"the {arch} network has no setting {', '.join(unknown)}")
    return factory(**settings)


def network_from_checkpoint(ckpt: dict[str, Any], path: Union[str, Path] = "") -> StyleNet:
    """The network a checkpoint holds, in eval mode without gradients; one line if the weights do not fit."""
    net = create_network(ckpt["arch"], **ckpt.get("settings", {}))
    try:
        net.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise PainterlyError(
            f"model '{path}' does not fit architecture {ckpt.get('arch')}: {str(e).splitlines()[0][:160]}"
        ) from None
    return net.eval().requires_grad_(False)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def multiply_adds(net: nn.Module, height: int = 512, width: int = 512) -> int:
    """Multiply-adds of the convolutions (incl. transposed and 1x1) for one image of ``height x width``."""
    total = 0

    def hook(m: Any, inp: tuple, out: torch.Tensor) -> None:
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
def _fold_separable(dw: Any, pw: Any) -> nn.Module:
    """One dense convolution equal to depthwise ``dw`` (channel multiplier m) followed by 1x1 ``pw`` (no
    nonlinearity between them): ``W[o, c] = sum_m P[o, m*c + i] * D[m*c + i]``; the biases compose likewise."""
    cin, mult = dw.groups, dw.out_channels // dw.groups
    p = pw.weight[:, :, 0, 0]  # (cout, cin*mult)
    cout = p.shape[0]
    if isinstance(dw, nn.ConvTranspose2d):  # weight (cin, mult, k, k)
        d = dw.weight.reshape(cin, mult, *dw.kernel_size)
        w = torch.einsum("cmhw,ocm->cohw", d, p.reshape(cout, cin, mult))
        dense: Any = nn.ConvTranspose2d(cin, cout, dw.kernel_size, dw.stride, dw.padding, dw.output_padding)  # type: ignore[arg-type]
    else:  # weight (cin*mult, 1, k, k)
        d = dw.weight.reshape(cin, mult, *dw.kernel_size)
        w = torch.einsum("cmhw,ocm->ochw", d, p.reshape(cout, cin, mult))
        dense = nn.Conv2d(cin, cout, dw.kernel_size, dw.stride, dw.padding)
    dense.weight.copy_(w)
    dense.bias.copy_(pw.bias + p @ dw.bias)
    return dense


class NearestUpConv(nn.Module):
    """Nearest-neighbour x2 upsampling, reflection padding by 1 and a 3x3 convolution, computed as one stride-2
    transposed 4x4 convolution of the replicate-padded input: the same numbers (reflecting the upsampled picture
    by one pixel repeats its border pixel), without the upsampled copy and with 16 multiply-adds per input pixel
    and channel pair instead of 36.  Kernel tap ``a`` of the transposed convolution sums the 3x3 taps that fall on
    the same input pixel: taps {2 - a, 3 - a} within 0..2."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        taps = torch.zeros(4, 3)
        for a in range(4):
            for t in (2 - a, 3 - a):
                if 0 <= t <= 2:
                    taps[a, t] = 1
        self.up = nn.ConvTranspose2d(conv.in_channels, conv.out_channels, 4, 2, padding=3, bias=conv.bias is not None)
        with torch.no_grad():
            taps = taps.to(conv.weight)
            self.up.weight.copy_(torch.einsum("at,bu,oitu->ioab", taps, taps, conv.weight))
            if conv.bias is not None and self.up.bias is not None:
                self.up.bias.copy_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"))


def _padded_conv3(m: nn.Module) -> Optional[nn.Conv2d]:
    """The convolution of ``conv(cin, cout, 3)`` (reflection pad 1, dense 3x3, stride 1), else None."""
    parts = [k for k in m.children() if not isinstance(k, nn.Identity)] if isinstance(m, nn.Sequential) else []
    if len(parts) == 2 and isinstance(parts[0], nn.ReflectionPad2d):
        c = parts[1]
        if isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3) and c.stride == (1, 1) and c.groups == 1:
            if tuple(parts[0].padding) == (1, 1, 1, 1):
                return c
    return None


def for_inference(net: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The same function, arranged for speed on this hardware: every depthwise-separable pair folded into one
    dense convolution (depthwise kernels run far below the machine's peak; the folded layer computes the same sums),
    every nearest-neighbour upsampling and the 3x3 convolution after it folded into one transposed convolution
    (:class:`NearestUpConv`), weights in ``dtype`` and channels-last, eval mode, no gradients.  The input must be
    in ``dtype`` too."""
    import copy

    net = copy.deepcopy(net).eval().requires_grad_(False)
    for mod in list(net.modules()):
        if not isinstance(mod, nn.Sequential):
            continue
        kids = list(mod)
        for i in range(len(kids) - 1):
            a, b = kids[i], kids[i + 1]
            if (
                isinstance(a, (nn.Conv2d, nn.ConvTranspose2d))
                and a.groups > 1
                and a.groups == a.in_channels
                and isinstance(b, nn.Conv2d)
                and b.kernel_size == (1, 1)
                and b.groups == 1
            ):
                mod[i] = _fold_separable(a, b)
                mod[i + 1] = nn.Identity()
    for mod in list(net.modules()):
        if isinstance(mod, nn.Sequential):  # FastNet's nearest stages: Upsample, conv(cin, cout, 3), ...
            kids = list(mod)
            for i in range(len(kids) - 1):
                a, c = kids[i], _padded_conv3(kids[i + 1])
                if isinstance(a, nn.Upsample) and a.mode == "nearest" and a.scale_factor in (2, 2.0) and c:
                    mod[i], mod[i + 1] = nn.Identity(), NearestUpConv(c)
        elif isinstance(mod, Upsample) and mod.mode == "nearest" and (c := _padded_conv3(mod.conv)):
            mod.mode, mod.conv = "folded", NearestUpConv(c)  # its forward then upsamples no more
    return channels_last(net, dtype)
