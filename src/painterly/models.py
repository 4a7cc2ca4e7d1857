"""Feed-forward style models on disk: self-describing checkpoints, loading (``weights_only=True``) and applying.

A checkpoint is a plain dict of tensors, numbers and strings::

    format: "painterly-feedforward", painterly_version, arch, settings (the factory's arguments),
    state_dict, style: {name, thumbnail (uint8 3xHxW)}, loss: {backbone, layers, weights, content_loss},
    step, steps, optimizer (Adam state, for --resume), train (every training option)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import __version__
from .errors import PainterlyError, suggest
from .images import ImageLike, atomic_write, load_image, resize_long_side, scaled_size, to_pil, to_tensor
from .memory import oom_guard
from .networks import create_network, for_inference

FORMAT = "painterly-feedforward"


def thumbnail(img: Image.Image, side: int = 96) -> torch.Tensor:
    """A small uint8 (3, H, W) copy of the painting, stored in the checkpoint."""
    small = resize_long_side(img.convert("RGB"), side)
    return torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def save_checkpoint(path: Union[str, Path], ckpt: dict[str, Any], fmt: str = FORMAT) -> Path:
    """Write atomically (a crash or Ctrl-C never leaves half a file), stamped with ``fmt`` and the version."""
    path = Path(path)
    ckpt = {"format": fmt, "painterly_version": __version__, **ckpt}
    atomic_write(path, lambda tmp: torch.save(ckpt, tmp))
    return path


def load_checkpoint(path: Union[str, Path], fmt: str = FORMAT, noun: str = "model",
                    what: str = "feed-forward model") -> dict[str, Any]:
    """Read a checkpoint of format ``fmt`` with ``weights_only=True``; one-line errors for missing, corrupt or
    foreign files (``noun`` and ``what`` name the file and the kind expected in them)."""
    path = Path(path)
    if not path.is_file():
        raise PainterlyError(f"{noun} '{path}' not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle, zip and unpickler errors all mean "not a usable checkpoint"
        raise PainterlyError(f"{noun} '{path}' is not a readable painterly checkpoint "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise PainterlyError(f"'{path}' is not a painterly {what}")
    return ckpt


def for_distribution(ckpt: dict[str, Any], half: bool = True) -> dict[str, Any]:
    """A checkpoint without the optimiser state (only ``--resume`` needs it) and, with ``half``, its weights in
    float16 (loading casts them back to the network's dtype).  About a third of the size."""
    ck = {k: v for k, v in ckpt.items() if k not in ("optimizer", "format", "painterly_version")}
    if half:
        ck["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in ck["state_dict"].items()}
        if "history" in ck:  # the training loss curve: a plot's worth of precision
            ck["history"] = {k: v.half() for k, v in ck["history"].items()}
    return ck


def slim_checkpoint(model: str, output: Union[str, Path], half: bool = True) -> Path:
    """Write MODEL for distribution (:func:`for_distribution`)."""
    return save_checkpoint(output, for_distribution(load_checkpoint(resolve_model(model)[0]), half))


def network_from_checkpoint(ckpt: dict[str, Any], path: Union[str, Path] = "") -> nn.Module:
    net = create_network(ckpt["arch"], **ckpt.get("settings", {}))
    try:
        net.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise PainterlyError(f"model '{path}' does not fit architecture {ckpt.get('arch')}: "
                             f"{str(e).splitlines()[0][:160]}") from None
    return net.eval().requires_grad_(False)


def resolve_model(name_or_path: str, variant: str = "quality") -> tuple[Path, Optional[str]]:
    """A checkpoint path, or the name of a shipped painting (``painterly models`` lists them): the checkpoint, and
    the painting in it that the name picks (None for a path)."""
    p = Path(name_or_path)
    if p.suffix or os.sep in name_or_path or p.is_file():
        return p, None
    from .shipped import shipped_model_path  # the shipped models' catalogue
    return shipped_model_path(name_or_path, variant), name_or_path


class FrameStylizer:
    """What video, folders and the webcam need of a model: ``tensor(x)`` (B, 3, H, W) in [0, 1] -> stylised; this
    adds ``frames`` (uint8 frames for video) and calling it on an image."""

    device: torch.device
    dtype: torch.dtype

    def tensor(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - each model defines it
        raise NotImplementedError

    @torch.inference_mode()
    def frames(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """A batch of same-size RGB uint8 frames (H, W, 3) -> stylised, same size (for video)."""
        h, w = frames[0].shape[:2]
        checked = self.__dict__.setdefault("_room_checked", set())  # (w, h, batch) checked against free memory
        first = (w, h, len(frames)) not in checked
        with oom_guard(f"painting {len(frames)} frames of {w}x{h}", max(w, h), self.device,
                       probe=self._probe((w, h), len(frames)), pixels=len(frames) * w * h if first else None):
            x = torch.from_numpy(np.stack(frames)).to(self.device).permute(0, 3, 1, 2).to(self.dtype).div_(255)
            y = self.tensor(x).mul_(255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        checked.add((w, h, len(frames)))
        return list(y)

    def __call__(self, image: ImageLike, size: Optional[int] = None) -> Image.Image:
        img = load_image(image, "input image")
        if size:
            img = resize_long_side(img, size)
        with oom_guard(f"painting {img.width}x{img.height}", max(img.size), self.device, probe=self._probe(img.size),
                       pixels=img.width * img.height):
            return to_pil(self.tensor(to_tensor(img)))

    def _probe(self, size: tuple[int, int], batch: int = 1) -> Callable[[int], int]:
        """The same work on random pixels at long side ``s``, for :func:`painterly.memory.oom_guard`."""
        def run(s: int) -> int:
            w, h = scaled_size(size, s)
            self.tensor(torch.rand(batch, 3, h, w))
            return batch * w * h
        return run


def painting_names(ckpt: dict[str, Any]) -> list[str]:
    """The names of the paintings a checkpoint holds, in the order of its style rows (file names without suffix)."""
    styles = ckpt.get("styles") or [ckpt.get("style", {})]
    return [Path(str(s.get("name", "painting"))).stem for s in styles]


def parse_mix(spec: str, names: list[str], where: str = "the model") -> torch.Tensor:
    """``"starry-night:0.6,the-scream:0.4"`` (or one name) -> mixing weights over ``names``, summing to 1."""
    weights = torch.zeros(len(names))
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, w = part.partition(":")
        if name not in names:
            raise PainterlyError(f"no painting '{name}' in {where}{suggest(name, names)} (it has: {', '.join(names)})")
        try:
            value = float(w) if w else 1.0
        except ValueError:
            raise PainterlyError(f"--mix: '{w}' is not a number (as in starry-night:0.6,the-scream:0.4)") from None
        if not (value >= 0 and np.isfinite(value)):
            raise PainterlyError(f"--mix: weights must be non-negative numbers, got {w}")
        weights[names.index(name)] += value
    if not weights.sum() > 0:
        raise PainterlyError("--mix needs at least one painting with a weight above 0")
    return weights / weights.sum()


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

    ``mix``: for a network of several paintings (conditional instance normalisation, Dumoulin et al. 2017), which
    painting, or which blend of them (``"starry-night:0.6,the-scream:0.4"``); a shipped painting's name picks
    its painting by itself.  ``stroke_scale``: strokes S times larger (or smaller, S < 1) without retraining:
    the network paints the photo at 1/S of its size, and the picture, scaled back, takes the photo's edges by
    a guided filter (He et al. 2010)."""

    def __init__(self, model: str, device: str = "auto", mix: Optional[str] = None, stroke_scale: float = 1.0,
                 variant: str = "quality") -> None:
        from .optimize import resolve_device, resolve_precision
        self.path, painting = resolve_model(model, variant)
        self.checkpoint = load_checkpoint(self.path)
        self.device = resolve_device(device)
        self.dtype = resolve_precision("auto", self.device)
        if not stroke_scale > 0:
            raise PainterlyError(f"--stroke-scale must be greater than 0, got {stroke_scale}")
        self.stroke_scale = float(stroke_scale)
        net = network_from_checkpoint(self.checkpoint, self.path)
        self.paintings = painting_names(self.checkpoint)
        self.mix: Optional[torch.Tensor] = None
        if getattr(net, "styles", 1) > 1:
            spec = mix or painting
            if not spec:
                raise PainterlyError(f"'{self.path}' holds {len(self.paintings)} paintings "
                                     f"({', '.join(self.paintings)}): choose one or a blend with --mix "
                                     f"(as in --mix {self.paintings[0]} or --mix "
                                     f"{self.paintings[0]}:0.5,{self.paintings[1]}:0.5)")
            self.mix = parse_mix(spec, self.paintings, f"'{self.path.name}'")
            net = net.for_style(self.mix)
        elif mix:
            parse_mix(mix, self.paintings, f"'{self.path.name}'")  # names checked; one painting: nothing to blend
        # the same function, arranged for speed: separable pairs folded, bf16 where supported, channels-last
        self.net = for_inference(net, self.dtype).to(self.device)

    @property
    def name(self) -> str:
        if self.mix is not None:
            parts = [(n, float(w)) for n, w in zip(self.paintings, self.mix) if w > 0]
            return parts[0][0] if len(parts) == 1 else "+".join(f"{n}:{w:.2g}" for n, w in parts)
        return self.paintings[0] if self.checkpoint.get("styles") or self.checkpoint.get("style") else self.path.stem

    @torch.inference_mode()
    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> stylised, same size."""
        x = x.to(self.device, self.dtype).contiguous(memory_format=torch.channels_last)
        s = self.stroke_scale
        if s == 1.0:
            return self.net(x).float().clamp(0, 1)
        h, w = x.shape[-2:]
        inner = (max(16, round(h / s)), max(16, round(w / s)))
        small = nn.functional.interpolate(x.float(), inner, mode="bilinear", antialias=s > 1, align_corners=False)
        y = self.net(small.to(self.dtype).contiguous(memory_format=torch.channels_last))
        y = nn.functional.interpolate(y.float(), (h, w), mode="bilinear", antialias=s < 1, align_corners=False)
        if s > 1:  # the photo's edges back, at the strokes' own scale
            grey = (x.float() * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, True)
            y = guided_filter(grey, y, radius=max(1, round(s)), eps=1e-3)
        return y.clamp(0, 1)

    def _probe(self, size: tuple[int, int], batch: int = 1) -> Callable[[int], int]:
        run = super()._probe(size, batch)
        return lambda s: int(run(s) * max(1.0, 1 / self.stroke_scale) ** 2)


#: ``painterly apply adain:PAINTING.jpg ...``: AdaIN with that painting instead of a trained model
ADAIN_PREFIX = "adain:"


def load_stylizer(model: str, device: str = "auto", mix: Optional[str] = None, stroke_scale: float = 1.0,
                  variant: str = "quality") -> Any:
    """A feed-forward model (checkpoint path or shipped name) as a :class:`Stylizer`, or ``adain:PAINTING`` as an
    :class:`painterly.adain.AdaINStylizer`; both have ``.name``, ``.tensor``, ``.frames`` and are callable.
    ``mix``, ``stroke_scale`` and ``variant``: see :class:`Stylizer` (not for AdaIN)."""
    if model.startswith(ADAIN_PREFIX):
        from .adain import AdaINStylizer
        painting = model[len(ADAIN_PREFIX):]
        if not painting:
            raise PainterlyError("adain: needs a painting, as in adain:starry.jpg")
        from .shipped import resolve_painting  # a bundled painting by name, as in adain:starry-night
        if mix or stroke_scale != 1.0:
            raise PainterlyError("--mix and --stroke-scale are for trained networks, not adain: (AdaIN has "
                                 "--extra-style and --style-size)")
        return AdaINStylizer(resolve_painting(painting), device=device)
    return Stylizer(model, device, mix=mix, stroke_scale=stroke_scale, variant=variant)


def export_onnx(model: str, output: Union[str, Path], check_sizes: tuple[tuple[int, int], ...] = ((64, 80), (50, 77)),
                tolerance: float = 1e-3) -> dict[str, float]:
    """Export a feed-forward model to ONNX (fp32, dynamic height and width) and check it with onnxruntime against
    PyTorch at ``check_sizes``; returns the largest absolute difference per size.  Needs ``painterly[export]``."""
    try:
        import onnxruntime as ort
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise PainterlyError("ONNX export needs onnx, onnxscript and onnxruntime: pip install 'painterly[export]'") \
            from None
    import logging
    import warnings

    path = resolve_model(model)[0]
    ck = load_checkpoint(path)
    net = for_inference(network_from_checkpoint(ck, path))
    out = Path(output)
    dim_h = torch.export.Dim("height", min=16, max=16384)
    dim_w = torch.export.Dim("width", min=16, max=16384)

    def write(tmp: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            prog = torch.onnx.export(net, (torch.rand(1, 3, 64, 64),), dynamo=True, verbose=False,
                                     input_names=["image"], output_names=["stylised"],
                                     dynamic_shapes={"x": {2: dim_h, 3: dim_w}})
            prog.save(tmp)
        session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        for h, w in check_sizes:
            x = torch.rand(1, 3, h, w)
            got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            with torch.no_grad():
                want = net(x).numpy()
            diffs[f"{h}x{w}"] = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        bad = {k: v for k, v in diffs.items() if not v <= tolerance}
        if bad:
            raise PainterlyError(f"the ONNX model differs from PyTorch by more than {tolerance} at {bad}")

    diffs: dict[str, float] = {}
    atomic_write(out, write)
    return diffs
