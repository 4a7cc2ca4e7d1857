"""Fuzz tests (hypothesis), bounded in time and reproducible (derandomize=True, no example database).

* ``load_image`` on arbitrary bytes and on small valid images (every format and mode painterly reads) that were
  then truncated, overwritten or had bytes inserted: it returns an RGB picture at least 1x1, or raises a one-line
  ``PainterlyError`` naming the file.  Nothing else may escape.
* ``painterly.app.cli.main`` on argument lists built from the real subcommands and flags (collected from
  ``build_parser``) and hostile values: it returns an exit status, or argparse exits with 0 (--help) or 2
  (usage).  When the status is 1 the error is one line ("painterly: error: ..."), never a traceback and never the
  CLI's last-resort "internal error" (an exception the command did not turn into a user message).

The CLI calls do real work, kept cheap: every command that would optimise or train gets small sizes and one step
appended (argparse keeps the last value of an option, so generated values are still parsed and checked first);
``serve`` and ``webcam`` are not generated (they start a server or a camera); downloads of backbone weights are
made to fail as if offline; every call runs in a fresh temporary folder, so nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import tempfile
import urllib.error
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image

from painterly.app.cli import build_parser, main
from painterly.errors import PainterlyError
from painterly.images import load_image

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):  # hypothesis caches files; keep them out of the repository
    _HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="painterly-hypothesis-")
    set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

# --------------------------------------------------------------------------------------------------------------
# 1. The image loader
# --------------------------------------------------------------------------------------------------------------

EXTENSIONS = [".png", ".jpg", ".gif", ".webp", ".bmp", ".tif"]

#: format -> modes Pillow can write in it
FORMAT_MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "JPEG": ["1", "L", "RGB", "CMYK"],
    "GIF": ["1", "L", "P", "RGB", "RGBA"],
    "BMP": ["1", "L", "P", "RGB", "RGBA"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"],
    "WEBP": ["L", "RGB", "RGBA"],
}
FORMAT_OPTIONS = {  # extra save options, one drawn per image
    "PNG": [{}, {"optimize": True}, {"transparency": 0}],
    "JPEG": [{}, {"progressive": True}, {"quality": 5}],
    "GIF": [{}, {"save_all": True}, {"transparency": 0}],
    "BMP": [{}],
    "TIFF": [{}, {"compression": "tiff_lzw"}, {"compression": "tiff_deflate"}, {"compression": "packbits"}],
    "WEBP": [{}, {"lossless": True}],
}
EXIF_ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 65535]  # the last three are invalid


def _pixels(mode: str, w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "1":
        return Image.fromarray(rng.random((h, w)) > 0.5)
    if mode in ("L", "P"):
        return Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).convert(mode)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    if mode == "I":
        return Image.fromarray(rng.integers(-(2**31), 2**31, (h, w), dtype=np.int32))
    if mode == "F":
        return Image.fromarray((rng.standard_normal((h, w)) * 1000).astype(np.float32))
    return Image.frombytes(mode, (w, h), rng.integers(0, 256, w * h * len(mode), dtype=np.uint8).tobytes())


EXIF_KINDS = ("none", "orientation", "broken", "junk")


@st.composite
def valid_images(draw, exif: tuple[str, ...] = EXIF_KINDS, formats: tuple[str, ...] = tuple(FORMAT_MODES)) -> bytes:
    """A small image in a format and mode painterly reads, with EXIF of one of the kinds ``exif``: none, an
    orientation (valid or not), or a damaged block ("broken": a real one mutated; "junk": random bytes after a
    TIFF header) in a file that is otherwise intact (chunk checksums right)."""
    fmt = draw(st.sampled_from(sorted(formats)))
    mode = draw(st.sampled_from(FORMAT_MODES[fmt]))
    w, h = draw(st.integers(1, 32)), draw(st.integers(1, 32))
    img = _pixels(mode, w, h, draw(st.integers(0, 2**16)))
    kw = dict(draw(st.sampled_from(FORMAT_OPTIONS[fmt])))
    if kw.get("transparency") == 0 and img.mode not in ("P", "L", "1"):
        kw.pop("transparency")
    if kw.get("save_all"):  # an animation: a second frame of another size
        kw["append_images"] = [_pixels(mode, draw(st.integers(1, 32)), draw(st.integers(1, 32)), 1)]
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        kinds = [k for k in exif if fmt != "TIFF" or k in ("none", "orientation")]  # libtiff writes no broken tags
        kind = draw(st.sampled_from(kinds or ["none"]))
        if kind != "none":
            tags = Image.Exif()
            tags[0x0112] = draw(st.sampled_from(EXIF_ORIENTATIONS if fmt != "TIFF" else EXIF_ORIENTATIONS[:8]))
            kw["exif"] = tags.tobytes()
            if kind == "broken":
                kw["exif"] = draw(mutated(kw["exif"]))
            elif kind == "junk":
                kw["exif"] = draw(st.sampled_from([b"", b"Exif\x00\x00", b"II*\x00", b"MM\x00*"])) + draw(
                    st.binary(max_size=64)
                )
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """``data`` truncated, overwritten at some places, and with bytes inserted (each possibly not at all)."""
    b = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert"]))
        if not b:
            break
        pos = draw(st.integers(0, len(b) - 1))
        if op == "truncate":
            del b[pos:]
        elif op == "flip":
            b[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            new = draw(st.binary(min_size=1, max_size=8))
            b[pos : pos + len(new)] = new
        else:
            b[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(b)


def check_loader(data: bytes, ext: str) -> None:
    # Mutated headers can claim big pictures: keep what Pillow may allocate small (same code path, lower limit).
    with mock.patch.dict(os.environ, {"PAINTERLY_MAX_PIXELS": "1000000"}), tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz_input{ext}"
        path.write_bytes(data)
        try:
            img = load_image(path, "photo")
        except PainterlyError as e:
            msg = str(e)
            assert "\n" not in msg, f"multi-line message: {msg!r}"
            assert path.name in msg, f"message does not name the file: {msg!r}"
            return
        assert isinstance(img, Image.Image), type(img)
        assert img.mode == "RGB", img.mode
        assert img.size[0] >= 1 and img.size[1] >= 1, img.size


@settings(FUZZ, max_examples=500)
@given(data=st.binary(max_size=2000), ext=st.sampled_from(EXTENSIONS))
def test_load_image_arbitrary_bytes(data, ext):
    check_loader(data, ext)


@settings(FUZZ, max_examples=1000)
@given(data=valid_images().flatmap(mutated), ext=st.sampled_from(EXTENSIONS))
def test_load_image_mutated_valid_images(data, ext):
    check_loader(data, ext)


@settings(FUZZ, max_examples=300)
@given(data=valid_images(exif=("broken", "junk"), formats=("PNG", "JPEG", "WEBP")), ext=st.sampled_from(EXTENSIONS))
def test_load_image_damaged_exif(data, ext):
    """Intact pixels, damaged metadata (what cameras and editors sometimes write)."""
    check_loader(data, ext)


@settings(FUZZ, max_examples=100)
@given(data=valid_images(exif=("none", "orientation")), ext=st.sampled_from(EXTENSIONS))
def test_load_image_intact_images_load(data, ext):
    """The generator itself: intact images (any extension) must load, or the mutation tests prove little."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz_input{ext}"
        path.write_bytes(data)
        img = load_image(path)
        assert img.mode == "RGB" and min(img.size) >= 1


