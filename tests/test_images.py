"""Image loading: odd-but-valid inputs give correct RGB; bad inputs give one-line PainterlyErrors."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from painterly.errors import PainterlyError
from painterly.images import check_output_path, load_image, resize_long_side, save_image, to_pil, to_tensor


def _save(img, path, **kw):
    img.save(path, **kw)
    return path


def test_grey(tmp_path):
    p = _save(Image.new("L", (5, 4), 77), tmp_path / "g.png")
    im = load_image(p)
    assert im.mode == "RGB" and im.size == (5, 4) and im.getpixel((0, 0)) == (77, 77, 77)


def test_rgba_composited_on_white(tmp_path):
    a = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    a.putpixel((0, 0), (0, 0, 255, 255))
    im = load_image(_save(a, tmp_path / "a.png"))
    assert im.getpixel((1, 1)) == (255, 255, 255)
    assert im.getpixel((0, 0)) == (0, 0, 255)


def test_cmyk_jpeg(tmp_path):
    im = load_image(_save(Image.new("CMYK", (6, 6), (0, 255, 255, 0)), tmp_path / "c.jpg"))
    r, g, b = im.getpixel((3, 3))
    assert im.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_png(tmp_path):
    a = np.full((4, 6), 65535 // 2, dtype=np.uint16)
    p = _save(Image.fromarray(a), tmp_path / "16.png")
    assert Image.open(p).mode.startswith("I")
    v = load_image(p).getpixel((0, 0))
    assert v[0] == v[1] == v[2] and abs(v[0] - 128) <= 1


def test_palette_gif_first_frame(tmp_path):
    f1 = Image.new("P", (4, 4), 1)
    f1.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    f2 = f1.copy()
    f2.paste(2, (0, 0, 4, 4))
    p = tmp_path / "a.gif"
    f1.save(p, save_all=True, append_images=[f2])
    assert load_image(p).getpixel((0, 0)) == (255, 0, 0)


def test_exif_rotation_respected(tmp_path):
    img = Image.new("RGB", (8, 4), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 2, 4))  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif, quality=100)
    im = load_image(p)
    assert im.size == (4, 8)
    assert sum(im.getpixel((1, 0))) > 600  # white ends up at the top


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "does not exist"),
        ("dir", "is a directory"),
        ("empty", "empty file"),
        ("text", "not an image"),
        ("truncated", "corrupt or truncated"),
    ],
)
def test_bad_inputs(tmp_path, case, match):
    p = tmp_path / "x.jpg"
    if case == "dir":
        p.mkdir()
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "text":
        p.write_text("hello, I am not a picture")
    elif case == "truncated":
        buf = io.BytesIO()
        Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(buf, "JPEG")
        p.write_bytes(buf.getvalue()[:600])
    with pytest.raises(PainterlyError, match=match) as e:
        load_image(p, "content image")
    assert "x.jpg" in str(e.value) and "\n" not in str(e.value)


def _png_header_only(w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(40000, 40000))
    with pytest.raises(PainterlyError, match="limit of 100,000,000"):
        load_image(p)
    monkeypatch.setenv("PAINTERLY_MAX_PIXELS", "10")
    small = _save(Image.new("RGB", (4, 4)), tmp_path / "s.png")
    with pytest.raises(PainterlyError, match="limit of 10"):
        load_image(small)


def test_resize_and_tensor_round_trip():
    im = Image.new("RGB", (300, 200), (10, 20, 30))
    r = resize_long_side(im, 64)
    assert r.size == (64, 43)
    assert resize_long_side(Image.new("RGB", (2, 3)), 60).size == (40, 60)  # tiny images are upscaled
    t = to_tensor(r)
    assert t.shape == (1, 3, 43, 64) and t.is_contiguous()
    assert to_pil(t).getpixel((5, 5)) == (10, 20, 30)


def test_output_checks(tmp_path):
    with pytest.raises(PainterlyError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "o.png")
    with pytest.raises(PainterlyError, match="unsupported extension"):
        check_output_path(tmp_path / "o.xyz")
    save_image(Image.new("RGB", (3, 3)), tmp_path / "o.jpg")
    assert [p.name for p in tmp_path.iterdir()] == ["o.jpg"]  # no temporary left behind


def test_outputs_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from painterly.images import save_image

    umask = os.umask(0o022)
    try:
        save_image(Image.new("RGB", (4, 4)), tmp_path / "o.png")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "o.png").stat().st_mode) == 0o644


def test_damaged_exif_loads_the_pixels_as_stored(tmp_path):
    """A PNG or WebP whose EXIF block is cut short (Pillow raises struct.error reading it): the pixels are intact,
    so the picture loads, unturned (found by tests/test_fuzz.py)."""
    for fmt in ("PNG", "WEBP"):
        p = tmp_path / f"x.{fmt.lower()}"
        Image.new("RGB", (3, 2), (200, 10, 10)).save(p, fmt, exif=b"II*\x00")
        im = load_image(p)
        assert im.size == (3, 2) and im.getpixel((0, 0))[0] > 150


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_png_is_lossless_in_every_mode(tmp_path, mode):
    """RGB and grey pictures go through the fast PNG encoder, the rest through Pillow: all read back as written."""
    a = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    img = Image.fromarray(a).convert(mode)
    save_image(img, tmp_path / "o.png")
    back = Image.open(tmp_path / "o.png")
    assert back.mode == mode and np.array_equal(np.asarray(back), np.asarray(img))
