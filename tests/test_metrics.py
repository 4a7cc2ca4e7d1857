"""Quality measures against hand-computed values on tiny inputs, and what they see on real pictures."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.app.cli import main
from painterly.metrics import (
    cosine,
    evaluate,
    histogram_cosine,
    lattice,
    multiscale_style,
    patch_match,
    wang_criteria,
)


def _features(columns):
    """(1, C, 1, N) features whose N positions are the given C-vectors."""
    return torch.tensor(columns, dtype=torch.float32).t().reshape(1, len(columns[0]), 1, len(columns))


def test_cosine_by_hand():
    assert cosine(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])) == pytest.approx(1 / math.sqrt(2))
    assert cosine(torch.tensor([[3.0, 4.0]]), torch.tensor([[6.0, 8.0]])) == pytest.approx(1.0)
    assert cosine(torch.zeros(3), torch.ones(3)) == 0.0


def test_histogram_cosine_by_hand():
    black = np.zeros((4, 4, 3), np.uint8)
    white = np.full((4, 4, 3), 255, np.uint8)
    half = black.copy()
    half[:, 2:] = 255
    assert histogram_cosine(black, black) == pytest.approx(1.0)
    assert histogram_cosine(black, white) == pytest.approx(0.0)
    # histograms (8, ..., 8) and (16, 0, ...): cosine 8*16 / (sqrt(128) * 16) = 1/sqrt(2)
    assert histogram_cosine(half, black) == pytest.approx(1 / math.sqrt(2))
    # the range is fixed: a dim picture does not count as matching a bright one
    assert histogram_cosine(np.full((2, 2, 3), 10, np.uint8), np.full((2, 2, 3), 200, np.uint8)) == 0.0


def test_patch_match_by_hand():
    painting = _features([[1, 0], [0, 1], [1, 0]])  # two distinct 1x1 patches
    # both output patches pick (1, 0): cosine 1 each, half of the painting's patches used
    assert patch_match(_features([[1, 0], [2, 0]]), painting, k=1) == pytest.approx((1.0, 0.5))
    assert patch_match(_features([[1, 0], [0, 3]]), painting, k=1) == pytest.approx((1.0, 1.0))
    # (3, 4) is nearest to (0, 1) with cosine 0.8
    assert patch_match(_features([[3, 4]]), painting, k=1) == pytest.approx((0.8, 0.5))
    # 3x3 patches: a 3x3 map is one patch; a scaled copy matches it exactly
    f = torch.rand(1, 4, 3, 3)
    assert patch_match(2 * f, f) == pytest.approx((1.0, 1.0))


def test_patch_match_agrees_with_the_plain_search():
    """The fast search (distinct rows by projection, bf16 candidates re-ranked in float32) gives the plain
    search's numbers: every row against every distinct row in float32."""
    torch.manual_seed(0)
    fo, fs = torch.rand(1, 16, 30, 40), torch.rand(1, 16, 24, 24)
    fs[..., :6, :6] = 0.5  # a flat corner: many equal painting patches
    k = 3
    unit = lambda f: (lambda p: p / p.norm(dim=1, keepdim=True))(torch.nn.functional.unfold(f, k)[0].t())  # noqa: E731
    po, ps = unit(fo), unit(fs)
    distinct = torch.unique(ps, dim=0)
    sim, chosen = (po @ distinct.t()).max(dim=1)
    lp1, lp2 = patch_match(fo, fs, k)
    assert lp1 == pytest.approx(float(sim.mean()), abs=1e-6)
    assert lp2 == pytest.approx(len(torch.unique(chosen)) / distinct.shape[0], abs=0.01)
    assert distinct.shape[0] < ps.shape[0]


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).resize((128, 128), Image.BICUBIC)
    path = tmp_path_factory.mktemp("m") / "painting.png"
    img.save(path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory, content_path):
    """The example photo at 128 px: the measures' cost grows with the square of the pixels (patch matching)."""
    path = tmp_path_factory.mktemp("m") / "photo.png"
    Image.open(content_path).convert("RGB").resize((128, 85), Image.LANCZOS).save(path)
    return path


def test_criteria_of_the_painting_itself_are_perfect(painting, photo):
    got = wang_criteria(painting, photo, painting)
    assert got["ge_color"] == pytest.approx(1.0) and got["ge_texture"] == pytest.approx(1.0)
    assert got["lp1"] == pytest.approx(1.0, abs=1e-5) and got["lp2"] == pytest.approx(1.0)
    assert wang_criteria(photo, photo, painting)["cf"] == pytest.approx(1.0)