# --------------------------------------------------------------------------------------------------------------
# 2. The command line
# --------------------------------------------------------------------------------------------------------------

SKIPPED_COMMANDS = {"serve", "webcam"}  # a server and a camera: they block


def _cli_flags() -> dict[str, list[argparse.Action]]:
    """Subcommand (``bench transfer`` for nested ones) -> its optional actions, from the real parser."""

    def subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for a in p._actions:  # noqa: SLF001 - argparse has no public way to list subcommands
            if isinstance(a, argparse._SubParsersAction):  # noqa: SLF001
                return dict(a.choices)
        return {}

    out = {}
    for name, p in subparsers(build_parser()).items():
        if name in SKIPPED_COMMANDS:
            continue
        nested = subparsers(p)
        for sub_name, sp in nested.items() if nested else [("", p)]:
            out[f"{name} {sub_name}".strip()] = [
                a
                for a in sp._actions  # noqa: SLF001
                if a.option_strings and not isinstance(a, argparse._HelpAction)
            ]
    return out


CLI_FLAGS = _cli_flags()

LONG = "x" * 300  # longer than a file name may be
NUMBERS = [
    "0",
    "-1",
    "1",
    "2",
    "0.5",
    "16",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-inf",
    "1e-300",
    "-0",
    "abc",
    "",
    "9" * 400,
    "9" * 5000,
    "1_0",
    " 3",
    "0x10",
    "\u0663",
    "1e3",
    "1e300",
    "18446744073709551616",
    "-9223372036854775809",
]  # the last two: just outside 64-bit integers
PATHS = [
    "img.png",
    "text.png",
    "empty.png",
    "missing.png",
    "dir",
    "photos",
    "fake.mp4",
    "bad.pt",
    "",
    LONG,
    LONG + ".png",
    "dir/",
    "no/such/dir/a.png",
    "img.png/x.png",
    "-",
    ".",
]
IMAGES = [
    "img.png",
    "text.png",
    "empty.png",
    "missing.png",
    "dir",
    "fake.mp4",
    "",
    LONG + ".png",
    "starry-night",
    "starry_nigh",
    "img.png/x.png",
]
MODELS = [
    "udnie",
    "starry-night",
    "udni",
    "adain:img.png",
    "adain:starry-night",
    "adain:",
    "adain:text.png",
    "bad.pt",
    "img.png",
    "missing.pt",
    "dir",
    "",
    LONG,
    "model.pt",
]
OUTPUTS = [
    "out.png",
    "out.jpg",
    "out.webp",
    "out.txt",
    "out",
    "",
    "dir",
    "no/such/dir/out.png",
    "out.pt",
    "out.PNG",
    "img.png",
    "text.png",
    LONG + ".png",
    ".png",
    "out.mp4",
    "photos",
    "out.tif",
]
LAYERS = [
    "relu4_2",
    "relu1_1",
    "relu1_1:2",
    "relu1_1:0",
    "relu1_1:-1",
    "relu1_1:nan",
    "relu1_1:abc",
    "bogus",
    ":",
    "relu9_9",
    "conv1_1",
    "pool5",
    "layer3",
]
DEVICES = ["cpu", "auto", "cuda", "cuda:7", "cuda:x", "mps", "abc", "", "CPU"]

