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
from ..images import (
    ImageLike,
    atomic_write,
    load_image,
    mask_regions,
    resize_long_side,
    save_image,
    scaled_size,
    to_pil,
    to_tensor,
)
from ..losses import PerceptualLoss, gram_matrix, laplacian, laplacian_loss, parse_layers, style_loss, total, tv_loss
from ..memory import MemoryPlan, check_fits, fits, oom_guard, release, tile_that_fits, transfer_seconds
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
    regions: Optional[torch.Tensor] = None  # (K, H, W) at the photo's size: the --mask's regions, if any
    tile: int = 0  # scales with a longer side than this are optimised in tiles (0: none)

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
        if cfg.mask:
            inputs["mask"] = str(cfg.mask)
            run.regions = mask_regions(cfg.mask, len(styles) + cfg.keep_photo, run.content.size, cfg.mask_softness)
        run.tile = self.check_memory(run.content, run.styles).tile
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
        """Optimise the picture at long side ``side`` for ``n_steps`` steps (or until the loss settles): the whole
        picture, or in tiles when it is larger than ``run.tile``."""
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
        tiled = bool(run.tile) and side > run.tile
        s_targets = self._style_targets(perceptual, styles, run.blend, run.tile if tiled else 0)
        regions = None
        if run.regions is not None:  # the mask at this scale; with --keep-photo the last region keeps the photo
            regions = torch.nn.functional.interpolate(run.regions[None], size=c.shape[-2:], mode="area")[0].to(dev)
        keep = regions[-1:] if regions is not None and cfg.keep_photo else None
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
        terms: dict[str, torch.Tensor] = {}

        def loss_of(
            xs: torch.Tensor,
            cs: torch.Tensor,
            rs: Optional[torch.Tensor],
            c_targets: dict,
            inner: Optional[torch.Tensor] = None,
        ) -> torch.Tensor:
            terms.update(perceptual(xs, c_targets, s_targets, rs, inner))
            if cfg.laplacian_weight:
                lap = laplacian(cs, cfg.laplacian_pool)
                terms["laplacian"] = cfg.laplacian_weight * laplacian_loss(xs, lap, cfg.laplacian_pool)
            return total(terms.values())

        if tiled:
            closure = self._tiled_closure(run, x, c, regions, perceptual, s_targets, terms, gen)
        else:
            closure = self._whole_closure(x, c, regions, perceptual, loss_of, terms)
        step = self._stepper(run, x, closure)
        first = len(run.history)
        for _ in range(n_steps):
            run.step += 1
            loss = step()
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
                if keep is not None:  # the kept region is the photo (softly, at the region's border); the
                    # optimiser's own picture is left alone (L-BFGS's curvature pairs need its steps unchanged)
                    run.picture.mul_(1 - keep).add_(keep * c)
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

    def _stepper(self, run: _Run, x: torch.Tensor, closure: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        """One step of the configured optimiser on ``closure`` (the loss, with ``x``'s gradient filled in).
        L-BFGS starts from the coarser scale's curvature: gradients per pixel shrink as 1/pixels, so the inverse
        Hessian grows with them; without this the first step at a new scale is ~0 (1 / |g|_1)."""
        cfg = self.config
        spec = OPTIMIZERS.get(cfg.optimizer)
        opt = spec.build([x], cfg.lr or spec.lr)
        if isinstance(opt, LBFGS) and run.h_diag is not None:
            h, n = run.h_diag
            opt.warm_h_diag = h * x.numel() / n
            run.h_diag = None

        def step() -> torch.Tensor:
            loss = opt.step(closure)
            if isinstance(opt, LBFGS) and opt.dirs:
                run.h_diag = (opt.h_diag, x.numel())
            return loss

        return step

    def _whole_closure(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        regions: Optional[torch.Tensor],
        perceptual: PerceptualLoss,
        loss_of: Callable[..., torch.Tensor],
        terms: dict[str, torch.Tensor],
    ) -> Callable[[], torch.Tensor]:
        """The loss of the whole picture, its gradient in ``x.grad``."""
        c_targets = perceptual.content_targets(c)  # once per scale, no autograd through them

        def closure() -> torch.Tensor:
            x.grad = None
            terms.clear()
            loss = loss_of(x, c, regions, c_targets)
            loss.backward()
            return loss

        return closure

    def _tiled_closure(
        self,
        run: _Run,
        x: torch.Tensor,
        c: torch.Tensor,
        regions: Optional[torch.Tensor],
        perceptual: PerceptualLoss,
        s_targets: list[tuple[float, dict]],
        terms: dict[str, torch.Tensor],
        gen: torch.Generator,
    ) -> Callable[[], torch.Tensor]:
        """The whole picture's loss and gradient computed in tiles, memory bounded by the tile.  A Gram matrix is
        a sum over positions, so a first pass (no gradients) sums every tile's part into the whole picture's Gram
        matrices; a second pass backpropagates, tile by tile, the whole picture's style
        loss through each tile's part (its derivative with respect to the Gram matrix, known after the first
        pass) with the tile's content loss.  Each tile is computed with a margin of context that does not count,
        and the grid moves by a random offset every step, so no seam stays in one place (after crowsonkb's
        style-transfer-pytorch).  The gradient is the whole picture's, so the configured optimiser, L-BFGS
        included, steps as it would on the whole picture (the moving grid changes it only within the margins'
        reach, which L-BFGS's curvature check absorbs)."""
        cfg = self.config
        h, w = x.shape[-2:]
        tile = run.tile
        layers = perceptual.style_layers
        net = perceptual.net
        # the deepest layer's stride: tiles and their margins start at multiples of it, so each tile's pooling
        # windows are the whole picture's and its features equal the whole picture's away from its margins
        with torch.no_grad():
            probe = net(torch.zeros(1, 3, 64, 64, device=x.device), perceptual.layers)
        align = max(1, 64 // min(f.shape[-1] for f in probe.values()))
        margin = -(-max(8, tile // 8) // align) * align  # context around each tile's own part (receptive field)
        # one group of Gram matrices per region (with --mask), else one for the whole picture
        groups = len(s_targets) if regions is not None else 1
        # the photo's content features, once per scale for the whole picture (tile by tile: each tile's own part);
        # a tile of the moving grid reads its part of them, and their energy normalises the content loss
        own = max(align, (tile - 2 * margin) // align * align)  # a tile's own part, without its margins
        strides = {k: 64 // probe[k].shape[-1] for k in perceptual.content_layers}
        photo_feats = self._tiled_content_targets(perceptual, c, own, margin, align, strides)
        energy = {k: t.pow(2).sum() for k, t in photo_feats.items()}

        def photo_part(box: tuple[int, int, int, int], like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            a0, _, b0, _ = box  # multiples of the stride; the tile's maps start there in the whole picture's
            return {
                k: t[..., a0 // strides[k] :, b0 // strides[k] :][..., : like[k].shape[-2], : like[k].shape[-1]]
                for k, t in photo_feats.items()
            }

        def pieces() -> list[tuple[tuple[int, int, int, int], torch.Tensor, float]]:
            boxes = tile_grid(h, w, own, gen, overlap=False, align=align)
            out = []
            for y0, y1, x0, x1 in boxes:
                a0, a1, b0, b1 = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
                inner = torch.zeros(a1 - a0, b1 - b0, device=x.device)
                inner[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0] = 1
                out.append(((a0, a1, b0, b1), inner, (y1 - y0) * (x1 - x0) / (h * w)))
            return out

        def weights(f: torch.Tensor, inner: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
            a0, a1, b0, b1 = box
            m = inner[None] if regions is None else regions[: len(s_targets), a0:a1, b0:b1] * inner
            return torch.nn.functional.interpolate(m[None].float(), size=f.shape[-2:], mode="area")[0]

        def at(inner: torch.Tensor, f: torch.Tensor) -> torch.Tensor:  # a tile's own part at a layer's resolution
            return torch.nn.functional.interpolate(inner[None, None], size=f.shape[-2:], mode="area")

        def gram_sum(f: torch.Tensor, m: torch.Tensor) -> torch.Tensor:  # sum over positions of (F m)(F m)^T / C
            return gram_matrix(f * m.to(f.dtype)) * (f.shape[-2] * f.shape[-1])

        def closure() -> torch.Tensor:
            x.grad = None
            parts = pieces()
            sums = {k: [torch.zeros(())] * groups for k in layers}
            areas = {k: [torch.zeros(())] * groups for k in layers}
            with torch.no_grad():  # the whole picture's Gram matrices, tile by tile
                for box, inner, _ in parts:
                    a0, a1, b0, b1 = box
                    feats = net(x[..., a0:a1, b0:b1], list(layers))
                    for k in layers:
                        m = weights(feats[k], inner, box)
                        for g in range(groups):
                            sums[k][g] = sums[k][g] + gram_sum(feats[k], m[g])
                            areas[k][g] = areas[k][g] + m[g].float().pow(2).sum()
                    del feats
                    release()
            # the style loss of the whole picture and its derivative with respect to each Gram matrix
            coef: dict[str, list[Optional[torch.Tensor]]] = {k: [None] * groups for k in layers}
            style = torch.zeros(())
            present = [g for g in range(groups) if float(areas[next(iter(layers))][g]) > 1e-4 * h * w / 64]
            for k, wk in layers.items():
                for g in present:
                    gram = (sums[k][g] / areas[k][g].clamp_min(1e-8)).detach().requires_grad_(True)
                    if regions is None:
                        loss = total(b * wk * style_loss(gram, t[k]) for b, t in s_targets)
                    else:
                        loss = wk * style_loss(gram, s_targets[g][1][k]) / max(1, len(present))
                    loss = cfg.style_weight * loss
                    (dg,) = torch.autograd.grad(loss, gram)
                    coef[k][g] = dg / areas[k][g].clamp_min(1e-8)
                    style = style + loss.detach()
            others: dict[str, float] = {}
            grad = torch.zeros_like(x)
            for box, inner, share in parts:  # backpropagate, tile by tile
                a0, a1, b0, b1 = box
                # the tile as a leaf of its own: its gradient lands in its box, not in a whole-picture temporary
                xs, cs = x.detach()[..., a0:a1, b0:b1].requires_grad_(True), c[..., a0:a1, b0:b1]
                feats = net(xs, perceptual.layers)
                targets = photo_part(box, feats)
                # the tile's own part of the whole picture's content loss (squared error over the photo's energy)
                if cfg.content_loss == "mse":
                    content_terms = (
                        wc
                        * ((feats[k].float() - targets[k]) * at(inner, targets[k])).pow(2).sum()
                        / energy[k].clamp_min(1e-8)
                        for k, wc in perceptual.content_layers.items()
                    )
                else:  # another content loss: the tile's own, weighted by its share
                    content_terms = (
                        share * wc * perceptual.content_loss(feats[k].float(), targets[k])
                        for k, wc in perceptual.content_layers.items()
                    )
                local = {"content": perceptual.content_weight * total(content_terms)}
                if perceptual.tv_weight:
                    local["tv"] = perceptual.tv_weight * tv_loss(xs)
                if cfg.laplacian_weight:
                    lap = laplacian(cs, cfg.laplacian_pool)
                    local["laplacian"] = cfg.laplacian_weight * laplacian_loss(xs, lap, cfg.laplacian_pool)
                content = local.pop("content")
                surrogate = content + share * total(local.values()) if local else content
                for k in layers:
                    m = weights(feats[k], inner, box)
                    for g in present:
                        d = coef[k][g]
                        assert d is not None
                        surrogate = surrogate + (d * gram_sum(feats[k], m[g])).sum()
                surrogate.backward()
                assert xs.grad is not None
                grad[..., a0:a1, b0:b1] += xs.grad
                del feats, targets, surrogate, xs
                release()
                others["content"] = others.get("content", 0.0) + float(content.detach())
                for name, v in local.items():
                    others[name] = others.get(name, 0.0) + float(v.detach()) * share
            x.grad = grad
            terms.clear()
            terms.update({"content": torch.tensor(others.pop("content")), "style": style})
            terms.update({k: torch.tensor(v) for k, v in others.items()})
            return total(terms.values())

        return closure

    @staticmethod
    @torch.no_grad()
    def _tiled_content_targets(
        perceptual: PerceptualLoss, c: torch.Tensor, own: int, margin: int, align: int, strides: dict[str, int]
    ) -> dict[str, torch.Tensor]:
        """The photo's content features of the whole picture, computed in tiles whose own parts have side ``own``,
        each with ``margin`` context (aligned to the network's stride ``align``, so each tile's own part equals the
        whole picture's); ``strides``: each content layer's stride."""
        h, w = c.shape[-2:]
        # each map's size for the whole picture, from a probe with the same remainder modulo 64 (poolings round
        # down or up by the remainder alone)
        ph, pw = 64 + h % 64, 64 + w % 64
        probe = perceptual.content_targets(torch.zeros(1, 3, ph, pw, device=c.device))
        out = {
            k: f.new_empty(*f.shape[:2], f.shape[-2] + (h - ph) // strides[k], f.shape[-1] + (w - pw) // strides[k])
            for k, f in probe.items()
        }
        for y0, y1, x0, x1 in tile_grid(h, w, own, None, False, align):
            a0, a1, b0, b1 = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
            for k, f in perceptual.content_targets(c[..., a0:a1, b0:b1]).items():
                s, t = strides[k], out[k]
                r0, r1 = y0 // s, (t.shape[-2] if y1 == h else y1 // s)
                q0, q1 = x0 // s, (t.shape[-1] if x1 == w else x1 // s)
                t[..., r0:r1, q0:q1] = f[..., r0 - a0 // s : r1 - a0 // s, q0 - b0 // s : q1 - b0 // s]
        return out

    def _style_targets(
        self, perceptual: PerceptualLoss, styles: list[torch.Tensor], blend: list[float], tile: int
    ) -> list[tuple[float, dict]]:
        """Each painting's Gram matrices; a painting larger than ``tile`` is measured tile by tile (a Gram
        matrix is a sum over positions), so its memory too is bounded by the tile."""
        if not tile or all(max(s.shape[-2:]) <= tile for s in styles):
            return perceptual.style_targets(styles, blend)
        out = []
        for b, s in zip(blend, styles):
            h, w = s.shape[-2:]
            sums: dict[str, torch.Tensor] = {}
            count = 0
            for y0, y1, x0, x1 in tile_grid(h, w, tile, None):
                part = perceptual.style_targets([s[..., y0:y1, x0:x1]], [1.0])[0][1]
                n = (y1 - y0) * (x1 - x0)
                for k, g in part.items():
                    sums[k] = sums.get(k, 0) + g * n
                count += n
            out.append((b, {k: g / count for k, g in sums.items()}))
        return out

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

    def check_memory(self, content: Image.Image, styles: Sequence[Image.Image]) -> MemoryPlan:
        """How the picture fits: whole, or (when its estimated peak memory exceeds what is free, or ``--tile``
        asks for it) its larger scales in tiles of a side that fits, with the time that takes; refuses, naming a
        size that fits, only when even tiles cannot (the picture itself and its optimiser state must fit)."""
        cfg = self.config
        w, h = scaled_size(content.size, cfg.size)
        style_px = max(math.prod(scaled_size(s.size, max(1, round(cfg.size * cfg.style_scale)))) for s in styles)
        n = 3 * w * h
        opt_bytes = (2 * lbfgs_history(n) + 4) * 4 * n if cfg.optimizer == "lbfgs" else 3 * 4 * n
        schedule = parse_scales(cfg.scales, cfg.size, cfg.iterations)
        tile = cfg.tile
        if not tile and not fits(w, h, style_px, self.dtype, self.device, opt_bytes):
            tile = tile_that_fits(w, h, self.dtype, self.device, opt_bytes)
            if not tile:  # not even tiles: the whole picture's own state does not fit
                check_fits(w, h, style_px, self.dtype, self.device, opt_bytes, cfg.size)
        if tile and cfg.size > tile:
            return MemoryPlan(tile, transfer_seconds(schedule, content.size, tile))
        check_fits(w, h, style_px, self.dtype, self.device, opt_bytes, cfg.size)
        return MemoryPlan(0, transfer_seconds(schedule, content.size, 0))

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
    """Frames -> painted frames for :func:`painterly.media.video.stylize_video`: the first frame with ``engine``'s whole
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


#: How many places a moving tile grid starts at, per side, spread over one tile: enough that no seam stays in one
#: place, few enough that the tiles come in a handful of shapes (the CPU's convolution library keeps compiled
#: kernels, with their memory, for every shape it has seen; with that cache off, a tiled run peaked a fifth lower).
GRID_OFFSETS = 4


def tile_grid(
    h: int, w: int, tile: int, gen: Optional[torch.Generator], overlap: bool = True, align: int = 1
) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, y1, x0, x1) of tiles of side ``tile`` covering an h x w picture, overlapping by an eighth (or, with
    ``overlap=False``, side by side); with ``gen`` the grid starts at one of GRID_OFFSETS offsets, drawn at random
    (tiles at the borders are then cut short, none below a quarter tile).  With ``align``, every tile starts at a
    multiple of it (the network's stride: a tile's pooling windows then fall where the whole picture's do)."""
    stride = max(1, tile - max(8, tile // 8)) if overlap else tile
    stride = max(align, stride // align * align)

    def starts(n: int) -> list[tuple[int, int]]:
        if n <= tile:
            return [(0, n)]
        j = int(torch.randint(0, GRID_OFFSETS, (1,), generator=gen)) if gen is not None else 0
        off = stride * j // GRID_OFFSETS // align * align
        spans, at = [], -off
        while at < n:
            a, b = max(0, at), min(n, at + tile)
            if b - a < tile // 4:  # a sliver at either border: make it a quarter tile
                if a == 0:
                    b = min(n, tile // 4)
                else:
                    a = max(0, b - tile // 4) // align * align
            spans.append((a, b))
            if b >= n:
                break
            at += stride
        return list(dict.fromkeys(spans))

    return [(y0, y1, x0, x1) for y0, y1 in starts(h) for x0, x1 in starts(w)]
