"""Bad input through every command that reads images (issue 10): the same corpus of broken files handed to
transfer, apply, adain, train and experiment, as the photo and as the painting.  Each: exit 1, one line on stderr
naming the file, no traceback, no output left behind."""

import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from painterly.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
PHOTO, PAINTING = ROOT / "examples" / "chelsea.jpg", ROOT / "examples" / "starry_night.jpg"


def _bomb() -> bytes:
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def _truncated() -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(buf, "JPEG")
    return buf.getvalue()[:600]


CORPUS = {
    "missing": None,
    "directory": "dir",
    "empty": b"",
    "text": b"hello, I am not a picture",
    "truncated": _truncated(),
    "bomb": _bomb(),
}


def make_bad(tmp_path: Path, case: str) -> Path:
    p = tmp_path / f"bad_{case}.png"
    data = CORPUS[case]
    if data == "dir":
        p.mkdir()
    elif data is not None:
        p.write_bytes(data)
    return p


def commands(bad: Path, out: Path, tmp_path: Path) -> dict[str, list[str]]:
    photos = tmp_path / "photos"
    photos.mkdir(exist_ok=True)
    Image.new("RGB", (40, 40), (90, 120, 200)).save(photos / "p.png")
    b, o = str(bad), str(out)
    return {
        "transfer photo": ["transfer", b, str(PAINTING), "-o", o, "--size", "32", "--iterations", "1", "-q"],
        "transfer painting": ["transfer", str(PHOTO), b, "-o", o, "--size", "32", "--iterations", "1", "-q"],
        "apply": ["apply", "starry-night", b, "-o", o, "-q"],
        "adain photo": ["adain", b, str(PAINTING), "-o", o, "--size", "32", "-q"],
        "adain painting": ["adain", str(PHOTO), b, "-o", o, "--size", "32", "-q"],
        "apply adain:": ["apply", "adain:" + b, str(PHOTO), "-o", o, "--size", "32", "-q"],
        "train": ["train", b, "--data", str(photos), "-o", str(out.with_suffix(".pt")), "--steps", "1", "-q"],
        "experiment": [
            "experiment",
            "--content",
            b,
            "--style",
            str(PAINTING),
            "--vary",
            "optimizer=adam",
            "--size",
            "32",
            "--iterations",
            "1",
            "--out",
            str(tmp_path / "exp"),
            "-q",
        ],
    }


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_image_through_every_command(case, tmp_path, capsys):
    bad = make_bad(tmp_path, case)
    out = tmp_path / "out.png"
    for name, argv in commands(bad, out, tmp_path).items():
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1, (name, code, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert bad.name in err, (name, err)
        assert not out.exists() and not out.with_suffix(".pt").exists(), name
        assert not (tmp_path / "exp" / "optimizer").exists(), name
    # train-adain reads folders of paintings: one holding only the bad file is refused, naming the folder
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    if bad.exists():
        bad.rename(paintings / bad.name)
    code = main(
        [
            "train-adain",
            "--content-data",
            str(tmp_path / "photos"),
            "--style-data",
            str(paintings),
            "-o",
            str(out.with_suffix(".pt")),
            "--steps",
            "1",
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "paintings" in err and not out.with_suffix(".pt").exists(), err
    # the web page's uploads: the same one-line messages, the file named by its base name only
    from painterly import PainterlyError
    from painterly.app.web import Painter
    from painterly.config import ServeConfig

    target = paintings / bad.name if (paintings / bad.name).exists() else bad
    with pytest.raises(PainterlyError) as e:
        Painter(ServeConfig()).image(str(target), "photo")
    assert "\n" not in str(e.value) and (bad.name in str(e.value) or "limit" in str(e.value)), str(e.value)


def _odd_corpus(root: Path) -> dict[str, tuple[Path, tuple[int, int]]]:
    """Valid but unusual files, each with the size it shows (EXIF applied): name -> (path, (width, height))."""
    yy, xx = np.mgrid[0:30, 0:40]
    rgb = np.stack([xx * 6, yy * 8, (xx + yy) * 3], -1).clip(0, 255).astype(np.uint8)
    out = {}
    Image.fromarray(rgb).convert("CMYK").save(root / "cmyk.jpg")
    out["cmyk"] = (root / "cmyk.jpg", (40, 30))
    Image.fromarray(rgb).convert("L").save(root / "grey.png")
    out["grey"] = (root / "grey.png", (40, 30))
    rgba = np.dstack([rgb, (xx * 6).clip(0, 255).astype(np.uint8)])  # transparent on the left
    Image.fromarray(rgba, "RGBA").save(root / "rgba.png")
    out["rgba"] = (root / "rgba.png", (40, 30))
    Image.fromarray((xx * 1600 + yy * 50).astype(np.uint16)).save(root / "sixteen.png")
    out["16-bit"] = (root / "sixteen.png", (40, 30))
    frames = [Image.fromarray(rgb).quantize(16), Image.fromarray(255 - rgb).quantize(16)]
    frames[0].save(root / "palette.gif", save_all=True, append_images=frames[1:])
    out["palette gif"] = (root / "palette.gif", (40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40x20, shown turned 90 degrees: 20x40
    Image.fromarray(rgb[:20]).save(root / "exif.jpg", exif=exif)
    out["exif-rotated"] = (root / "exif.jpg", (20, 40))
    Image.fromarray(rgb[:3, :2]).save(root / "tiny.png")
    out["2x3"] = (root / "tiny.png", (2, 3))
    return out


ODD = ["cmyk", "grey", "rgba", "16-bit", "palette gif", "exif-rotated", "2x3"]


@pytest.mark.parametrize("case", ODD)
def test_valid_odd_image_through_every_command(case, tmp_path, capsys):
    """Each odd-but-valid file, as the photo and as the painting, in every command: exit 0 and a picture of the
    photo's shown size (EXIF turned) scaled to --size, so a 2x3 photo comes out 21x32."""
    path, shown = _odd_corpus(tmp_path)[case]
    s = 32
    w, h = shown
    expect = (max(1, round(w * s / max(w, h))), max(1, round(h * s / max(w, h))))
    photo_expect = (32, 21)  # examples/chelsea.jpg at --size 32
    out = tmp_path / "out.png"
    runs = {
        "transfer photo": (["transfer", str(path), str(PAINTING), "--iterations", "2"], expect),
        "transfer painting": (["transfer", str(PHOTO), str(path), "--iterations", "2"], photo_expect),
        "apply": (["apply", "starry-night", str(path)], expect),
        "adain photo": (["adain", str(path), str(PAINTING)], expect),
        "adain painting": (["adain", str(PHOTO), str(path)], photo_expect),
        "apply adain:": (["apply", f"adain:{path}", str(PHOTO)], photo_expect),
    }
    for name, (argv, size) in runs.items():
        code = main(argv + ["-o", str(out), "--size", str(s), "-q"])
        err = capsys.readouterr().err
        assert code == 0, (name, err)
        with Image.open(out) as im:
            assert im.size == size and im.mode == "RGB", (name, im.size, size)
            # a picture, not a flat field; but a painting of 2x3 pixels has no texture to give, and AdaIN
            # then rightly paints the photo almost flat (here just below the bar, just above it through `adain`)
            if not (case == "2x3" and name == "apply adain:"):
                assert np.asarray(im).std() > 1, name
        out.unlink()
    photos = tmp_path / "photos"
    photos.mkdir()
    path.rename(photos / path.name)  # the odd file as a training photo, and as the painting
    path = photos / path.name
    ckpt = tmp_path / "m.pt"
    assert (
        main(
            [
                "train",
                str(path),
                "--data",
                str(photos),
                "-o",
                str(ckpt),
                "--steps",
                "1",
                "--batch-size",
                "1",
                "--image-size",
                "32",
                "--workers",
                "0",
                "-q",
            ]
        )
        == 0
    ), capsys.readouterr().err
    assert (
        main(
            [
                "experiment",
                "--content",
                str(path),
                "--style",
                str(PAINTING),
                "--vary",
                "optimizer=adam",
                "--size",
                "32",
                "--iterations",
                "1",
                "--out",
                str(tmp_path / "exp"),
                "-q",
            ]
        )
        == 0
    ), capsys.readouterr().err


class _Evil:
    """Unpickling this creates a file: a checkpoint that would run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_checkpoints_that_would_run_code_are_refused_everywhere(tmp_path, capsys):
    """A crafted model / training checkpoint handed to apply, export, webcam, train --resume and the Python API:
    one line, and the code never runs (the marker file is never created)."""
    import torch

    from painterly import PainterlyError
    from painterly.feedforward.stylizer import Stylizer

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "painterly-feedforward", "arch": "johnson", "state_dict": {"w": _Evil(marker)}}, evil)
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 40), (90, 120, 200)).save(photos / "p.png")
    runs = [
        ["apply", str(evil), str(PHOTO), "-o", str(tmp_path / "o.png")],
        ["apply", str(evil), str(photos), "-o", str(tmp_path / "styled")],
        ["export", str(evil), "-o", str(tmp_path / "m.onnx")],
        ["webcam", str(evil), "--headless", "--frames", "1"],
        ["train", str(PAINTING), "--data", str(photos), "-o", str(evil), "--steps", "2", "--resume", "-q"],
    ]
    for argv in runs:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        assert "evil.pt" in err and not marker.exists(), (argv, err)
    with pytest.raises(PainterlyError):
        Stylizer(str(evil))
    assert not marker.exists() and not (tmp_path / "o.png").exists() and not (tmp_path / "m.onnx").exists()


def test_a_write_that_fails_half_way_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """Pictures and checkpoints go to a temporary file renamed when complete: a crash (here an exception after half
    the bytes, and Ctrl-C) leaves the previous file untouched and no temporary behind."""
    import torch

    from painterly import PainterlyError
    from painterly.checkpoint import load_checkpoint, save_checkpoint
    from painterly.images import save_image

    out, jpg, ck = tmp_path / "o.png", tmp_path / "o.jpg", tmp_path / "m.pt"
    save_image(Image.new("RGB", (8, 8), (1, 2, 3)), out)
    save_image(Image.new("RGB", (8, 8), (1, 2, 3)), jpg)
    save_checkpoint(ck, {"arch": "johnson", "step": 1}, "painterly-feedforward")
    old = {p: p.read_bytes() for p in (out, jpg, ck)}

    def half_then(exc):
        def write(obj, f, *a, **k):
            path = f if isinstance(f, (str, Path)) else f.name
            with open(path, "wb") as fh:
                fh.write(b"\x89PNG half a file")
            raise exc

        return write

    for exc in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        # a PNG (painterly's own encoder writes the bytes) and a JPEG (Pillow writes the file)
        monkeypatch.setattr(Path, "write_bytes", lambda self, data: half_then(exc)(data, self))
        with pytest.raises((PainterlyError, KeyboardInterrupt)):
            save_image(Image.new("RGB", (8, 8)), out)
        monkeypatch.undo()
        monkeypatch.setattr(Image.Image, "save", lambda self, f, *a, **k: half_then(exc)(self, f))
        with pytest.raises((PainterlyError, KeyboardInterrupt)):
            save_image(Image.new("RGB", (8, 8)), jpg)
        monkeypatch.undo()
        monkeypatch.setattr(torch, "save", half_then(exc))
        with pytest.raises((OSError, KeyboardInterrupt)):
            save_checkpoint(ck, {"arch": "johnson", "step": 2}, "painterly-feedforward")
        monkeypatch.undo()
        assert all(p.read_bytes() == b for p, b in old.items())
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "o.jpg", "o.png"]  # no temporary left
    assert load_checkpoint(ck)["step"] == 1


@pytest.mark.parametrize(
    "var, value",
    [
        ("PAINTERLY_MAX_PIXELS", "lots"),
        ("PAINTERLY_MAX_PIXELS", "-5"),
        ("PAINTERLY_MEMORY_LIMIT_GB", "nan"),
        ("PAINTERLY_MEMORY_LIMIT_GB", "x"),
    ],
)
def test_bad_environment_values_are_one_line(var, value, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(var, value)
    code = main(
        [
            "transfer",
            str(PHOTO),
            str(PAINTING),
            "-o",
            str(tmp_path / "o.png"),
            "--size",
            "32",
            "--iterations",
            "1",
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and var in err, err
    assert not (tmp_path / "o.png").exists()


LONG = "x" * 256  # longer than a file name may be: Path.exists() itself raises
HUGE = "2" + "0" * 308  # above any float


@pytest.mark.parametrize(
    "argv, says",
    [
        (["transfer", LONG + ".png", "{painting}", "-o", "{out}"], "File name too long"),
        (["transfer", "{photo}", "{painting}", "-o", LONG + ".png"], "File name too long"),
        (["apply", LONG, "{photo}", "-o", "{out}"], "File name too long"),
        (["layers", "--weights", LONG], "File name too long"),
        (["transfer", "{photo}", "{painting}", "-o", "{out}", "--iterations", HUGE], "--iterations must be at most"),
        (["transfer", "{photo}", "{painting}", "-o", "{out}", "--seed", str(2**64)], "--seed must be at most"),
        (["transfer", "{photo}", "{painting}", "-o", "{out}", "--seed", "-1"], "--seed must be at least 0"),
        (
            ["transfer", "{photo}", "{painting}", "-o", "{out}", "--style-scale", "1e300"],
            "--style-scale must be at most",
        ),
        (["transfer", "{photo}", "{painting}", "-o", "{out}", "--size", "16", "--iterations", "1"], "too small"),
        (["apply", "starry-night", "{photo}", "-o", "{out}", "--size", HUGE], "--size must be at most 65536"),
        (["train", "{painting}", "--data", "{photos}", "-o", "{out}.pt", "--lr", "1e300"], "--lr must be at most"),
        (
            ["train-adain", "--content-data", "{photos}", "--style-data", "{photos}", "--width", "1e300"],
            "--width must be at most",
        ),
        (["bench", "feedforward", "--size", HUGE], "--size must be at most 65536"),
        (["apply", "starry-night", "{broken}", "-o", "{tmp}/styled"], "none of the 2 images"),
    ],
    ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None,
)
def test_values_found_by_fuzzing_are_one_line(argv, says, tmp_path, capsys, monkeypatch):
    """Each of these once escaped as a traceback (tests/test_fuzz.py found them): now one line, exit 1."""
    monkeypatch.chdir(tmp_path)
    photos, broken = tmp_path / "photos", tmp_path / "broken"
    photos.mkdir()
    broken.mkdir()
    Image.new("RGB", (40, 40), (90, 120, 200)).save(photos / "p.png")
    (broken / "a.png").write_text("no")
    (broken / "b.jpg").write_bytes(b"\xff\xd8\xff")
    fill = {
        "photo": str(PHOTO),
        "painting": str(PAINTING),
        "out": str(tmp_path / "o.png"),
        "photos": str(photos),
        "broken": str(broken),
        "tmp": str(tmp_path),
    }
    code = main([a.format(**fill) for a in argv] + ["-q"] * (argv[0] not in ("layers", "bench")))
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and says in err and "internal error" not in err, err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "styled").exists()


def test_a_huge_learning_rate_stops_with_the_last_finite_picture(tmp_path, capsys):
    out = tmp_path / "o.png"
    code = main(
        [
            "transfer",
            str(PHOTO),
            str(PAINTING),
            "-o",
            str(out),
            "--size",
            "32",
            "--iterations",
            "10",
            "--scales",
            "none",
            "--lr",
            "1e20",
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(
        r"optimisation diverged at step \d+ .*; saved the last finite picture \(step \d+\) to " + re.escape(str(out)),
        err,
    )
    pixels = np.asarray(Image.open(out), np.float32)
    assert pixels.shape == (21, 32, 3) and pixels.std() > 1  # a picture, the one before it blew up


def test_webcam_sources_that_are_not_cameras_are_one_line(tmp_path):
    """A missing file, a broken "video" and a camera index with no camera: one line each, no FFmpeg chatter."""
    import subprocess
    import sys

    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    for source, says in (
        (tmp_path / "missing.mp4", "not found"),
        (junk, "not a video OpenCV can read"),
        ("57", "cannot open camera 57"),
    ):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "painterly",
                "webcam",
                "starry-night",
                "--camera",
                str(source),
                "--headless",
                "--frames",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
