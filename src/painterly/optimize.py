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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
from PIL import Image

from . import __version__
from .backbones import Backbone, create_backbone
from .backbones.vgg import VGG, filter_means, normalize_filters, shipped_filter_means
from .color import gray3, luminance, match_colors, match_luminance, recombine
from .config import TransferConfig, make_config
from .errors import DivergedError, PainterlyError, too_small_for_network
from .lbfgs import LBFGS
from .images import (ImageLike, atomic_write, load_image, resize_long_side, save_image, scaled_size, to_pil,
                     to_tensor)
from .memory import check_fits, is_out_of_memory, process_bytes, side_that_fits
from .losses import PerceptualLoss, laplacian, laplacian_loss
from .registry import Registry


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build an optimiser over the image, and its default learning rate (images live in [0, 1])."""

    build: Callable[[list[torch.Tensor], float], Any]  # step(closure) -> loss, zero_grad(set_to_none=True)
    lr: float


OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")
#: Memory for L-BFGS's curvature pairs (two fp32 copies of the image each): 100 pairs up to about 1 Mpixel,
#: fewer for larger pictures (at least 5), so a 2048x2048 picture keeps 0.5 GiB of history instead of 10 GiB.
LBFGS_HISTORY_BYTES = 512 * 2**20


def lbfgs_history(numel: int) -> int:
    return int(min(100, max(5, LBFGS_HISTORY_BYTES // (8 * max(1, numel)))))


# L-BFGS: one iteration (one function evaluation) per step, so progress is reported every step; painterly decides
# when to stop.
OPTIMIZERS.register("lbfgs")(OptimizerSpec(
    lambda p, lr: LBFGS(p, lr=lr, history_size=lbfgs_history(sum(t.numel() for t in p))), 1.0))
OPTIMIZERS.register("adam")(OptimizerSpec(lambda p, lr: torch.optim.Adam(p, lr=lr), 0.02))
# AdamW (Loshchilov & Hutter): decoupled weight decay, torch's default 0.01, which here pulls pixels towards 0.
OPTIMIZERS.register("adamw")(OptimizerSpec(lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01), 0.02))
OPTIMIZERS.register("nadam")(OptimizerSpec(lambda p, lr: torch.optim.NAdam(p, lr=lr), 0.02))


def parse_layers(specs: Sequence[str], default: Sequence[str]) -> dict[str, float]:
    """``["relu1_1:2", "relu2_1"]`` -> ``{"relu1_1": 2.0, "relu2_1": 1.0}``, normalised to sum to 1."""
    out: dict[str, float] = {}
    for spec in specs or default:
        name, _, w = spec.partition(":")
        try:
            weight = float(w) if w else 1.0
        except ValueError:
            raise PainterlyError(f"bad layer weight in '{spec}' (use NAME or NAME:WEIGHT)") from None
        if not math.isfinite(weight) or weight < 0:
            raise PainterlyError(f"layer weight in '{spec}' must be a non-negative number")
        out[name] = out.get(name, 0.0) + weight
    total = sum(out.values())
    if total <= 0:
        raise PainterlyError("layer weights must not all be zero")
    return {k: v / total for k, v in out.items()}


#: The stopping rule compares the loss with its value this many steps earlier.
STOP_WINDOW = 10


#: ``--scales auto``: the coarsest scale has at least this long side, and the finer scales at least this many steps.
AUTO_MIN_SIDE = 100
AUTO_MIN_STEPS = 10


def parse_scales(spec: str, size: int, iterations: int) -> list[tuple[int, int]]:
    """Coarse-to-fine schedule ``[(long_side, steps), ...]`` ending at ``size``.

    ``"auto"``: sides ``size / 2^k`` down to at least ``AUTO_MIN_SIDE``; the coarsest gets ``iterations`` steps and
    every finer scale a quarter of the previous one's (so each scale costs about the same time), at least
    ``AUTO_MIN_STEPS``.  Chosen by measurement of quality against time (benchmarks/schedules.py, RESULTS.md).
    ``""`` or ``"none"``: one scale, ``size`` with ``iterations`` steps.  ``"128:200,256:100"``: those scales first
    (steps after the colon, else ``iterations``), then ``size`` (with its own ``:N`` if listed, else ``iterations``)."""
    spec = spec.strip().lower()
    if spec in ("", "none"):
        return [(size, iterations)]
    if spec == "auto":
        sides = [size]
        while round(sides[0] / 2) >= AUTO_MIN_SIDE:
            sides.insert(0, round(sides[0] / 2))
        return [(sd, iterations if k == 0 else max(AUTO_MIN_STEPS, round(iterations / 4 ** k)))
                for k, sd in enumerate(sides)]
    out: dict[int, int] = {}
    for part in spec.split(","):
        side_s, _, n_s = part.strip().partition(":")
        try:
            side, n = int(side_s), int(n_s) if n_s else iterations
        except ValueError:
            raise PainterlyError(f"bad --scales entry '{part}' (use auto, none, or SIZE or SIZE:STEPS, "
                                 "comma-separated)") from None
        if side < 1 or n < 0:
            raise PainterlyError(f"--scales entry '{part}' needs a positive size and non-negative steps")
        if side > size:
            raise PainterlyError(f"--scales entry {side} is larger than --size {size}")
        out[side] = n
    out.setdefault(size, iterations)
    return [(sd, n) for sd, n in sorted(out.items()) if n > 0 or sd == size]


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``auto`` picks bf16 where the hardware has fast bf16 (AVX-512 BF16/AMX CPUs, Ampere+ GPUs)."""
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    try:
        fast = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        fast = False
    return torch.bfloat16 if fast else torch.float32


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise PainterlyError(f"unknown device '{name}' (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PainterlyError(f"device '{name}' requested but CUDA is not available (use --device cpu)")
    return dev


@dataclass
class Iterate:
    """What the loop hands its callback after each step."""

    step: int
    iterations: int
    loss: float
    terms: dict[str, float]
    elapsed: float
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], detached; do not modify
    scale: int = 0  # long side of the current scale

    def pil(self) -> Image.Image:
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