#: kind of value -> (plausible values, all values); a value is drawn from the first list two times in three, so
#: that many commands get far enough to do their work, while every odd value still turns up
VALUES = {
    "image": (["img.png"], IMAGES),
    "model": (["udnie", "adain:img.png"], MODELS),
    "input": (["img.png", "photos"], IMAGES + ["photos", "dir", "broken"]),
    "output": (["out.png", "out.jpg"], OUTPUTS),
    "checkpoint": (["model.pt"], OUTPUTS + ["model.pth"]),
    "export": (["model.pt"], OUTPUTS + ["model.onnx.txt", "no/such/dir/m.onnx"]),  # a real .onnx export: 6 s
    "folder": (["photos"], PATHS + ["broken"]),
    "path": ([], PATHS),
    "out": (["exp"], ["exp", "", "dir", "img.png", "no/such/dir/exp", LONG]),
    "device": (["cpu", "auto"], DEVICES),
    "backbone": (["vgg19"], ["vgg19", "vgg16", "resnet50", "VGG19", "abc", ""]),
    "scales": (
        ["none", "auto", "16:1"],
        [
            "auto",
            "none",
            "16:1",
            "16:1,32:1",
            "abc",
            "",
            "16:0",
            "0:1",
            "-1",
            "16:nan",
            "1e309",
            ",",
            "16:",
            ":1",
            "32,16",
        ],
    ),
    "layers": (["relu4_2", "relu1_1:2"], LAYERS),
    "vary": (
        ["optimizer=lbfgs,adam", "iterations=1,2", "pool=max,avg"],
        [
            "optimizer=lbfgs,adam",
            "iterations=1,2",
            "pool=max,avg",
            "size=16",
            "bogus=1",
            "lr=abc",
            "=",
            "optimizer",
            "init=noise",
            "preserve_color=true,false",
            "style_layers=relu1_1",
            "seed=1,2",
            "backbone=vgg16",
            "optimizer=",
            "lr=nan",
            "extra_style=img.png",
            "size=0",
            "iterations=0",
        ],
    ),
    "sweep": (["1,2"], ["1", "1,2", "0", "-1", "abc", "", ",", "1e309", "2,1", "1,1"]),
    "reference": (["adain", "img.png"], ["adain", *PATHS]),
    "weights_for": ([], ["vgg19=missing.pt", "vgg16=bad.pt", "abc", "=", "vgg19="]),
    "int": (["1", "2"], NUMBERS),
    "float": (["0.5", "1", "0"], NUMBERS),
    "text": ([], ["abc", "", LONG, "img.png", "missing.png", "dir"]),
}
KIND_BY_DEST = {
    "output": "output",
    "out": "out",
    "device": "device",
    "backbone": "backbone",
    "scales": "scales",
    "content_layers": "layers",
    "style_layers": "layers",
    "vary": "vary",
    "iterations_sweep": "sweep",
    "reference": "reference",
    "weights_for": "weights_for",
    "data": "folder",
    "content_data": "folder",
    "style_data": "folder",
    "decoder": "path",
    "weights": "path",
    "mask": "image",
    "extra_style": "image",
    "content": "image",
    "style": "image",
}

