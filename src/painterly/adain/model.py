"""Arbitrary style transfer in one pass: AdaIN (Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time
with Adaptive Instance Normalization").

An encoder (the bundled VGG19 up to relu4_1, the same network as everywhere in painterly) maps the photo and the
painting to features; adaptive instance normalisation gives the photo's features the painting's per-channel mean
and standard deviation (eq. 8); a decoder, trained by :func:`painterly.adain.train.train_adain`, maps them back
to an image.  ``alpha`` blends the transformed features with the photo's own (sec. 7.1), several paintings
blend by their statistics (sec. 7.2), and a mask gives each painting its region.

``method="wct"`` swaps the transform for the whitening-colouring transform of Li et al. (2017, "Universal
Style Transfer via Feature Transforms") at relu4_1, which matches the full covariance and not just the
variances, through the same decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import torch
from PIL import Image
from torch import nn

from ..backbones import Backbone
from ..checkpoint import ADAIN_FORMAT, for_distribution, load_checkpoint, save_checkpoint
from ..config import AdainConfig, make_config
from ..errors import PainterlyError
from ..images import ImageLike, load_image, mask_regions, resize_long_side, scaled_size, to_pil, to_tensor
from ..media.frames import FrameStylizer
from ..memory import oom_guard
from ..runtime import channels_last, resolve_device, resolve_precision
from ..shipped import ADAIN_DECODERS, WCT_DECODERS
from .ops import (
    ENCODER_LAYER,
    ENCODERS,
    METHODS,
    STRIDES,
    VGG19_CHANNELS,
    WCT_LEVELS,
    StyleCode,
    create_encoder,
    feature_transform,
    student_encoder,
)
from .ops import wct_levels as levels_of


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)] + ([nn.ReLU(inplace=True)] if relu else [])


class Decoder(nn.Module):
    """The encoder mirrored (Huang & Belongie 2017, sec. 6): relu4_1 features (512 channels, 1/8 size) -> RGB.
    Pooling becomes nearest-neighbour upsampling, reflection padding everywhere, no normalisation layers.
    ``width`` scales every hidden layer's channels (1: the paper's decoder; 0.5 is about 4x cheaper); ``features``
    is the encoder's channels at ``layer`` (VGG19's by default, fewer for a distilled encoder).  ``layer``: a
    shallower layer (relu3_1, relu2_1, relu1_1) gives the shorter mirror of that layer, as the decoders of the
    multi-level whitening-colouring transform (Li et al. 2017, "Universal Style Transfer via Feature Transforms",
    sec. 3.2)."""

    def __init__(self, width: float = 1.0, features: Optional[int] = None, layer: str = ENCODER_LAYER) -> None:
        super().__init__()
        if layer not in VGG19_CHANNELS:
            raise PainterlyError(f"unknown decoder layer '{layer}' (choices: {', '.join(VGG19_CHANNELS)})")
        features = VGG19_CHANNELS[layer] if features is None else int(features)
        self.settings: dict[str, Any] = {"width": float(width)}
        if layer != ENCODER_LAYER:
            self.settings["layer"] = layer
        if features != VGG19_CHANNELS[layer]:  # a distilled encoder's
            self.settings["features"] = features
        c = [max(8, round(n * width)) for n in (256, 128, 64)]
        up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731

        # the mirror of VGG19 from relu4_1 down; a shallower layer's decoder is its tail (the same modules)
        def mirror(at: str, f: int) -> list[nn.Module]:
            if at == "relu4_1":
                return [*_conv(f, c[0]), up(), *_conv(c[0], c[0]), *_conv(c[0], c[0]), *_conv(c[0], c[0])] + mirror(
                    "relu3_1", c[0]
                )
            if at == "relu3_1":
                return [*_conv(f, c[1]), up(), *_conv(c[1], c[1])] + mirror("relu2_1", c[1])
            if at == "relu2_1":
                return [*_conv(f, c[2]), up(), *_conv(c[2], c[2])] + mirror("relu1_1", c[2])
            return _conv(f, 3, relu=False)

        self.layers = nn.Sequential(*mirror(layer, features))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.layers(f)


def save_decoder(path: Union[str, Path], ckpt: dict[str, Any]) -> Path:
    """Write a self-describing decoder checkpoint atomically."""
    return save_checkpoint(path, ckpt, ADAIN_FORMAT)


def load_decoder_checkpoint(path: Union[str, Path]) -> dict[str, Any]:
    """Read a decoder checkpoint with ``weights_only=True``; one-line errors for missing or foreign files."""
    return load_checkpoint(path, ADAIN_FORMAT, "AdaIN decoder", "AdaIN decoder")


def decoder_from_checkpoint(ck: dict[str, Any], path: Union[str, Path] = "") -> Decoder:
    dec = Decoder(**ck.get("settings", {}))
    try:
        dec.load_state_dict({k: v.float() for k, v in ck["state_dict"].items()})
    except (RuntimeError, KeyError) as e:
        raise PainterlyError(f"AdaIN decoder '{path}' does not fit: {str(e).splitlines()[0][:160]}") from None
    return dec.eval().requires_grad_(False)


#: pixels of context around each tile of a large picture (a multiple of 8: the encoder's stride); the encoder's
#: and the decoder's receptive fields reach about this far
TILE_MARGIN = 64


def _spans(n: int, step: int, margin: int) -> list[tuple[int, int, int, int]]:
    """Along a side of ``n``: (start, end) of each tile's own part, and (start, end) with its margin."""
    return [(a, min(n, a + step), max(0, a - margin), min(n, a + step + margin)) for a in range(0, n, step)]


