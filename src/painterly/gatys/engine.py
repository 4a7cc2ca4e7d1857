"""Optimisation-based style transfer: the loop of Gatys et al. (2016), "Image Style Transfer Using
Convolutional Neural Networks", with pluggable backbones, losses, optimisers and initialisations.

The library never prints: progress goes to a callback that receives an :class:`Iterate`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from PIL import Image

from .._version import __version__
from ..backbones import Backbone, create_backbone
from ..backbones.vgg import VGG, filter_means, normalize_filters, shipped_filter_means
from ..color import gray3, luminance, match_colors, match_luminance, recombine
from ..config import TransferConfig, make_config
from ..errors import DivergedError, Interrupted, PainterlyError, Saved, too_small_for_network
from ..images import ImageLike, atomic_write, load_image, resize_long_side, save_image, scaled_size, to_pil, to_tensor
from ..losses import PerceptualLoss, laplacian, laplacian_loss, parse_layers, total
from ..memory import check_fits, oom_guard
from ..progress import Progress
from ..runtime import resolve_device, resolve_precision
from .lbfgs import LBFGS
from .optimizers import OPTIMIZERS, lbfgs_history
from .schedule import STOP_WINDOW, parse_scales


@dataclass
class Iterate(Progress):
    """What the loop hands its callback after each step: the :class:`painterly.progress.Progress` of the whole
    schedule's steps with the step's loss terms, the total loss, the picture so far and the scale."""

    loss: float = 0.0
    image: Optional[torch.Tensor] = None  # (1, 3, H, W) in [0, 1], detached; do not modify
    scale: int = 0  # long side of the current scale

    def pil(self) -> Image.Image:
        assert self.image is not None
        return to_pil(self.image)


@dataclass
class TransferResult:
    """The picture and a record of how it was made."""

    image: Image.Image
    config: TransferConfig
    terms: dict[str, float]
    history: list[dict[str, float]]
    seconds: float
    steps: int
    stopped: str = "completed"  # completed | interrupted | diverged
    inputs: dict[str, str] = field(default_factory=dict)
    compute: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """A JSON-able description: resolved options, version, time, final loss terms."""
        return {
            "painterly_version": __version__,
            "job": "transfer",
            "inputs": self.inputs,
            "options": dataclasses.asdict(self.config),
            "compute": self.compute,
            "output_size": list(self.image.size),
            "steps": self.steps,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
            "seconds_per_step": round(self.seconds / max(1, self.steps), 4),
            "final_loss": self.terms,
            "loss_history": [round(h["total"], 6) for h in self.history],
        }

    def save(self, path: str | Path) -> Path:
        """Write the image (format from the extension) and ``<path>.json`` beside it; returns the JSON path."""
        path = Path(path)
        save_image(self.image, path)
        rec = path.with_suffix(".json")
        atomic_write(rec, lambda tmp: Path(tmp).write_text(json.dumps(self.record(), indent=2)))
        return rec


@dataclass
class _Run:
    """One run's state across its scales."""

    content: Image.Image
    styles: list[Image.Image]
    blend: list[float]
    schedule: list[tuple[int, int]]
    inputs: dict[str, str]
    t0: float = field(default_factory=time.perf_counter)
    history: list[dict[str, float]] = field(default_factory=list)
    picture: Optional[torch.Tensor] = None  # the last finite picture, at the current scale
    photo: Optional[torch.Tensor] = None  # the photo at the current scale
    side: int = 0
    step: int = 0
    h_diag: Optional[tuple[float, int]] = None  # L-BFGS's curvature at the last scale, and its pixel count

    @property
    def total(self) -> int:
        return sum(n for _, n in self.schedule)