#: what a command needs to do anything: (flag, or None for a positional; kind of value), each left out now and then
SKELETONS = {
    "transfer": [(None, "image"), (None, "image"), ("-o", "output")],
    "adain": [(None, "image"), (None, "image"), ("-o", "output")],
    "apply": [(None, "model"), (None, "input"), ("-o", "output")],
    "export": [(None, "model"), ("-o", "export")],
    "train": [(None, "image"), ("--data", "folder"), ("-o", "checkpoint")],
    "train-adain": [("--content-data", "folder"), ("--style-data", "folder"), ("-o", "checkpoint")],
    "experiment": [("--content", "image"), ("--style", "image"), ("--vary", "vary")],
}
#: appended last, so any generated value is parsed first but cannot make a run slow
COST_CAPS = {
    "transfer": [("--iterations", ["1"]), ("--size", ["16", "32", "0", "-1"])],
    "experiment": [("--iterations", ["1"]), ("--size", ["16", "32", "0"])],
    "train": [("--steps", ["1"]), ("--image-size", ["16", "32", "8"]), ("--batch-size", ["1"]), ("--workers", ["0"])],
    "train-adain": [("--steps", ["1"]), ("--image-size", ["32", "16"]), ("--batch-size", ["1"]), ("--workers", ["0"])],
    "adain": [("--size", ["16", "32", "0"])],
    "apply": [("--size", ["16", "0", "-1"]), ("--batch", ["1"])],
    "bench transfer": [("--size", ["16", "0", "-1"]), ("--steps", ["1"])],
    "bench feedforward": [("--size", ["8", "0", "16"]), ("--runs", ["1"])],
    "bench adain": [("--size", ["8", "0", "16"]), ("--runs", ["1"])],
}
#: generated values left out because they make a run slow whatever the caps say (None: the whole flag)
COSTLY = {"--style-scale": ["16", "1e3"], "--width": ["16", "1e3"], "--vs-pastiche": None}
STRAY = [["--help"], ["-h"], ["--nope"], ["--"], ["-"], ["extra"], ["--size"], ["-o"], ["--version"], ["-q"]]


def _choices(action: argparse.Action) -> list[str]:
    m = re.fullmatch(r"\{(.*)\}", action.metavar or "")
    return m.group(1).split(",") if m else []


def _value(kind: str, extra: list[str] = (), costly: list[str] = ()) -> st.SearchStrategy[str]:
    good, everything = VALUES[kind]
    good = [v for v in [*good, *extra] if v not in costly]
    everything = [v for v in [*everything, *extra] if v not in costly]
    if not good:
        return st.sampled_from(everything)
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(everything))


def _values(action: argparse.Action) -> st.SearchStrategy[str]:
    """Values for one option: by its destination, else by its type; choice names (and near misses) added."""
    names = _choices(action)
    kind = KIND_BY_DEST.get(action.dest) or {int: "int", float: "float"}.get(action.type, "text")
    extra = names + [n.upper() for n in names[:1]] + [n[:-1] for n in names[:2]]
    return _value(kind, extra, COSTLY.get(action.option_strings[-1]) or ())


def _option(action: argparse.Action) -> st.SearchStrategy[list[str]]:
    flag = st.sampled_from(action.option_strings)
    if action.nargs == 0:
        return flag.map(lambda f: [f])
    if action.nargs == "+":
        n = st.integers(0, 3)
    else:
        n = st.integers(0, 7).map(lambda k: min(k, 1))  # a missing value now and then
    return st.tuples(flag, n.flatmap(lambda k: st.lists(_values(action), min_size=k, max_size=k))).map(
        lambda t: [t[0], *t[1]]
    )