class Interrupted(KeyboardInterrupt):
    """Raised on Ctrl-C / SIGTERM during a transfer; ``.result`` holds the picture so far."""

    def __init__(self, result: TransferResult) -> None:
        super().__init__("interrupted")
        self.result = result


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
                    raise PainterlyError(f"--normalize-filters needs a VGG backbone (the rescaling is exact only "
                                         f"without normalisation layers and skip connections), not {cfg.backbone}")
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
            net = self._compute_setup(normalize_filters(copy.deepcopy(net), filter_means(net, images)))
        return net

    def run(self, content: ImageLike, style: ImageLike,
            callback: Optional[Callable[[Iterate], None]] = None, init: Optional[ImageLike] = None) -> TransferResult:
        """Paint ``content`` in the style of ``style`` (blended with ``config.extra_style``), coarse to fine over
        ``config.scales``, starting from ``init`` (a picture, e.g. the previous frame's) in place of ``config.init``.

        Raises :class:`Interrupted` on Ctrl-C (with the picture so far) and :class:`DivergedError` on a
        non-finite loss (with the last finite picture as ``.result``)."""
        cfg = self.config
        dev = self.device
        content_src = load_image(content, "content image")
        style_srcs = [load_image(s, "style image") for s in [style, *cfg.extra_style]]
        blend = [w / sum(cfg.style_blend) for w in cfg.style_blend] if cfg.style_blend else [1 / len(style_srcs)] * len(style_srcs)
        schedule = parse_scales(cfg.scales, cfg.size, cfg.iterations)
        total = sum(n for _, n in schedule)
        gen = torch.Generator().manual_seed(cfg.seed)
        history: list[dict[str, float]] = []
        t0 = time.perf_counter()
        inputs = {"content": _name(content), "style": _name(style)}
        if cfg.extra_style:
            inputs["extra_style"] = ", ".join(map(str, cfg.extra_style))
        state: dict[str, Any] = {}

        def result(stopped: str) -> TransferResult:
            img = state["last_good"]
            if cfg.preserve_color and cfg.color_mode == "luminance":
                img = recombine(img, state["photo"])
            w, h = scaled_size(content_src.size, cfg.size)
            if tuple(img.shape[-2:]) != (h, w):  # stopped at a coarser scale: the picture so far, at --size
                img = torch.nn.functional.interpolate(img, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
            return TransferResult(to_pil(img), cfg, dict(history[-1]) if history else {}, history,
                                  time.perf_counter() - t0, len(history), stopped, inputs,
                                  {"device": str(dev), "dtype": str(self.dtype).replace("torch.", ""),
                                   "scales": ",".join(f"{sd}:{n}" for sd, n in schedule)})

        self.check_memory(content_src, style_srcs)
        base = process_bytes(dev)  # held before the work: what a smaller picture would not save
        step = 0
        try:
            for side, n_steps in schedule:
                state["side"] = side
                photo = to_tensor(resize_long_side(content_src, side)).to(dev)
                styles = [to_tensor(resize_long_side(s, max(1, round(side * cfg.style_scale)))).to(dev)
                          for s in style_srcs]
                c, styles = self._prepare_colors(photo, styles)
                net = self._network([c, *styles])
                c_layers, s_layers = self._layers(net)

                perceptual = PerceptualLoss(net, c_layers, s_layers, cfg.content_weight, cfg.style_weight,
                                            cfg.tv_weight, cfg.content_loss)
                c_targets = perceptual.content_targets(c)  # once per scale, no autograd through them
                s_targets = perceptual.style_targets(styles, blend)
                lap_target = laplacian(c, cfg.laplacian_pool) if cfg.laplacian_weight else None
                if "last_good" not in state and init is not None:
                    x0 = to_tensor(load_image(init, "initial image").resize(
                        (c.shape[-1], c.shape[-2]), Image.Resampling.LANCZOS))
                elif "last_good" not in state:
                    x0 = self._init(c, styles[0], gen)
                else:  # coarse to fine: the previous scale's picture, upsampled
                    x0 = torch.nn.functional.interpolate(state["last_good"], size=c.shape[-2:], mode="bicubic",
                                                         align_corners=False).clamp(0, 1)
                x = x0.to(dev).contiguous().requires_grad_(True)
                state["photo"], state["last_good"] = photo, x.detach().clone()
                spec = OPTIMIZERS.get(cfg.optimizer)
                opt = spec.build([x], cfg.lr or spec.lr)
                if isinstance(opt, LBFGS) and "h_diag" in state:
                    # the coarser scale's curvature: gradients per pixel shrink as 1/pixels, so the inverse
                    # Hessian grows with them; without this the first step at a new scale is ~0 (1 / |g|_1)
                    h, n = state.pop("h_diag")
                    opt.warm_h_diag = h * x.numel() / n
                terms: dict[str, torch.Tensor] = {}

                def closure() -> torch.Tensor:
                    opt.zero_grad(set_to_none=True)
                    terms.clear()
                    terms.update(perceptual(x, c_targets, s_targets))
                    if lap_target is not None:
                        terms["laplacian"] = cfg.laplacian_weight * laplacian_loss(x, lap_target, cfg.laplacian_pool)
                    loss = sum(terms.values())
                    loss.backward()
                    return loss

                first = len(history)
                for i in range(n_steps):
                    step += 1
                    loss = opt.step(closure)
                    values = {k: float(v.detach()) for k, v in terms.items()}
                    values["total"] = float(loss.detach())
                    if not all(math.isfinite(v) for v in values.values()) or not torch.isfinite(x).all():
                        what = (f"loss {values['total']}" if not math.isfinite(values["total"])
                                else "the picture's values overflowed")
                        raise DivergedError(f"optimisation diverged at step {step} ({what}); "
                                            "try a smaller --lr or lower loss weights")
                    with torch.no_grad():
                        x.clamp_(0.0, 1.0)
                        state["last_good"].copy_(x)
                    history.append(values)
                    if callback is not None:
                        callback(Iterate(step, total, values["total"], values, time.perf_counter() - t0,
                                         state["last_good"], side))
                    if cfg.tolerance and len(history) - first > STOP_WINDOW:
                        before = history[-1 - STOP_WINDOW]["total"]
                        if (before - values["total"]) < cfg.tolerance * abs(before):
                            break  # converged at this scale
                if isinstance(opt, LBFGS) and opt.dirs:
                    state["h_diag"] = (opt.h_diag, x.numel())
        except DivergedError as e:
            e.result = result("diverged")  # type: ignore[attr-defined]
            raise
        except (RuntimeError, MemoryError) as e:
            side = state.get("side", cfg.size)
            if too_small_for_network(e):
                w, h = scaled_size(content_src.size, side)
                raise PainterlyError(f"a {w}x{h} picture (or its painting at --style-scale {cfg.style_scale}) is too "
                                     f"small for {cfg.backbone}'s poolings; use a larger --size") from None
            if not is_out_of_memory(e):
                raise
            w, h = scaled_size(content_src.size, side)
            fit = side_that_fits(e, side, dev, base)
            fit = fit and int(fit * cfg.size / side) // 8 * 8  # --size is the finest scale's side
            # an upper bound (it needed at least what it held plus what it asked for); the estimate before the
            # run (check_memory) is what normally refuses a picture that cannot fit
            hint = f"try --size {fit} or smaller" if fit else "free some memory or try a smaller --size"
            raise PainterlyError(f"ran out of memory painting {w}x{h} on {dev.type}; {hint}"
                                 + (" or --precision bf16" if self.dtype == torch.float32 else "")) from None
        except KeyboardInterrupt:
            if "last_good" not in state:
                raise
            raise Interrupted(result("interrupted")) from None
        return result("completed")

    def check_memory(self, content: Image.Image, styles: Sequence[Image.Image]) -> None:
        """Refuse, with the largest size that fits, a picture whose estimated peak memory exceeds what is free."""
        cfg = self.config
        w, h = scaled_size(content.size, cfg.size)
        style_px = max(math.prod(scaled_size(s.size, max(1, round(cfg.size * cfg.style_scale)))) for s in styles)
        n = 3 * w * h
        opt_bytes = (2 * lbfgs_history(n) + 4) * 4 * n if cfg.optimizer == "lbfgs" else 3 * 4 * n
        check_fits(w, h, style_px, self.dtype, self.device, opt_bytes, cfg.size)

    def _prepare_colors(self, photo: torch.Tensor,
                        styles: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
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


def video_painter(engine: "StyleTransfer", style: ImageLike, warm_iterations: int,
                  callback: Optional[Callable[[Iterate], None]] = None) -> Callable[[list], list]:
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


def transfer(content: ImageLike, style: ImageLike, *, callback: Optional[Callable[[Iterate], None]] = None,
             **options: Any) -> Image.Image:
    """Render ``content`` in the style of ``style`` and return the picture (options: see TransferConfig)."""
    return StyleTransfer(**options).run(content, style, callback).image