class StyleTransfer:
    """Gatys et al. style transfer with a reusable backbone.

    >>> st = StyleTransfer(TransferConfig(size=256))
    >>> result = st.run("photo.jpg", "painting.jpg")      # doctest: +SKIP
    """

    def __init__(self, config: Optional[TransferConfig] = None, **options: Any) -> None:
        self.config = config.replace(**options) if config else make_config(TransferConfig, options)
        self.device = resolve_device(self.config.device)
        self.dtype = resolve_precision(self.config.precision, self.device)
        self.channels_last = True  # measured: never slower on CPU; the layout cuDNN/oneDNN prefer
        self._backbone: Optional[Backbone] = None
        self._normalized = False

    def _layers(self, net: Backbone) -> tuple[dict[str, float], dict[str, float]]:
        c = parse_layers(self.config.content_layers, net.default_content_layers)
        s = parse_layers(self.config.style_layers, net.default_style_layers)
        net.check_layers([*c, *s])
        return c, s

    @property
    def backbone(self) -> Backbone:
        """The feature network, truncated after the deepest needed layer; built once.  With
        ``normalize_filters`` it carries the shipped normalisation where one exists (see :meth:`_network`)."""
        if self._backbone is None:
            cfg = self.config
            net = create_backbone(cfg.backbone, cfg.weights, cfg.pool)
            c, s = self._layers(net)
            net = net.truncate([*c, *s])
            if cfg.normalize_filters:
                if not isinstance(net, VGG):
                    raise PainterlyError(
                        f"--normalize-filters needs a VGG backbone (the rescaling is exact only "
                        f"without normalisation layers and skip connections), not {cfg.backbone}"
                    )
                means = shipped_filter_means(net, cfg.pool)
                if means is not None:
                    normalize_filters(net, means)
                    self._normalized = True
            net = net.to(self.device)
            if cfg.normalize_filters and not self._normalized:
                self._backbone = net  # kept fp32: each run normalises a copy, then casts it
            else:
                self._backbone = self._compute_setup(net)
        return self._backbone

    def _compute_setup(self, net: Backbone) -> Backbone:
        return net.set_compute(self.dtype, channels_last=self.channels_last)

    def _network(self, images: Sequence[torch.Tensor]) -> Backbone:
        """The backbone for one run: weights without shipped statistics are normalised over the run's images."""
        net = self.backbone
        if self.config.normalize_filters and not self._normalized:
            assert isinstance(net, VGG)  # checked when the backbone was built
            net = self._compute_setup(normalize_filters(copy.deepcopy(net), filter_means(net, images)))
        return net

    def run(
        self,
        content: ImageLike,
        style: ImageLike,
        callback: Optional[Callable[[Iterate], None]] = None,
        init: Optional[ImageLike] = None,
    ) -> TransferResult:
        """Paint ``content`` in the style of ``style`` (blended with ``config.extra_style``), coarse to fine over
        ``config.scales``, starting from ``init`` (a picture, e.g. the previous frame's) in place of ``config.init``.

        Raises :class:`painterly.errors.Interrupted` on Ctrl-C (``saved.result``: the picture so far) and
        :class:`painterly.errors.DivergedError` on a non-finite loss (``saved.result``: the last finite picture)."""
        cfg = self.config
        styles = [load_image(s, "style image") for s in [style, *cfg.extra_style]]
        blend = (
            [w / sum(cfg.style_blend) for w in cfg.style_blend] if cfg.style_blend else [1 / len(styles)] * len(styles)
        )
        inputs = {"content": _name(content), "style": _name(style)}
        if cfg.extra_style:
            inputs["extra_style"] = ", ".join(map(str, cfg.extra_style))
        run = _Run(
            load_image(content, "content image"),
            styles,
            blend,
            parse_scales(cfg.scales, cfg.size, cfg.iterations),
            inputs,
        )
        self.check_memory(run.content, run.styles)
        gen = torch.Generator().manual_seed(cfg.seed)
        try:
            for side, n_steps in run.schedule:
                w, h = scaled_size(run.content.size, side)
                # --size names the finest scale: a hint at a coarser one is scaled up to it
                with oom_guard(
                    f"painting {w}x{h}",
                    side,
                    self.device,
                    scale=cfg.size / side,
                    extra=" or --precision bf16" if self.dtype == torch.float32 else "",
                ):
                    self._scale(run, side, n_steps, init, gen, callback)
        except DivergedError as e:
            e.saved = Saved("the last finite picture", result=self._result(run, "diverged"))
            raise
        except RuntimeError as e:
            if not too_small_for_network(e):
                raise
            w, h = scaled_size(run.content.size, run.side)
            raise PainterlyError(
                f"a {w}x{h} picture (or its painting at --style-scale {cfg.style_scale}) is too "
                f"small for {cfg.backbone}'s poolings; use a larger --size"
            ) from None
        except KeyboardInterrupt:
            if run.picture is None:
                raise
            raise Interrupted(Saved("the picture so far", result=self._result(run, "interrupted"))) from None
        return self._result(run, "completed")

    def _scale(
        self,
        run: _Run,
        side: int,
        n_steps: int,
        init: Optional[ImageLike],
        gen: torch.Generator,
        callback: Optional[Callable[[Iterate], None]],
    ) -> None:
        """Optimise the picture at long side ``side`` for ``n_steps`` steps (or until the loss settles)."""
        cfg, dev = self.config, self.device
        run.side = side
        photo = to_tensor(resize_long_side(run.content, side)).to(dev)
        styles = [to_tensor(resize_long_side(s, max(1, round(side * cfg.style_scale)))).to(dev) for s in run.styles]
        c, styles = self._prepare_colors(photo, styles)
        net = self._network([c, *styles])
        c_layers, s_layers = self._layers(net)
        perceptual = PerceptualLoss(
            net, c_layers, s_layers, cfg.content_weight, cfg.style_weight, cfg.tv_weight, cfg.content_loss
        )
        c_targets = perceptual.content_targets(c)  # once per scale, no autograd through them
        s_targets = perceptual.style_targets(styles, run.blend)
        lap_target = laplacian(c, cfg.laplacian_pool) if cfg.laplacian_weight else None
        if run.picture is None and init is not None:
            x0 = to_tensor(
                load_image(init, "initial image").resize((c.shape[-1], c.shape[-2]), Image.Resampling.LANCZOS)
            )
        elif run.picture is None:
            x0 = self._init(c, styles[0], gen)
        else:  # coarse to fine: the previous scale's picture, upsampled
            x0 = torch.nn.functional.interpolate(
                run.picture, size=c.shape[-2:], mode="bicubic", align_corners=False
            ).clamp(0, 1)
        x = x0.to(dev).contiguous().requires_grad_(True)
        run.photo, run.picture = photo, x.detach().clone()
        spec = OPTIMIZERS.get(cfg.optimizer)
        opt = spec.build([x], cfg.lr or spec.lr)
        if isinstance(opt, LBFGS) and run.h_diag is not None:
            # the coarser scale's curvature: gradients per pixel shrink as 1/pixels, so the inverse Hessian grows
            # with them; without this the first step at a new scale is ~0 (1 / |g|_1)
            h, n = run.h_diag
            opt.warm_h_diag = h * x.numel() / n
            run.h_diag = None
        terms: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            terms.clear()
            terms.update(perceptual(x, c_targets, s_targets))
            if lap_target is not None:
                terms["laplacian"] = cfg.laplacian_weight * laplacian_loss(x, lap_target, cfg.laplacian_pool)
            loss = total(terms.values())
            loss.backward()
            return loss

        first = len(run.history)
        for _ in range(n_steps):
            run.step += 1
            loss = opt.step(closure)
            values = {k: float(v.detach()) for k, v in terms.items()}
            values["total"] = float(loss.detach())
            if not all(math.isfinite(v) for v in values.values()) or not torch.isfinite(x).all():
                what = (
                    f"loss {values['total']}"
                    if not math.isfinite(values["total"])
                    else "the picture's values overflowed"
                )
                raise DivergedError(
                    f"optimisation diverged at step {run.step} ({what}); try a smaller --lr or lower loss weights"
                )
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
                run.picture.copy_(x)
            run.history.append(values)
            if callback is not None:
                callback(
                    Iterate(
                        run.step, run.total, time.perf_counter() - run.t0, values, values["total"], run.picture, side
                    )
                )
            if cfg.tolerance and len(run.history) - first > STOP_WINDOW:
                before = run.history[-1 - STOP_WINDOW]["total"]
                if (before - values["total"]) < cfg.tolerance * abs(before):
                    break  # converged at this scale
        if isinstance(opt, LBFGS) and opt.dirs:
            run.h_diag = (opt.h_diag, x.numel())

    def _result(self, run: _Run, stopped: str) -> TransferResult:
        """The picture so far at --size (upsampled when stopped at a coarser scale), with its record."""
        cfg = self.config
        assert run.picture is not None and run.photo is not None
        img = run.picture
        if cfg.preserve_color and cfg.color_mode == "luminance":
            img = recombine(img, run.photo)
        w, h = scaled_size(run.content.size, cfg.size)
        if tuple(img.shape[-2:]) != (h, w):
            img = torch.nn.functional.interpolate(img, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
        return TransferResult(
            to_pil(img),
            cfg,
            dict(run.history[-1]) if run.history else {},
            run.history,
            time.perf_counter() - run.t0,
            len(run.history),
            stopped,
            run.inputs,
            {
                "device": str(self.device),
                "dtype": str(self.dtype).replace("torch.", ""),
                "scales": ",".join(f"{sd}:{n}" for sd, n in run.schedule),
            },
        )

    def check_memory(self, content: Image.Image, styles: Sequence[Image.Image]) -> None:
        """Refuse, with the largest size that fits, a picture whose estimated peak memory exceeds what is free."""
        cfg = self.config
        w, h = scaled_size(content.size, cfg.size)
        style_px = max(math.prod(scaled_size(s.size, max(1, round(cfg.size * cfg.style_scale)))) for s in styles)
        n = 3 * w * h
        opt_bytes = (2 * lbfgs_history(n) + 4) * 4 * n if cfg.optimizer == "lbfgs" else 3 * 4 * n
        check_fits(w, h, style_px, self.dtype, self.device, opt_bytes, cfg.size)

    def _prepare_colors(
        self, photo: torch.Tensor, styles: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Colour preservation (Gatys et al. 2016): luminance-only images, or paintings recoloured to the photo."""
        cfg = self.config
        if not cfg.preserve_color:
            return photo, styles
        if cfg.color_mode == "histogram":
            return photo, [match_colors(s, photo) for s in styles]
        y = luminance(photo)
        return gray3(y), [gray3(match_luminance(luminance(s), y)) for s in styles]

    def _init(self, c: torch.Tensor, s: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        mode = self.config.init
        if mode == "content":
            return c.clone()
        if mode == "noise":
            return torch.rand(c.shape, generator=gen)
        if mode == "style":
            return torch.nn.functional.interpolate(s, size=c.shape[-2:], mode="bilinear", align_corners=False)
        raise PainterlyError(f"unknown init '{mode}'")


def video_painter(
    engine: StyleTransfer, style: ImageLike, warm_iterations: int, callback: Optional[Callable[[Iterate], None]] = None
) -> Callable[[list], list]:
    """Frames -> painted frames for :func:`painterly.video.stylize_video`: the first frame with ``engine``'s whole
    schedule, each later one at full size only, ``warm_iterations`` steps from the previous frame's picture (its
    painting is mostly done: only what moved needs repainting)."""
    import numpy as np

    warm = StyleTransfer(engine.config.replace(scales="none", iterations=warm_iterations))
    warm._backbone = engine.backbone  # one network for both
    previous: dict[str, Image.Image] = {}

    def paint(frames: list) -> list:
        out = []
        for f in frames:
            photo = Image.fromarray(f)
            if "image" in previous:
                res = warm.run(photo, style, callback, init=previous["image"])
            else:
                res = engine.run(photo, style, callback)
            previous["image"] = res.image
            out.append(np.asarray(res.image.resize(photo.size, Image.Resampling.LANCZOS)))
        return out

    return paint


def _name(src: ImageLike) -> str:
    return str(src) if not isinstance(src, Image.Image) else "<PIL.Image>"


def transfer(
    content: ImageLike, style: ImageLike, *, callback: Optional[Callable[[Iterate], None]] = None, **options: Any
) -> Image.Image:
    """Render ``content`` in the style of ``style`` and return the picture (options: see TransferConfig)."""
    return StyleTransfer(**options).run(content, style, callback).image