@st.composite
def cli_argvs(draw) -> list[str]:
    """[COMMAND, ...]: the command's skeleton (each part now and then left out), a few options with values, maybe
    a stray token, shuffled; then the cost caps."""
    command = draw(st.sampled_from(sorted(CLI_FLAGS)))
    actions = [a for a in CLI_FLAGS[command] if COSTLY.get(a.option_strings[-1], ()) is not None]
    groups: list[list[str]] = []
    for flag, kind in SKELETONS.get(command, []):
        if draw(st.integers(0, 19)):
            value = draw(_value(kind))
            groups.append([flag, value] if flag else [value])
    if not draw(st.integers(0, 19)):  # one positional too many
        groups.append([draw(_value("image"))])
    for _ in range(draw(st.integers(0, 4))):
        groups.append(draw(_option(draw(st.sampled_from(actions)))))
    if not draw(st.integers(0, 14)):
        groups.append(draw(st.sampled_from(STRAY)))
    groups = draw(st.permutations(groups))
    argv = command.split() + [tok for g in groups for tok in g]
    for flag, values in COST_CAPS.get(command, []):
        argv += [flag, draw(st.sampled_from(values))]
    return argv


def _workspace(d: Path) -> None:
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((12, 10, 3)) * 255).astype(np.uint8)).save(d / "img.png")
    (d / "text.png").write_text("hello, I am not a picture\n")
    (d / "empty.png").write_bytes(b"")
    (d / "fake.mp4").write_text("not a video either\n")
    (d / "bad.pt").write_bytes(b"\x80\x04garbage" * 10)
    (d / "dir").mkdir()
    (d / "photos").mkdir()
    Image.fromarray((rng.random((20, 24, 3)) * 255).astype(np.uint8)).save(d / "photos" / "a.png")
    (d / "photos" / "b.jpg").write_text("broken")
    (d / "broken").mkdir()  # only unreadable pictures
    (d / "broken" / "c.png").write_text("broken")
    (d / "broken" / "d.jpg").write_bytes(b"")


def _offline(*args, **kwargs):
    raise urllib.error.URLError("offline (test_fuzz)")


def run_cli(argv: list[str]) -> tuple[object, str]:
    """(exit status, or 'exit N' for SystemExit; stderr), run in a fresh temporary folder."""
    err = io.StringIO()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        _workspace(Path(d))
        os.chdir(d)
        try:
            with (
                mock.patch("torch.hub.download_url_to_file", _offline),
                contextlib.redirect_stderr(err),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                try:
                    code: object = main(argv)
                except SystemExit as e:
                    code = f"exit {e.code}"
        finally:
            os.chdir(cwd)
    return code, err.getvalue()


def _message_lines(err: str) -> list[str]:
    """The lines of stderr without progress bars (tqdm redraws with carriage returns; its bars end with the
    bracket of times and rates, as in '3/10 [00:01<00:02, 2.9step/s, loss=1.2]')."""
    out = []
    for line in err.split("\n"):
        for segment in line.split("\r"):
            segment = re.sub(r"^.*\[\d+:\d+[^\]]*\]", "", segment)
            if segment.strip():
                out.append(segment)
    return out


#: no shrinking: a failing call can cost seconds and shrinking runs hundreds of them (minutes); the failing
#: argv is reported as generated, each distinct error once
CLI_PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


def test_cli_vocabulary_is_real():
    """The flags come from the parser: a sanity check that the collection found them."""
    flags = {f for acts in CLI_FLAGS.values() for a in acts for f in a.option_strings}
    assert {
        "--size",
        "--iterations",
        "--alpha",
        "--optimizer",
        "--init",
        "--pool",
        "--backbone",
        "--style-weight",
        "--lr",
        "--precision",
        "--device",
        "--scales",
        "-o",
        "--steps",
    } <= flags
    assert {
        "transfer",
        "apply",
        "adain",
        "train",
        "train-adain",
        "experiment",
        "bench transfer",
        "export",
        "models",
        "layers",
    } <= set(CLI_FLAGS)


@settings(FUZZ, max_examples=200, phases=CLI_PHASES)
@given(argv=cli_argvs())
def test_cli_never_crashes(argv):
    code, err = run_cli(argv)
    event(f"{' '.join(argv[:2]) if argv[0] == 'bench' else argv[0]}: {code}")  # --hypothesis-show-statistics
    assert "Traceback" not in err, err
    if isinstance(code, str):  # SystemExit: argparse's usage error or --help/--version
        assert code in ("exit 0", "exit 2"), (code, err)
        return
    assert isinstance(code, int) and code in (0, 1, 2, 130), code
    if code == 1:
        lines = _message_lines(err)
        assert len(lines) == 1 and lines[0].startswith("painterly: "), f"not one error line: {err!r}"
        assert "internal error" not in lines[0], f"an exception reached the CLI's last resort: {lines[0]}"
