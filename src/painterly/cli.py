"""The ``painterly`` command: a thin layer over the library.  Options come from the config dataclasses."""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import __version__
from .config import (MAX_SIDE, AdainConfig, AdainTrainConfig, ApplyConfig, ServeConfig, TrainConfig,
                     TransferConfig, make_config)
from .experiments import ExperimentConfig
from .errors import DivergedError, PainterlyError, shown, too_small_for_network
from .images import check_output_path, load_image, save_image
from .memory import is_out_of_memory
from .video import is_video

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: transfer options that make no sense in an experiment's shared base (each run has one painting)
EXPERIMENT_EXCLUDES = ("extra_style", "style_blend")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, exclude: Sequence[str] = ()) -> None:
    """One option per dataclass field: ``--field-name``, typed from the annotation, help and default from
    the field.  Validation (ranges, choices with suggestions) stays in the dataclass."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        t = hints[f.name]
        args = [t_ for t_ in typing.get_args(t) if t_ is not type(None)]
        base = args[0] if typing.get_origin(t) is typing.Union else t
        help_ = f.metadata.get("help", "")
        choices = f.metadata.get("choices")
        kw: dict[str, Any] = {"dest": f.name, "default": f.default}
        if choices is not None:
            names = choices() if callable(choices) else choices
            kw["metavar"] = "{" + ",".join(names) + "}"
        if "metavar" in f.metadata:
            kw["metavar"] = f.metadata["metavar"]
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            item = typing.get_args(base)[0]
            if f.metadata.get("repeat"):
                kw.update(action="append", type=item, default=None)
            else:
                kw.update(nargs="+", type=item, metavar=kw.get("metavar", "NAME"))
        else:
            kw["type"] = base
        default = f.default if f.default not in ((), None) else None
        kw["help"] = help_ + (f" (default: {default})" if default is not None else "")
        parser.add_argument("--" + f.name.replace("_", "-"), **kw)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="painterly", description="Neural style transfer: render a photo in the style of a painting.")
    p.add_argument("--version", action="version", version=f"painterly {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("transfer", help="optimisation-based style transfer (Gatys et al.)",
                       description="Paint CONTENT in the style of STYLE by optimising the image (Gatys et al. 2016).")
    t.add_argument("content", help="the photo, or a video (painted frame by frame: slow)")
    t.add_argument("style", help="the painting")
    t.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp, ...); "
                                                         "a .json record of the run is written beside it; "
                                                         "a video when CONTENT is one")
    add_config_arguments(t, TransferConfig)
    t.add_argument("--save-every", type=int, default=0, metavar="K",
                   help="write the picture every K steps next to the output (OUT.stepNNNN.png)")
    t.add_argument("--warm-iterations", type=int, default=40, metavar="N",
                   help="video: steps for each frame after the first, starting from the previous frame's picture "
                        "(default: %(default)s)")
    t.add_argument("--temporal", type=float, default=0.0, metavar="W",
                   help="video: blend in the previous picture warped by optical flow, weight W in [0, 1) "
                        "(default: off)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_transfer)

    e = sub.add_parser("experiment", help="compare options side by side (tables, plots, contact sheets)",
                       description="Run studies over transfer options on photo/painting pairs and write CSV and "
                                   "Markdown tables, loss curves, summary plots and contact sheets.")
    add_config_arguments(e, ExperimentConfig)
    add_config_arguments(e, TransferConfig, exclude=EXPERIMENT_EXCLUDES)
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    e.set_defaults(func=cmd_experiment)

    b = sub.add_parser("bench", help="measure speed on this machine",
                       description="Benchmarks (not tests): seconds per step for each precision and layout.")
    bsub = b.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
    bt = bsub.add_parser("transfer", help="seconds per optimisation step of painterly transfer")
    bt.add_argument("--size", type=int, default=512, help="long side in pixels (default: %(default)s)")
    bt.add_argument("--steps", type=int, default=10, help="timed steps per variant (default: %(default)s)")
    bt.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    bt.add_argument("--vs-pastiche", action="store_true", help="also time pastiche's CLI on the same pair")
    bt.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    bt.set_defaults(func=cmd_bench_transfer)
    bf = bsub.add_parser("feedforward", help="milliseconds per image of each feed-forward architecture")
    bf.add_argument("--size", type=int, default=512, help="square image side (default: %(default)s)")
    bf.add_argument("--runs", type=int, default=10, help="timed runs per architecture (default: %(default)s)")
    bf.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    bf.add_argument("--json", action="store_true",
                    help='print {"johnson": ms, "depsep": ms, ...} as JSON on the last line')
    bf.set_defaults(func=cmd_bench_feedforward)
    ba = bsub.add_parser("adain", help="milliseconds per image of AdaIN")
    ba.add_argument("--size", type=int, default=512, help="square photo and painting side (default: %(default)s)")
    ba.add_argument("--runs", type=int, default=5, help="timed runs (default: %(default)s)")
    ba.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    ba.add_argument("--decoder", default=None, help="decoder checkpoint (default: the shipped one)")
    ba.add_argument("--json", action="store_true", help='print {"ms": ...} as JSON on the last line')
    ba.set_defaults(func=cmd_bench_adain)

    tr = sub.add_parser("train", help="train a feed-forward style network (Johnson et al.; seed 000)",
                        description="Train a network to paint like STYLE in one pass, on a folder of photos, with the "
                                    "perceptual loss of painterly transfer. Under torchrun it trains on every process "
                                    "(DistributedDataParallel).")
    tr.add_argument("style", help="the painting")
    tr.add_argument("-o", "--output", default=TrainConfig.output, help="checkpoint to write (default: %(default)s)")
    add_config_arguments(tr, TrainConfig, exclude=("style", "output"))
    tr.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=cmd_train)

    ad = sub.add_parser("adain", help="any painting in one pass (AdaIN, Huang & Belongie; seed 004)",
                        description="Paint CONTENT like STYLE in one pass of an encoder-decoder: the photo's VGG19 "
                                    "features take the painting's statistics (AdaIN) and a trained decoder turns them "
                                    "back into a picture.  Any painting, no training per style.")
    ad.add_argument("content", help="the photo")
    ad.add_argument("style", help="the painting (a file, or a bundled painting's name: 'painterly models' lists them)")
    ad.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp, ...)")
    add_config_arguments(ad, AdainConfig)
    ad.add_argument("-q", "--quiet", action="store_true", help="no message when done")
    ad.set_defaults(func=cmd_adain)

    ta = sub.add_parser("train-adain", help="train the AdaIN decoder",
                        description="Train the decoder of AdaIN (Huang & Belongie 2017) on a folder of photos and a "
                                    "folder of paintings; checkpoints, --resume and progress as in 'painterly train'.")
    ta.add_argument("-o", "--output", default=AdainTrainConfig.output, help="checkpoint to write (default: %(default)s)")
    add_config_arguments(ta, AdainTrainConfig, exclude=("output",))
    ta.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ta.set_defaults(func=cmd_train_adain)

    ap = sub.add_parser("apply", help="stylise images, folders or videos with a feed-forward model",
                        description="Stylise INPUT (an image, a folder of images, or a video) with MODEL (a checkpoint "
                                    "or the name of a shipped model) in one pass per image.  A video keeps its "
                                    "frames, timestamps, rotation and audio.")
    ap.add_argument("model", help="checkpoint path or shipped model name ('painterly models' lists them), or "
                                  "adain:PAINTING (any painting file or bundled painting name, through AdaIN)")
    ap.add_argument("input", help="an image, a folder of images, or a video (.mp4, .mov, .mkv, .webm, ...)")
    ap.add_argument("-o", "--output", required=True,
                    help="output image; a folder when INPUT is a folder; a video when INPUT is one")
    add_config_arguments(ap, ApplyConfig)
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ap.set_defaults(func=cmd_apply)

    wc = sub.add_parser("webcam", help="stylise a camera live, in a window",
                        description="Show the camera stylised live, with an fps overlay.  Keys: " + webcam_keys())
    wc.add_argument("models", nargs="*", help="checkpoints or shipped model names to cycle through "
                                              "(default: every shipped model)")
    wc.add_argument("--camera", default="0", help="camera index, or a video file standing in for a camera "
                                                  "(default: %(default)s)")
    wc.add_argument("--size", type=int, default=640, help="long side of the stylised picture; smaller is faster "
                                                          "(default: %(default)s)")
    wc.add_argument("--side-by-side", action="store_true", help="start with the camera beside the picture")
    wc.add_argument("--snapshot-dir", default=".", help="where snapshots go (default: the current folder)")
    wc.add_argument("--headless", action="store_true", help="no window: run the loop and report fps")
    wc.add_argument("--frames", type=int, default=0, help="stop after N frames (default: 0, never)")
    wc.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    wc.set_defaults(func=cmd_webcam)

    ex = sub.add_parser("export", help="export a feed-forward model to ONNX, or slim it for sharing",
                        description="OUTPUT.onnx: write MODEL as ONNX (fp32, dynamic height and width) and check it "
                                    "against PyTorch with onnxruntime.  OUTPUT.pt: a painterly checkpoint without the "
                                    "optimiser state, weights in float16 (--no-half keeps float32).")
    ex.add_argument("model", help="checkpoint path or shipped model name")
    ex.add_argument("-o", "--output", required=True, help="the .onnx or .pt file to write")
    ex.add_argument("--half", action=argparse.BooleanOptionalAction, default=True,
                    help="float16 weights in a .pt output (default: %(default)s)")
    ex.set_defaults(func=cmd_export)

    sv = sub.add_parser("serve", help="a local web page: upload a photo, pick a painting, watch it paint",
                        description="Start the web page (Gradio; needs pip install 'painterly[web]').  It binds to "
                                    "127.0.0.1 unless --host says otherwise; its API endpoint is /transfer.")
    add_config_arguments(sv, ServeConfig)
    sv.set_defaults(func=cmd_serve)

    ev = sub.add_parser("evaluate", help="measure a stylised picture against its photo and painting",
                        description="Score OUTPUT, a picture of CONTENT in the style of STYLE: style distance (also "
                                    "with OUTPUT at 1/2 and 1/4 size, so stroke size shows) and content distance "
                                    "(lower is better), MSE and SSIM against the photo, and Wang et al. (2021)'s "
                                    "content fidelity, global effects and local patterns (higher is better; a "
                                    "repeated small motif scores a low lp2).")
    ev.add_argument("output", help="the stylised picture")
    ev.add_argument("content", help="the photo it was made from")
    ev.add_argument("style", help="the painting (a file, or a bundled painting's name)")
    ev.add_argument("--reference", default=None, help="compare MSE and SSIM with this picture instead of the photo")
    ev.add_argument("--json", action="store_true", help="print the measures as one JSON object")
    ev.set_defaults(func=cmd_evaluate)

    m = sub.add_parser("models", help="list the shipped feed-forward models")
    m.add_argument("--json", action="store_true", help="print the list as JSON")
    m.set_defaults(func=cmd_models)

    l_ = sub.add_parser("layers", help="list a backbone's layer names",
                        description="List the layer names of a backbone; defaults are marked.")
    l_.add_argument("--backbone", default=TransferConfig.backbone, help="backbone (default: %(default)s)")
    l_.add_argument("--weights", default=None, help="weights file for the backbone")
    l_.set_defaults(func=cmd_layers)
    return p


def _config_from_args(cls: type, args: argparse.Namespace, exclude: Sequence[str] = ()) -> Any:
    """The dataclass from parsed options (fields in ``exclude`` keep their defaults; an unused repeatable
    option, None from argparse, keeps its default too)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in exclude:
            v = getattr(args, f.name)
            values[f.name] = f.default if v is None and f.metadata.get("repeat") else v
    return make_config(cls, values)


