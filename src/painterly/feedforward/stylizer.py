"""Painting with a trained feed-forward network: ``Stylizer("model.pt")(photo)`` (Johnson et al. 2016), a painting
or a blend of several from a conditional network (Dumoulin et al. 2017), and strokes of another size without
retraining."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..checkpoint import load_checkpoint, painting_names
from ..errors import PainterlyError, suggest
from ..media.frames import FrameStylizer
from ..runtime import resolve_device, resolve_precision
from ..shipped import shipped_model_path, shipped_models
from .networks import for_inference, network_from_checkpoint


def resolve_model(name_or_path: str, variant: str = "quality") -> tuple[Path, Optional[str]]:
    """A checkpoint path, or the name of a shipped painting (``painterly models`` lists them): the checkpoint, and
    the painting in it that the name picks (None for a path)."""
    p = Path(name_or_path)
    if p.suffix or os.sep in name_or_path or p.is_file():
        return p, None
    return shipped_model_path(name_or_path, variant), name_or_path


def mix_weights(spec: str) -> dict[str, float]:
    """``"starry-night:0.6,the-scream:0.4"`` (or one name) -> {painting: weight}, the weights summing to 1."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, w = part.partition(":")
        try:
            value = float(w) if w else 1.0
        except ValueError:
            raise PainterlyError(f"--mix: '{w}' is not a number (as in starry-night:0.6,the-scream:0.4)") from None
        if not (value >= 0 and np.isfinite(value)):
            raise PainterlyError(f"--mix: weights must be non-negative numbers, got {w}")
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    if not total > 0:
        raise PainterlyError("--mix needs at least one painting with a weight above 0")
    return {name: w / total for name, w in weights.items()}


def parse_mix(spec: str, names: list[str], where: str = "the model") -> torch.Tensor:
    """``"starry-night:0.6,the-scream:0.4"`` (or one name) -> mixing weights over ``names``, summing to 1."""
    weights = torch.zeros(len(names))
    for name, w in mix_weights(spec).items():
        if name not in names:
            raise PainterlyError(f"no painting '{name}' in {where}{suggest(name, names)} (it has: {', '.join(names)})")
        weights[names.index(name)] = w
    return weights


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)^2 window around each pixel (windows clipped at the borders), by cumulative sums."""

    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        n = t.shape[dim]
        c = torch.nn.functional.pad(t.cumsum(dim), (0, 0, 1, 0) if dim == 2 else (1, 0))
        idx = torch.arange(n, device=t.device)
        hi, lo = (idx + r + 1).clamp(max=n), (idx - r).clamp(min=0)
        count = (hi - lo).to(t.dtype)
        shape = [1, 1, n, 1] if dim == 2 else [1, 1, 1, n]
        return (c.index_select(dim, hi) - c.index_select(dim, lo)) / count.view(shape)

    return along(along(x, 2), 3)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """He, Sun & Tang (2010), "Guided Image Filtering": ``src`` made locally linear in the grey ``guide``
    (B, 1, H, W), so its edges fall where the guide's are; ``eps`` sets how strong a guide edge must be."""
    mean_i, mean_p = _box(guide, radius), _box(src, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    cov = _box(guide * src, radius) - mean_i * mean_p
    a = cov / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, radius) * guide + _box(b, radius)


