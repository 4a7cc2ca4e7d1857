"""Bad input through every command that reads images (issue 10): the same corpus of broken files handed to
transfer, apply, adain, train and experiment, as the photo and as the painting.  Each: exit 1, one line on stderr
naming the file, no traceback, no output left behind."""
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from painterly.cli import main

ROOT = Path(__file__).resolve().parents[1]
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


CORPUS = {"missing": None, "directory": "dir", "empty": b"", "text": b"hello, I am not a picture",
          "truncated": _truncated(), "bomb": _bomb()}


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
        "experiment": ["experiment", "--content", b, "--style", str(PAINTING), "--vary", "optimizer=adam",
                       "--size", "32", "--iterations", "1", "--out", str(tmp_path / "exp"), "-q"],
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