def cmd_transfer(args: argparse.Namespace) -> int:
    from .optimize import Interrupted, StyleTransfer

    if args.save_every < 0:
        raise PainterlyError(f"--save-every must be non-negative, got {args.save_every}")
    from .shipped import resolve_painting  # a bundled painting by name, as in `painterly transfer photo.jpg the-scream`

    args.style = resolve_painting(args.style)
    cfg = _config_from_args(TransferConfig, args)
    cfg = cfg.replace(extra_style=tuple(map(resolve_painting, cfg.extra_style)))
    if is_video(args.content):
        return _transfer_video(args, cfg)
    out = check_output_path(args.output)
    photo = load_image(args.content, "content image")  # fail fast, before the network is loaded
    paintings = [load_image(p, "style image") for p in [args.style, *cfg.extra_style]]
    engine = StyleTransfer(cfg)
    engine.check_memory(photo, paintings)
    engine.backbone  # loads the weights and checks layer names before any progress is shown
    bar = None
    if not args.quiet:
        from tqdm import tqdm
        bar = tqdm(total=None, unit="step", dynamic_ncols=True, file=sys.stderr)

    def callback(it: Any) -> None:
        if bar is not None:
            bar.total = it.iterations  # all scales together
            bar.set_postfix({"px": it.scale, **{k: f"{v:.4g}" for k, v in it.terms.items()}}, refresh=False)
            bar.update(1)
        if args.save_every and it.step % args.save_every == 0 and it.step < it.iterations:
            save_image(it.pil(), out.with_name(f"{out.stem}.step{it.step:04d}{out.suffix}"))

    try:
        result = engine.run(args.content, args.style, callback)
    except Interrupted as e:
        _close(bar)
        e.result.save(out)
        print(f"painterly: interrupted at step {e.result.steps}; saved the picture so far to {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DivergedError as e:
        _close(bar)
        res = getattr(e, "result", None)
        if res is not None and res.steps:
            res.save(out)
            raise PainterlyError(f"{e}; saved the last finite picture (step {res.steps}) to {out}") from None
        raise
    finally:
        _close(bar)
    result.save(out)
    if not args.quiet:
        print(f"painterly: wrote {out} ({result.image.size[0]}x{result.image.size[1]}, "
              f"{result.steps} steps, {result.seconds:.1f} s)", file=sys.stderr)
    return EXIT_OK


def _transfer_video(args: argparse.Namespace, cfg: TransferConfig) -> int:
    from .optimize import StyleTransfer, video_painter

    if args.warm_iterations < 1:
        raise PainterlyError(f"--warm-iterations must be positive, got {args.warm_iterations}")
    load_image(args.style, "style image")
    engine = StyleTransfer(cfg)
    engine.backbone  # loads the weights and checks layer names before any progress is shown
    args.size, args.batch = cfg.size, 1
    return _stylize_video(args, Path(args.content), video_painter(engine, args.style, args.warm_iterations))


def _check_side(value: int, flag: str, least: int) -> None:
    if not least <= value <= MAX_SIDE:
        raise PainterlyError(f"{flag} must be between {least} and {MAX_SIDE}, got {shown(value)}")


def _close(bar: Any) -> None:
    if bar is not None and not bar.disable:
        bar.close()


def cmd_experiment(args: argparse.Namespace) -> int:
    from .experiments import ExperimentInterrupted, run_experiment
    from .shipped import resolve_painting

    exp = _config_from_args(ExperimentConfig, args)
    exp = dataclasses.replace(exp, style=tuple(map(resolve_painting, exp.style)))  # files or bundled names
    base = _config_from_args(TransferConfig, args, exclude=EXPERIMENT_EXCLUDES)
    state: dict[str, Any] = {"bar": None}

    def progress(label: str, it: Any) -> None:
        if args.quiet:
            return
        from tqdm import tqdm
        if it is None:
            _close(state["bar"])
            state["bar"] = tqdm(total=None, desc=label, unit="step", file=sys.stderr, dynamic_ncols=True)
        else:
            state["bar"].total = it.iterations
            state["bar"].set_postfix(loss=f"{it.loss:.4g}", refresh=False)
            state["bar"].update(1)

    try:
        out = run_experiment(exp, base, progress)
    except ExperimentInterrupted as e:
        _close(state["bar"])
        print("painterly: interrupted; " + (f"the finished runs are in {e.folder}/results.md" if e.folder
                                            else "no run had finished"), file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _close(state["bar"])
    print(f"painterly: wrote the studies to {out}/", file=sys.stderr)
    return EXIT_OK


def cmd_bench_transfer(args: argparse.Namespace) -> int:
    import json

    from .bench import bench_transfer

    _check_side(args.size, "--size", 1)
    if args.steps < 1:
        raise PainterlyError("--steps must be positive")
    res = bench_transfer(args.size, args.steps, args.vs_pastiche, args.device)
    print(f"painterly transfer, {args.size} px, {res['threads']} threads, {args.device}:")
    for k, v in res["seconds_per_step"].items():
        extra = f"  ({res['speedup_vs_pastiche'][k]:.2f}x pastiche)" if "speedup_vs_pastiche" in res else ""
        print(f"  {k:<20} {v:.3f} s/step{extra}")
    if args.vs_pastiche:
        p = res.get("pastiche_seconds_per_step")
        print(f"  {'pastiche 1.6 (CLI)':<20} " + (f"{p:.3f} s/step" if p else "could not run pastiche"))
    if args.json:
        print(json.dumps(res))
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from .shipped import resolve_painting
    from .training import train

    cfg = _config_from_args(TrainConfig, args)
    # files or bundled paintings' names
    cfg = cfg.replace(style=resolve_painting(cfg.style), extra_style=tuple(map(resolve_painting, cfg.extra_style)))
    if not cfg.data:
        raise PainterlyError("--data DIR is required (a folder of training photos)")
    check_output_path(cfg.output, (".pt", ".pth"))
    for p in (cfg.style, *cfg.extra_style):
        load_image(p, "style image")
    return _train_with_progress(train, cfg, args.quiet or int(os.environ.get("RANK", 0)) != 0)


def cmd_adain(args: argparse.Namespace) -> int:
    import time

    from .adain import stylize
    from .shipped import resolve_painting

    cfg = _config_from_args(AdainConfig, args)
    out = check_output_path(args.output)
    t = time.perf_counter()
    img = stylize(args.content, resolve_painting(args.style),
                  cfg.replace(extra_style=tuple(map(resolve_painting, cfg.extra_style))))
    save_image(img, out)
    if not args.quiet:
        print(f"painterly: wrote {out} ({img.size[0]}x{img.size[1]}, {time.perf_counter() - t:.1f} s)",
              file=sys.stderr)
    return EXIT_OK


def cmd_train_adain(args: argparse.Namespace) -> int:
    from .training import train_adain

    cfg = _config_from_args(AdainTrainConfig, args)
    if not cfg.content_data or not cfg.style_data:
        raise PainterlyError("--content-data DIR and --style-data DIR are required (photos and paintings)")
    check_output_path(cfg.output, (".pt", ".pth"))
    return _train_with_progress(train_adain, cfg, args.quiet)


def _train_with_progress(train_fn: Callable, cfg: Any, quiet: bool) -> int:
    """Run ``train_fn(cfg, callback)`` with a progress bar (loss terms, images/s; resumed runs start where they
    were); Ctrl-C: the checkpoint is saved and the message says how to continue."""
    from .training import TrainingInterrupted

    bar = None
    if not quiet:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def callback(it: Any) -> None:
        if bar is not None:
            if bar.n == 0 and it.step > 1:
                bar.update(it.step - 1)  # resumed
            bar.set_postfix({**{k: f"{v:.4g}" for k, v in it.terms.items()}, "img/s": f"{it.images_per_second:.1f}"},
                            refresh=False)
            bar.update(1)

    try:
        out = train_fn(cfg, callback)
    except TrainingInterrupted as e:
        _close(bar)
        print(f"painterly: interrupted; saved the checkpoint at step {e.step} to {e.path} "
              f"(continue with --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _close(bar)
    if not quiet:
        print(f"painterly: wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from .models import load_stylizer
    from .training import image_files

    cfg = _config_from_args(ApplyConfig, args)
    src = Path(args.input)
    if not src.exists():
        raise PainterlyError(f"input '{src}' not found")
    video = is_video(src)
    model = load_stylizer(args.model, cfg.device, mix=cfg.mix, stroke_scale=cfg.stroke_scale,
                          variant=cfg.variant_for(video))
    if video:
        return _stylize_video(args, src, model.frames)
    if src.is_dir():
        files = image_files(src)
        if not files:
            raise PainterlyError(f"no images in folder '{src}'")
        dest = Path(args.output)
        if dest.exists() and not dest.is_dir():
            raise PainterlyError(f"output '{dest}' must be a folder when the input is a folder")
        created = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        skipped: list[str] = []
        it = files
        if not args.quiet:
            from tqdm import tqdm
            it = tqdm(files, unit="img", dynamic_ncols=True, file=sys.stderr)
        for f in it:
            target = dest / f.relative_to(src).with_suffix(".png")
            try:
                img = model(f, args.size)
                target.parent.mkdir(parents=True, exist_ok=True)
                save_image(img, target)
            except PainterlyError as e:
                skipped.append(str(e))
        _close(it if not args.quiet else None)
        if len(skipped) == len(files):
            if created:
                dest.rmdir()  # nothing was written: leave no empty folder behind
            raise PainterlyError(f"none of the {len(files)} images in '{src}' could be painted (first: {skipped[0]})")
        if not args.quiet:
            for e in skipped:
                print(f"painterly: skipped: {e}", file=sys.stderr)
            print(f"painterly: wrote {len(files) - len(skipped)} images to {dest}/"
                  + (f" ({len(skipped)} unreadable skipped)" if skipped else ""), file=sys.stderr)
        elif skipped:
            print(f"painterly: skipped {len(skipped)} unreadable images (first: {skipped[0]})", file=sys.stderr)
        return EXIT_OK
    out = check_output_path(args.output)
    img = model(src, args.size)
    save_image(img, out)
    if not args.quiet:
        print(f"painterly: wrote {out} ({img.size[0]}x{img.size[1]})", file=sys.stderr)
    return EXIT_OK


def _stylize_video(args: argparse.Namespace, src: Path, frames: Callable) -> int:
    """A video in, a video out (frames, timestamps, rotation and audio kept), with a progress bar."""
    from .video import OUTPUT_SUFFIXES, stylize_video

    out = check_output_path(args.output, OUTPUT_SUFFIXES)
    bars: list[Any] = []  # made at the first frame: stylize_video has read the frame count by then

    def progress(p: Any) -> None:
        if not bars:
            from tqdm import tqdm
            bars.append(tqdm(total=p.total or None, unit="frame", dynamic_ncols=True, file=sys.stderr))
        bars[0].update(p.frame - bars[0].n)
        bars[0].set_postfix(fps=f"{p.fps:.1f}", refresh=False)

    try:
        res = stylize_video(src, out, frames, size=args.size, batch=args.batch, temporal=args.temporal,
                            callback=None if args.quiet else progress)
    finally:
        for bar in bars:
            bar.close()
    if res.interrupted or not args.quiet:
        print(f"painterly: {'interrupted; ' if res.interrupted else ''}wrote {res.frames} frames to {out} "
              f"({res.frames / res.seconds:.1f} frames/s)", file=sys.stderr)
    return EXIT_INTERRUPTED if res.interrupted else EXIT_OK


def webcam_keys() -> str:
    from .webcam import KEYS
    return KEYS


def cmd_webcam(args: argparse.Namespace) -> int:
    from .shipped import shipped_models
    from .webcam import run_webcam

    models = args.models or list(shipped_models())
    if args.frames < 0:
        raise PainterlyError(f"--frames must be 0 or more, got {args.frames}")
    _check_side(args.size, "--size", 16)
    stats = run_webcam(models, args.camera, args.size, args.device, args.headless, args.frames, args.side_by_side,
                       args.snapshot_dir)
    print(f"painterly: {stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} fps)"
          + (f"; snapshots: {', '.join(map(str, stats.snapshots))}" if stats.snapshots else ""), file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .models import export_onnx, slim_checkpoint

    out = check_output_path(args.output, (".onnx", ".pt"))
    if out.suffix.lower() == ".pt":
        slim_checkpoint(args.model, out, args.half)
        print(f"painterly: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
        return EXIT_OK
    diffs = export_onnx(args.model, out)
    print(f"painterly: wrote {out}; onnxruntime matches PyTorch (max abs difference "
          + ", ".join(f"{v:.1e} at {k}" for k, v in diffs.items()) + ")", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .web import check_address, serve

    cfg = _config_from_args(ServeConfig, args)
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
}


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from .metrics import evaluate
    from .shipped import resolve_painting

    images = [load_image(args.output, "output"), load_image(args.content, "content image"),
              load_image(resolve_painting(args.style), "style image")]
    reference = load_image(args.reference, "reference image") if args.reference else None
    got = evaluate(*images, reference=reference)
    if args.json:
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
    import json

    from .shipped import describe_models

    rows = describe_models()
    if args.json:
        print(json.dumps(rows))
    elif not rows:
        print("no shipped models yet; train one with 'painterly train STYLE --data DIR -o MODEL.pt'")
    elif rows:
        print(f"{'name':<18} {'arch':<6} {'ms/512px':>8} {'style':>6} {'content':>7}  painting")
        for r in rows:
            j = r["judge"] or {}
            print(f"{r['name']:<18} {r['arch']:<6} {r['cpu_ms_512'] or float('nan'):>8.0f} "
                  f"{j.get('style', float('nan')):>6.3f} {j.get('content', float('nan')):>7.3f}  {r['painting']}")
        print("style, content: mean distances on held-out photos at 512 px, lower is better (--json: the whole model "
              "cards); use one with 'painterly apply NAME PHOTO -o OUT'")
    return EXIT_OK


def cmd_bench_feedforward(args: argparse.Namespace) -> int:
    import json

    from .bench import bench_feedforward

    _check_side(args.size, "--size", 16)
    if args.runs < 1:
        raise PainterlyError("--runs must be positive")
    res = bench_feedforward(args.size, args.runs, args.device)
    print(f"feed-forward networks, {args.size}x{args.size}, {res['dtype']}, {res['threads']} threads, {args.device}:")
    print(f"  {'architecture':<15} {'params':>9} {'GMAC':>7} {'as trained':>11} {'as applied':>11}")
    for arch, r in res["architectures"].items():
        print(f"  {arch:<15} {r['params']:>9,} {r['gmac']:>7.2f} {r['plain_ms']:>8.1f} ms {r['ms']:>8.1f} ms")
    if args.json:
        print(json.dumps({arch: r["ms"] for arch, r in res["architectures"].items()}))
    return EXIT_OK


def cmd_bench_adain(args: argparse.Namespace) -> int:
    import json

    from .bench import bench_adain

    _check_side(args.size, "--size", 16)
    if args.runs < 1:
        raise PainterlyError("--runs must be positive")
    res = bench_adain(args.size, args.runs, args.device, args.decoder)
    print(f"AdaIN, {args.size}x{args.size} photo and painting, {res['dtype']}, {res['threads']} threads, "
          f"{args.device}:")
    for k, v in res["parts_ms"].items():
        print(f"  {k:<28} {v:>8.1f} ms")
    print(f"  {'one photo, new painting':<28} {res['ms']:>8.1f} ms")
    print(f"  {'one photo, painting known':<28} {res['ms_style_cached']:>8.1f} ms  (folders, video, webcam)")
    if args.json:
        print(json.dumps({"ms": res["ms"], "ms_style_cached": res["ms_style_cached"]}))
    return EXIT_OK


def cmd_layers(args: argparse.Namespace) -> int:
    from .backbones import create_backbone

    net = create_backbone(args.backbone, args.weights)
    for name in net.layer_names:
        marks = [m for m, layers in (("content", net.default_content_layers), ("style", net.default_style_layers))
                 if name in layers]
        print(name + (f"  ({', '.join(marks)} default)" if marks else ""))
    return EXIT_OK


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _internal_error(e: BaseException) -> int:
    """A bug (an exception no command turned into a message): one line, or the traceback with PAINTERLY_DEBUG."""
    if os.environ.get("PAINTERLY_DEBUG"):
        raise e
    text = str(e).splitlines()[0][:200] if str(e).strip() else ""
    print(f"painterly: internal error: {type(e).__name__}{': ' + text if text else ''} "
          "(set PAINTERLY_DEBUG=1 for details)", file=sys.stderr)
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
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MemoryError, RuntimeError) as e:
        if is_out_of_memory(e):
            print("painterly: error: out of memory; try a smaller --size", file=sys.stderr)
            return EXIT_ERROR
        if too_small_for_network(e):  # pooling below 1 pixel
            print("painterly: error: the picture is too small for the network's poolings; use a larger --size "
                  "(or --image-size, --style-scale)", file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