def decoder_layer(ck: dict[str, Any]) -> str:
    """The encoder layer a decoder checkpoint inverts (relu4_1, AdaIN's, where its settings do not say)."""
    return str(ck.get("settings", {}).get("layer", ENCODER_LAYER))


def encoder_name(ck: dict[str, Any]) -> str:
    """The encoder a decoder checkpoint was trained for (``vgg19`` for the first checkpoints, which do not say)."""
    name = str(ck.get("encoder", "vgg19"))
    return name if name in ENCODERS else "vgg19"


def encoder_from_checkpoint(
    ck: dict[str, Any], path: Union[str, Path], device: torch.device, dtype: torch.dtype
) -> Backbone:
    """The encoder a decoder works with: the bundled VGG19, or the distilled student whose weights the checkpoint
    holds."""
    name = encoder_name(ck)
    if name == "vgg19":
        return create_encoder(device, dtype)
    net = student_encoder(ENCODERS[name])
    try:
        net.load_state_dict({k: v.float() for k, v in ck["encoder_state"].items()})
    except (RuntimeError, KeyError) as e:
        raise PainterlyError(f"AdaIN decoder '{path}': its {name} encoder does not fit: {str(e)[:160]}") from None
    return net.eval().requires_grad_(False).to(device).set_compute(dtype, channels_last=True)


def slim_decoder(path: Union[str, Path], output: Union[str, Path], half: bool = True) -> Path:
    """The decoder for distribution: no optimiser state, weights in float16 with ``half``."""
    return save_decoder(output, for_distribution(load_decoder_checkpoint(path), half))