class Stylizer(FrameStylizer):
    """A loaded feed-forward model: ``Stylizer("model.pt")(photo) -> PIL.Image`` (Johnson et al. 2016).

    ``mix``: which painting, or which blend of paintings (``"starry-night:0.6,the-scream:0.4"``): the paintings of
    a network of several (conditional instance normalisation, Dumoulin et al. 2017) blend inside it, and any
    shipped painting can join the blend (its network paints too, and the pictures are blended); a shipped
    painting's name picks its painting by itself.  ``stroke_scale``: strokes S times larger (or smaller, S < 1)
    without retraining: the network paints the photo at 1/S of its size, and the picture, scaled back, takes the
    photo's edges by a guided filter (He et al. 2010)."""

    def __init__(
        self,
        model: str,
        device: str = "auto",
        mix: Optional[str] = None,
        stroke_scale: float = 1.0,
        variant: str = "quality",
    ) -> None:
        self.path, painting = resolve_model(model, variant)
        self.checkpoint = load_checkpoint(self.path)
        self.device = resolve_device(device)
        self.dtype = resolve_precision("auto", self.device)
        if not stroke_scale > 0:
            raise PainterlyError(f"--stroke-scale must be greater than 0, got {stroke_scale}")
        self.stroke_scale = float(stroke_scale)
        self.paintings = painting_names(self.checkpoint)
        self.blend = self._blend(mix or painting)
        # each network of the blend arranged for speed (separable pairs folded, bf16 where supported,
        # channels-last), with its share of the picture
        self.nets = [(w, for_inference(net, self.dtype).to(self.device)) for w, net in self._networks(variant)]

    def _blend(self, spec: Optional[str]) -> dict[str, float]:
        """The painting, or the blend of paintings, this stylizer paints: {name: weight}."""
        if spec:
            return mix_weights(spec)
        if len(self.paintings) > 1:
            raise PainterlyError(
                f"'{self.path}' holds {len(self.paintings)} paintings "
                f"({', '.join(self.paintings)}): choose one or a blend with --mix "
                f"(as in --mix {self.paintings[0]} or --mix "
                f"{self.paintings[0]}:0.5,{self.paintings[1]}:0.5)"
            )
        return {self.paintings[0]: 1.0}

    def _networks(self, variant: str) -> list[tuple[float, nn.Module]]:
        """The networks that paint the blend, each with its weight in the picture.  Paintings of one conditional
        network blend inside it (Dumoulin et al. 2017: the convex combination of their normalisation
        parameters); a shipped painting held by another network is painted by that network and the pictures are
        blended."""
        groups: dict[Path, dict[str, float]] = {}
        shipped: Optional[dict[str, Path]] = None
        for name, w in self.blend.items():
            if name in self.paintings:
                path = self.path
            else:
                shipped = shipped if shipped is not None else shipped_models(variant)
                if name not in shipped:
                    have = sorted(set(self.paintings) | set(shipped))
                    raise PainterlyError(
                        f"no painting '{name}' in '{self.path.name}' nor among the shipped ones"
                        f"{suggest(name, have)} (it has: {', '.join(self.paintings)}; shipped: {', '.join(shipped)})"
                    )
                path = shipped[name]
            groups.setdefault(path, {})[name] = w
        nets: list[tuple[float, nn.Module]] = []
        for path, weights in groups.items():
            ckpt = self.checkpoint if path == self.path else load_checkpoint(path)
            net = network_from_checkpoint(ckpt, path)
            share = sum(weights.values())
            if getattr(net, "styles", 1) > 1:
                names = painting_names(ckpt)
                net = net.for_style(torch.tensor([weights.get(n, 0.0) / share for n in names]))
            nets.append((share, net))
        return nets

    @property
    def name(self) -> str:
        parts = [(n, w) for n, w in self.blend.items() if w > 0]
        if len(parts) > 1:
            return "+".join(f"{n}:{w:.2g}" for n, w in parts)
        return parts[0][0] if self.checkpoint.get("styles") or self.checkpoint.get("style") else self.path.stem

    def _paint(self, x: torch.Tensor) -> torch.Tensor:
        """Every network of the blend on ``x`` (in the stylizer's dtype), their pictures blended (float32)."""
        (w0, first), *rest = self.nets
        y = first(x).float()
        if w0 != 1.0:
            y.mul_(w0)
        for w, net in rest:
            y.add_(net(x).float(), alpha=w)
        return y

    @torch.inference_mode()
    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> stylised, same size."""
        x = x.to(self.device, self.dtype).contiguous(memory_format=torch.channels_last)
        s = self.stroke_scale
        if s == 1.0:
            return self._paint(x).clamp(0, 1)
        h, w = x.shape[-2:]
        inner = (max(16, round(h / s)), max(16, round(w / s)))
        small = nn.functional.interpolate(x.float(), inner, mode="bilinear", antialias=s > 1, align_corners=False)
        y = self._paint(small.to(self.dtype).contiguous(memory_format=torch.channels_last))
        y = nn.functional.interpolate(y.float(), (h, w), mode="bilinear", antialias=s < 1, align_corners=False)
        if s > 1:  # the photo's edges back, at the strokes' own scale
            grey = (x.float() * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, True)
            y = guided_filter(grey, y, radius=max(1, round(s)), eps=1e-3)
        return y.clamp(0, 1)

    def _probe(self, size: tuple[int, int], batch: int = 1) -> Callable[[int], int]:
        run = super()._probe(size, batch)
        return lambda s: int(run(s) * max(1.0, 1 / self.stroke_scale) ** 2)
