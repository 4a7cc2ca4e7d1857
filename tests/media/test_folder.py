"""A folder of pictures through a shipped model: every readable image painted to the same relative path as PNG,
in order, with progress; unreadable ones skipped; nothing left behind when nothing could be painted; an interrupt
keeps the pictures finished so far, whole."""

import numpy as np
import pytest
from PIL import Image

from painterly import PainterlyError
from painterly.feedforward.stylizer import Stylizer
from painterly.media.folder import paint_folder
from painterly.shipped import shipped_models

MODEL = sorted(shipped_models())[0]


@pytest.fixture(scope="module")
def model():
    return Stylizer(MODEL, "cpu")


def _photos(root, n=4):
    rng = np.random.default_rng(0)
    for i in range(n):
        sub = root / ("a" if i % 2 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40 + i, 56, 3), dtype=np.uint8)).save(sub / f"p{i}.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not a picture")


def test_every_picture_painted_in_place_as_png_and_the_broken_one_skipped(tmp_path, model):
    src, dest = tmp_path / "photos", tmp_path / "painted"
    _photos(src)
    seen = []
    res = paint_folder(lambda f: model(f, 48), src, dest, callback=seen.append)
    rel = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.png"))
    assert rel == ["a/p1.png", "a/p3.png", "b/c/p0.png", "b/c/p2.png"]
    assert sorted(p.relative_to(dest).as_posix() for p in res.written) == rel
    assert len(res.skipped) == 1 and "broken.jpg" in res.skipped[0]
    assert [p.step for p in seen] == [1, 2, 3, 4, 5] and all(p.total == 5 for p in seen)
    assert not list(dest.rglob("*.part"))
    # the same pictures as painting each file alone
    for p in res.written:
        src_file = src / p.relative_to(dest).with_suffix(".jpg")
        alone = np.asarray(model(src_file, 48), dtype=np.int16)
        assert np.abs(np.asarray(Image.open(p), dtype=np.int16) - alone).max() == 0


def test_jpeg_pictures_for_a_folder_from_the_cli(tmp_path, cli):
    """--folder-format jpg: the same relative paths as .jpg, real JPEG files; an unknown format is refused."""
    src, dest = tmp_path / "photos", tmp_path / "painted"
    _photos(src)
    r = cli("apply", MODEL, str(src), "-o", str(dest), "--size", "48", "--folder-format", "jpg", "-q")
    assert r.returncode == 0, r.stderr
    got = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert got == ["a/p1.jpg", "a/p3.jpg", "b/c/p0.jpg", "b/c/p2.jpg"]
    assert all(Image.open(dest / g).format == "JPEG" for g in got)
    with pytest.raises(PainterlyError, match="unsupported picture format '.gif'"):
        paint_folder(lambda f: Image.new("RGB", (8, 8)), src, tmp_path / "x", suffix=".gif")
    r = cli("apply", MODEL, str(src), "-o", str(tmp_path / "y"), "--folder-format", "gif")
    assert r.returncode != 0 and "gif" in r.stderr and "Traceback" not in r.stderr


def test_nothing_paintable_leaves_no_output_folder(tmp_path, model):
    src, dest = tmp_path / "photos", tmp_path / "painted"
    src.mkdir()
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(PainterlyError, match="none of the 1 images"):
        paint_folder(lambda f: model(f, 48), src, dest)
    assert not dest.exists()
    with pytest.raises(PainterlyError, match="no images in folder"):
        paint_folder(lambda f: model(f, 48), tmp_path / "empty-or-missing", dest)


def test_an_interrupt_keeps_the_finished_pictures_whole(tmp_path, model):
    src, dest = tmp_path / "photos", tmp_path / "painted"
    _photos(src)
    calls = []

    def paint(f):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(f)
        return model(f, 48)

    with pytest.raises(KeyboardInterrupt):
        paint_folder(paint, src, dest)
    written = sorted(dest.rglob("*.png"))
    assert len(written) == 2 and not list(dest.rglob("*.part"))
    for p in written:
        Image.open(p).load()  # whole files, not half-written ones