class AdaIN:
    """A loaded encoder-decoder: ``AdaIN()(photo, painting) -> PIL.Image``.

    ``decoder``: a checkpoint from ``painterly train-adain`` (default: the one shipped in the package).
    """

    def __init__(
        self,
        decoder: Optional[Union[str, Path]] = None,
        device: str = "auto",
        precision: str = "auto",
        encoder: str = AdainConfig.encoder,
        wct_decoders: Optional[Union[str, Path]] = None,
    ) -> None:
        if encoder not in ADAIN_DECODERS:
            raise PainterlyError(f"unknown encoder '{encoder}' (choices: {', '.join(ADAIN_DECODERS)})")
        self.path = Path(decoder) if decoder else ADAIN_DECODERS[encoder]
        if decoder is None and not self.path.is_file():
            raise PainterlyError(
                f"the shipped AdaIN decoder for {encoder} is missing from this installation; "
                "train one with 'painterly train-adain' and pass --decoder"
            )
        self.checkpoint = load_decoder_checkpoint(self.path)
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.encoder = encoder_from_checkpoint(self.checkpoint, self.path, self.device, self.dtype)
        self.decoder = channels_last(decoder_from_checkpoint(self.checkpoint, self.path), self.dtype, self.device)
        self.margin = 16  # pixels of mirror padding around the photo (see tensor)
        self.wct_paths = (
            {k: Path(wct_decoders) / v.name for k, v in WCT_DECODERS.items()} if wct_decoders else dict(WCT_DECODERS)
        )
        self._levels: dict[str, nn.Module] = {}

    def level_decoder(self, layer: str) -> nn.Module:
        """The reconstruction decoder of ``layer`` for the multi-level transform (loaded on first use)."""
        if layer not in self._levels:
            if encoder_name(self.checkpoint) != "vgg19":
                raise PainterlyError("--method multi-wct works on the vgg19 encoder (its decoders invert VGG19)")
            path = self.wct_paths[layer]
            if not path.is_file():
                raise PainterlyError(
                    f"the {layer} decoder of --method multi-wct is missing ('{path}'); "
                    f"train it with 'painterly train-adain --layer {layer}'"
                )
            ck = load_decoder_checkpoint(path)
            if decoder_layer(ck) != layer:
                raise PainterlyError(f"'{path}' is not a decoder of {layer}")
            self._levels[layer] = channels_last(decoder_from_checkpoint(ck, path), self.dtype, self.device)
        return self._levels[layer]

    @torch.inference_mode()
    def encode(self, x: torch.Tensor, layer: str = ENCODER_LAYER) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> the features of ``layer`` (relu4_1 by default; network dtype)."""
        return self.encoder(x.to(self.device), [layer])[layer]

    @torch.inference_mode()
    def code_of(self, x: torch.Tensor, levels: bool = False, tile: int = 0) -> StyleCode:
        """The statistics of one picture (1, 3, H, W); with ``levels``, of every level of the multi-level
        transform too; a picture longer than ``tile`` (if set) is encoded tile by tile."""
        layers = WCT_LEVELS if levels else (ENCODER_LAYER,)  # relu4_1 is the coarsest level
        if not tile or max(x.shape[-2:]) <= tile:
            feats = self.encoder(x.to(self.device), list(layers))
            codes = {k: StyleCode.of(feats[k]) for k in layers}
        else:
            tile = max(64, tile // 8 * 8)
            codes = {k: StyleCode.of_chunks(self.encode_tiled(x.to(self.device), tile, k)) for k in layers}
        code = codes[ENCODER_LAYER]
        code.levels = {k: v for k, v in codes.items() if k != ENCODER_LAYER}
        return code

    @torch.inference_mode()
    def style_code(
        self, style: ImageLike, size: Optional[int] = None, tile: int = 0, levels: bool = False
    ) -> StyleCode:
        """A painting's statistics, the painting scaled to long side ``size`` first (if given); a painting longer
        than ``tile`` (if set) is encoded tile by tile; ``levels`` for ``method="multi-wct"``."""
        img = load_image(style, "style image")
        if size:
            img = resize_long_side(img, size)
        return self.code_of(to_tensor(img), levels, tile)

    @torch.inference_mode()
    def decode(self, f: torch.Tensor, size: tuple[int, int], decoder: Optional[nn.Module] = None) -> torch.Tensor:
        """Features -> (B, 3, ``size``) in [0, 1], through the AdaIN decoder or ``decoder``."""
        decoder = self.decoder if decoder is None else decoder
        y = decoder(f.to(self.dtype).contiguous(memory_format=torch.channels_last)).float()
        if tuple(y.shape[-2:]) != tuple(size):  # sides not divisible by 8: the decoder's output is 8-aligned
            y = nn.functional.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y.clamp(0, 1)

    @torch.inference_mode()
    def transform(
        self,
        f: torch.Tensor,
        styles: Sequence[StyleCode],
        weights: Optional[Sequence[float]] = None,
        alpha: float = 1.0,
        method: str = "adain",
        masks: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The photo's features ``f`` given the painting(s)' statistics.  Without ``masks`` the styles blend by
        ``weights``; with ``masks`` (K, H, W) in [0, 1], one per style, each style paints its region.  Each
        picture of a batch is transformed with its own statistics."""
        return torch.cat(
            [self._transformer(StyleCode.of(x), styles, weights, alpha, method)(x, masks) for x in f.split(1)]
        )

    def _transformer(
        self,
        content: StyleCode,
        styles: Sequence[StyleCode],
        weights: Optional[Sequence[float]],
        alpha: float,
        method: str,
    ) -> Callable[[torch.Tensor, Optional[torch.Tensor]], torch.Tensor]:
        """The transform fixed by the whole photo's statistics, for the whole feature map or any part of it (with
        the masks of that part)."""
        if method not in METHODS:
            raise PainterlyError(f"unknown method '{method}' (choices: {', '.join(METHODS)})")
        blended = [StyleCode.blend(styles, weights or [1.0] * len(styles)) if len(styles) > 1 else styles[0]]
        # each with the content-style trade-off alpha (sec. 7.1) folded in; the masks' weights sum to 1, so the
        # regions' blend is alpha of their transforms plus (1 - alpha) of the features, as without masks
        each = [feature_transform(content, code, method, alpha) for code in styles]
        whole = feature_transform(content, blended[0], method, alpha)

        def apply(f: torch.Tensor, masks: Optional[torch.Tensor]) -> torch.Tensor:
            if masks is None:
                return whole(f)
            m = nn.functional.interpolate(
                masks[None].float().to(f.device), size=f.shape[-2:], mode="bilinear", align_corners=False
            )[0]
            m = m / m.sum(0, keepdim=True).clamp_min(1e-6)
            return torch.stack([m[k] * one(f) for k, one in enumerate(each)]).sum(0)

        return apply

    @torch.inference_mode()
    def encode_tiled(self, x: torch.Tensor, tile: int, layer: str = ENCODER_LAYER) -> torch.Tensor:
        """The features of ``layer`` of a large picture (1, 3, H, W; sides multiples of 8), tile by tile: each
        tile encoded with a margin of context (the encoder's receptive field) and only its own part kept, so the
        map equals the whole picture's but memory is bounded by the tile."""
        h, w = x.shape[-2:]
        s = STRIDES[layer]
        out: Optional[torch.Tensor] = None
        for y0, y1, a0, a1 in _spans(h, tile, TILE_MARGIN):
            for x0, x1, b0, b1 in _spans(w, tile, TILE_MARGIN):
                f = self.encode(x[..., a0:a1, b0:b1], layer)
                if out is None:
                    out = torch.empty(1, f.shape[1], h // s, w // s, dtype=f.dtype, device=f.device)
                oy, ox, ny, nx = (y0 - a0) // s, (x0 - b0) // s, (y1 - y0) // s, (x1 - x0) // s
                out[..., y0 // s : y1 // s, x0 // s : x1 // s] = f[..., oy : oy + ny, ox : ox + nx]
        assert out is not None
        return out

    @torch.inference_mode()
    def decode_tiled(
        self,
        f: torch.Tensor,
        apply: Callable[[torch.Tensor, Optional[torch.Tensor]], torch.Tensor],
        masks: Optional[torch.Tensor],
        size: tuple[int, int],
        tile: int,
        layer: str = ENCODER_LAYER,
        decoder: Optional[nn.Module] = None,
    ) -> torch.Tensor:
        """The picture (1, 3, ``size``) of the whole feature map ``f`` of ``layer``, transformed by ``apply`` and
        decoded tile by tile, each tile with a margin of context cut off again (no seams; memory bounded by the
        tile)."""
        s = STRIDES[layer]
        y = torch.empty(1, 3, *size, device=f.device)
        fm = TILE_MARGIN // s  # the decoder's margin, in feature positions
        for y0, y1, a0, a1 in _spans(size[0] // s, tile // s, fm):
            for x0, x1, b0, b1 in _spans(size[1] // s, tile // s, fm):
                part = masks[:, a0 * s : a1 * s, b0 * s : b1 * s] if masks is not None else None
                out = self.decode(apply(f[..., a0:a1, b0:b1], part), ((a1 - a0) * s, (b1 - b0) * s), decoder)
                y[..., y0 * s : y1 * s, x0 * s : x1 * s] = out[
                    ..., (y0 - a0) * s : (y1 - a0) * s, (x0 - b0) * s : (x1 - b0) * s
                ]
        return y

    @torch.inference_mode()
    def multi_level(
        self,
        x: torch.Tensor,
        styles: Sequence[StyleCode],
        weights: Optional[Sequence[float]] = None,
        alpha: float = 1.0,
        masks: Optional[torch.Tensor] = None,
        tile: int = 0,
        levels: int = AdainConfig.wct_levels,
    ) -> torch.Tensor:
        """The multi-level whitening-colouring transform (Li et al. 2017, sec. 3.2) of padded pictures (B, 3, H, W;
        sides multiples of 8): at each of the ``levels`` finest of relu4_1, relu3_1, relu2_1 and relu1_1 in turn,
        the picture so far is encoded, its features whitened and coloured with the painting's (``alpha`` of
        them), and decoded by that level's reconstruction decoder; coarse forms first, the finest strokes last.
        From relu4_1 (4 levels) the forms are repainted too; from relu3_1 (3) they stay the photo's."""
        size = (x.shape[-2], x.shape[-1])
        tiled = bool(tile) and max(size) > tile and x.shape[0] == 1
        tile = max(64, tile // 8 * 8)
        y = x
        for layer in levels_of(levels):
            codes = [c.at(layer) for c in styles]
            decoder = self.level_decoder(layer)
            if not tiled:
                f = self.encode(y, layer)
                y = self.decode(self.transform(f, codes, weights, alpha, "wct", masks), size, decoder)
            else:
                f = self.encode_tiled(y, tile, layer)
                apply = self._transformer(StyleCode.of_chunks(f), codes, weights, alpha, "wct")
                y = self.decode_tiled(f, apply, masks, size, tile, layer, decoder)
        return y

    @torch.inference_mode()
    def tensor(
        self,
        x: torch.Tensor,
        styles: Sequence[StyleCode],
        weights: Optional[Sequence[float]] = None,
        alpha: float = 1.0,
        method: str = "adain",
        masks: Optional[torch.Tensor] = None,
        tile: int = 0,
        levels: int = AdainConfig.wct_levels,
    ) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> stylised, same size (``levels``: of ``method="multi-wct"``).  The photo is
        mirror-padded by ``margin`` pixels (and up to a multiple of 8, the encoder's stride) and the padding cut off
        the picture, so the decoder paints no frame along the borders and no side is resampled.  A picture longer
        than ``tile`` (if set) is encoded and decoded tile by tile with one set of statistics for the whole (no
        seams; memory bounded by the tile)."""
        h, w = x.shape[-2:]
        m = self.margin
        pad = (m, m + (-(w + 2 * m)) % 8, m, m + (-(h + 2 * m)) % 8)
        mode = "reflect" if min(h, w) > max(pad) else "replicate"
        xp = nn.functional.pad(x.float().to(self.device), pad, mode=mode)
        if masks is not None:
            masks = nn.functional.pad(masks[None].float().to(self.device), pad, mode=mode)[0]
        size = (xp.shape[-2], xp.shape[-1])
        if method == "multi-wct":
            return self.multi_level(xp, styles, weights, alpha, masks, tile, levels)[..., m : m + h, m : m + w]
        if not tile or max(size) <= tile or xp.shape[0] != 1:
            y = self.decode(self.transform(self.encode(xp), styles, weights, alpha, method, masks), size)
            return y[..., m : m + h, m : m + w]
        tile = max(64, tile // 8 * 8)
        f = self.encode_tiled(xp, tile)
        apply = self._transformer(StyleCode.of_chunks(f), styles, weights, alpha, method)
        return self.decode_tiled(f, apply, masks, size, tile)[..., m : m + h, m : m + w]

    def __call__(
        self,
        content: ImageLike,
        style: Union[ImageLike, Sequence[ImageLike]],
        size: Optional[int] = 512,
        alpha: Optional[float] = None,
        weights: Optional[Sequence[float]] = None,
        method: str = "adain",
        preserve_color: bool = False,
        style_size: Optional[int] = None,
        mask: Optional[ImageLike] = None,
        tile: Optional[int] = None,
        wct_levels: Optional[int] = None,
    ) -> Image.Image:
        """Paint ``content`` like ``style`` (or several paintings, blended by ``weights`` or placed by ``mask``);
        ``alpha`` and ``tile`` default to :class:`painterly.config.AdainConfig`'s."""
        alpha = AdainConfig.alpha if alpha is None else alpha
        tile = AdainConfig.tile if tile is None else tile
        styles: list[Any] = list(style) if isinstance(style, (list, tuple)) else [style]
        photo = load_image(content, "content image")
        if size:
            photo = resize_long_side(photo, size)
        imgs = [load_image(s, "style image") for s in styles]
        if preserve_color:  # the painting recoloured to the photo's palette first (Gatys et al. 2017, sec. 3)
            from ..color import match_colors

            x = to_tensor(photo)
            imgs = [to_pil(match_colors(to_tensor(s), x)) for s in imgs]
        s_side = style_size or max(photo.size)
        if method not in METHODS:
            raise PainterlyError(f"unknown method '{method}' (choices: {', '.join(METHODS)})")
        n_levels = AdainConfig.wct_levels if wct_levels is None else wct_levels
        levels = method == "multi-wct"
        if levels:
            for layer in levels_of(n_levels):  # a missing decoder is named before any work
                self.level_decoder(layer)

        def probe(side: int) -> int:  # the same work at long side ``side``, for oom_guard's hint
            w, h = scaled_size(photo.size, side)
            x = torch.rand(1, 3, h, w)
            self.tensor(x, [self.code_of(x, levels)] * len(imgs), weights, alpha, method, tile=tile, levels=n_levels)
            return w * h

        tiled = bool(tile) and max(photo.size) > tile  # then memory is bounded by the tile, not the picture
        with oom_guard(
            f"painting {photo.width}x{photo.height}",
            max(photo.size),
            self.device,
            probe=probe,
            pixels=None if tiled else photo.width * photo.height,
        ):
            codes = [self.style_code(s, s_side, tile, levels) for s in imgs]
            masks = mask_regions(mask, len(codes), photo.size) if mask is not None else None
            return to_pil(self.tensor(to_tensor(photo), codes, weights, alpha, method, masks, tile, n_levels))


def stylize(
    content: ImageLike,
    style: ImageLike,
    cfg: Optional[AdainConfig] = None,
    model: Optional[AdaIN] = None,
    **options: Any,
) -> Image.Image:
    """Paint ``content`` like ``style`` in one pass; options as :class:`painterly.config.AdainConfig` (or ``cfg``).
    Pass ``model`` to reuse a loaded encoder-decoder across calls."""
    cfg = cfg.replace(**options) if cfg is not None else make_config(AdainConfig, options)
    model = model or AdaIN(cfg.decoder, cfg.device, cfg.precision, cfg.encoder, cfg.wct_decoders)
    return model(
        content,
        [style, *cfg.extra_style],
        size=cfg.size or None,
        alpha=cfg.alpha,
        weights=list(cfg.style_blend) or None,
        method=cfg.method,
        tile=cfg.tile,
        preserve_color=cfg.preserve_color,
        style_size=cfg.style_size,
        mask=cfg.mask,
        wct_levels=cfg.wct_levels,
    )


class AdaINStylizer(FrameStylizer):
    """AdaIN with its painting(s) fixed, shaped like :class:`painterly.feedforward.stylizer.Stylizer`
    (``.tensor``, ``.frames``, calling it) so video, folders and the webcam take it as a model:
    ``adain:PAINTING.jpg``.  ``style_size``: the painting's long side when its statistics are taken (fixed, since
    frames come at any size); ``encoder``: ``vgg19`` or the distilled ``vgg19-quarter``."""

    def __init__(
        self,
        style: Union[ImageLike, Sequence[ImageLike]],
        decoder: Optional[str] = None,
        device: str = "auto",
        alpha: Optional[float] = None,
        weights: Optional[Sequence[float]] = None,
        method: str = "adain",
        style_size: int = AdainConfig.size,
        preserve_color: bool = False,
        wct_decoders: Optional[str] = None,
        wct_levels: int = AdainConfig.wct_levels,
        encoder: str = AdainConfig.encoder,
    ) -> None:
        self.model = AdaIN(decoder, device, encoder=encoder, wct_decoders=wct_decoders)
        self.styles: list[Any] = list(style) if isinstance(style, (list, tuple)) else [style]
        self.codes = [self.model.style_code(s, style_size, levels=method == "multi-wct") for s in self.styles]
        self.alpha = AdainConfig.alpha if alpha is None else alpha
        self.weights, self.method, self.preserve_color = weights, method, preserve_color
        self.levels = wct_levels
        self.device, self.dtype = self.model.device, self.model.dtype

    @property
    def name(self) -> str:
        return "adain:" + "+".join(
            Path(str(s)).stem if not isinstance(s, Image.Image) else "image" for s in self.styles
        )

    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        y = self.model.tensor(x, self.codes, self.weights, self.alpha, self.method, levels=self.levels)
        if self.preserve_color:
            from ..color import recombine

            y = recombine(y, x.float().to(y.device)).clamp(0, 1)
        return y