def test_a_tiled_motif_uses_few_of_the_paintings_patches(painting, tmp_path, photo):
    """A small piece of the painting repeated over the picture: the painting's colours and local patches, but
    few of them, which lp2 sees and the texture statistics alone do not."""
    tile = Image.open(painting).crop((0, 0, 16, 16))
    tiled = Image.new("RGB", (128, 128))
    for x in range(0, 128, 16):
        for y in range(0, 128, 16):
            tiled.paste(tile, (x, y))
    tiled.save(tmp_path / "tiled.png")
    got = wang_criteria(tmp_path / "tiled.png", photo, painting)
    assert got["lp1"] > 0.8  # the patches have close matches in the painting (the seams between tiles less so)...
    assert got["lp2"] < 0.15  # ...but a small share of its patches is used (measured 0.05)
    assert got["ge_texture"] > 0.8  # while the global texture statistics nearly match


def test_lattice_sees_a_motif_repeated_every_8_px_and_not_texture_as_such(photo, tmp_path):
    """The photo scores low; the photo under a faint motif tiled every 8 px (what a network with three stride-2
    stages paints in a flat sky) scores high; the same amount of texture without a period stays low."""
    base = np.asarray(Image.open(photo).convert("RGB").resize((128, 96)), np.float64)
    rng = np.random.default_rng(0)
    motif = np.tile(rng.normal(0, 12, (8, 8, 1)), (12, 16, 3))  # one 8x8 cell repeated
    noise = rng.normal(0, 12, base.shape[:2] + (1,)).repeat(3, 2)  # as strong, no period
    scores = {}
    for name, extra in (("photo", 0), ("motif", motif), ("noise", noise)):
        Image.fromarray(np.clip(base + extra, 0, 255).astype(np.uint8)).save(tmp_path / f"{name}.png")
        scores[name] = lattice(tmp_path / f"{name}.png")
    assert scores["photo"] < 4 and scores["noise"] < 4  # measured 1.5 and 1.4 (the motif: 790)
    assert scores["motif"] > 10 * scores["photo"]
    # a lattice of period 4 is one of period 8 too (every other harmonic); the crop to whole periods is no offset
    four = np.tile(rng.normal(0, 12, (4, 4, 1)), (25, 33, 3))[:100, :130]
    Image.fromarray(np.clip(128 + four, 0, 255).astype(np.uint8)).save(tmp_path / "four.png")
    assert lattice(tmp_path / "four.png") > 10
    with pytest.raises(ValueError, match="at least 16x16"):
        Image.new("RGB", (12, 40)).save(tmp_path / "tiny.png")
        lattice(tmp_path / "tiny.png")


def test_multiscale_style_sees_the_texture_scale(painting, tmp_path):
    """The painting shrunk 4x and tiled back to full size has fine strokes: at full size it is far from the
    painting, and the distance changes with the scale, while the painting itself stays close at every scale."""
    own = multiscale_style(painting, painting)
    assert own["style_x2"] < 0.02 and own["style_x4"] < 0.02
    small = Image.open(painting).resize((32, 32), Image.LANCZOS)
    fine = Image.new("RGB", (128, 128))
    for x in range(0, 128, 32):
        for y in range(0, 128, 32):
            fine.paste(small, (x, y))
    fine.save(tmp_path / "fine.png")
    got = multiscale_style(tmp_path / "fine.png", painting)
    assert got["style_x2"] > 5 * own["style_x2"]


def test_evaluate_cli_json_and_table(painting, photo, capsys):
    assert main(["evaluate", str(photo), str(photo), str(painting), "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(got) == [
        "style",
        "style_x2",
        "style_x4",
        "content",
        "mse",
        "ssim",
        "cf",
        "ge",
        "ge_color",
        "ge_texture",
        "lp",
        "lp1",
        "lp2",
        "lattice",
    ]
    assert got["content"] == 0 and got["mse"] == 0 and got["ssim"] == pytest.approx(1.0) and got["cf"] == 1
    direct = evaluate(photo, photo, painting)
    assert got["lp2"] == pytest.approx(direct["lp2"], abs=1e-6)
    assert main(["evaluate", str(photo), str(photo), "the-scream"]) == 0
    out = capsys.readouterr().out
    assert "lp2" in out and "Wang et al." in out


def test_evaluate_bad_input_is_one_line(tmp_path, content_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.png"), str(content_path), "the-scream"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.png" in err[0]
