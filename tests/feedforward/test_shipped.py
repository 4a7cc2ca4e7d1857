"""The models shipped inside the package: each loads offline (weights_only=True), stylises, cuts a held-out photo's
style distance, has its painting and model card; the catalogue fits the size budget; slimming a checkpoint."""

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.checkpoint import load_checkpoint
from painterly.feedforward.export import slim_checkpoint
from painterly.feedforward.stylizer import Stylizer
from painterly.metrics import distances
from painterly.shipped import PRETRAINED, describe_models, model_cards, shipped_models, style_image_path

NAMES = sorted(shipped_models())
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def test_every_bundled_painting_ships_within_40_mb():
    """A network ships for each of the eight bundled paintings, all of them together within 40 MB."""
    bundled = sorted(p.stem for p in (PRETRAINED / "styles").glob("*.jpg"))
    assert len(bundled) >= 8 and set(bundled) <= set(NAMES), (bundled, NAMES)
    total = sum(p.stat().st_size for p in PRETRAINED.rglob("*") if p.is_file())
    assert total < 40e6, total


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_cuts_the_photo_style_distance(name, content_path):
    """On a photo it never saw (skimage's chelsea, 384 px), the model's output is at least twice as close to the
    painting's style as the photo itself, with the photo still there (content distance below that of the painting
    itself)."""
    painting = style_image_path(name)
    assert painting.is_file()
    ck = load_checkpoint(PRETRAINED / f"{name}.pt")
    (style,) = ck["styles"] if "styles" in ck else [ck["style"]]  # one painting, in either checkpoint layout
    assert ck["step"] == ck["steps"] and "optimizer" not in ck and style["thumbnail"].dtype == torch.uint8
    assert style["name"] == f"{name}.jpg"
    photo = Image.open(content_path).convert("RGB").resize((384, 256))
    out = Stylizer(name, "cpu")(photo)
    assert out.size == photo.size
    got, before = distances(out, photo, painting), distances(photo, photo, painting)
    painting_itself = distances(Image.open(painting).convert("RGB").resize(photo.size), photo, painting)
    assert got["style"] <= 0.5 * before["style"], (got, before)
    assert got["content"] < painting_itself["content"], (got, painting_itself)


def test_models_json_lists_every_model_with_its_card(cli):
    r = cli("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = {m["name"]: m for m in json.loads(r.stdout)}
    assert sorted(rows) == NAMES
    cards = model_cards()
    for name, m in rows.items():
        assert m["arch"] and os.path.isfile(m["style_image"])
        assert m["cpu_ms_512"] > 0 and m["scores"]["style"] < 0.5 * m["scores"]["photo_style"]
        assert m["scores"] == cards[name]["scores"]
    r = cli("models")
    assert r.returncode == 0 and all(n in r.stdout for n in NAMES)


def test_apply_by_name_and_unknown_name(tmp_path, content_path, cli):
    out = tmp_path / "o.jpg"
    r = cli("apply", NAMES[0], str(content_path), "-o", str(out), "--size", "48", "-q")
    assert r.returncode == 0 and max(Image.open(out).size) == 48, r.stderr
    r = cli("apply", NAMES[0] + "x", str(content_path), "-o", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr and NAMES[0] in r.stderr  # suggests the right one


def test_mix_blends_shipped_paintings_held_by_different_networks(content_path, cli, tmp_path):
    """--mix across two shipped single-painting networks: each paints the photo and the pictures are blended by
    the weights; the CLI takes it, and a misspelt painting is one line naming the shipped ones."""
    a, b = NAMES[0], NAMES[1]
    photo = Image.open(content_path).convert("RGB").resize((64, 48))
    x = torch.from_numpy(np.asarray(photo, np.float32) / 255).permute(2, 0, 1)[None]
    pa, pb = Stylizer(a, "cpu").tensor(x), Stylizer(b, "cpu").tensor(x)
    mixed = Stylizer(a, "cpu", mix=f"{a}:3,{b}:1")
    assert mixed.name == f"{a}:0.75+{b}:0.25" and len(mixed.nets) == 2
    assert torch.allclose(mixed.tensor(x), 0.75 * pa + 0.25 * pb, atol=1e-5)
    only_b = Stylizer(a, "cpu", mix=b)  # the model's name picks its network, a mix of one other painting wins
    assert torch.equal(only_b.tensor(x), pb)
    out = tmp_path / "mix.png"
    r = cli("apply", a, str(content_path), "-o", str(out), "--size", "48", "--mix", f"{a}:0.5,{b}:0.5", "-q")
    assert r.returncode == 0 and out.is_file(), r.stderr
    r = cli("apply", a, str(content_path), "-o", str(tmp_path / "x.png"), "--mix", f"{a}:0.5,{b}x:0.5")
    assert r.returncode == 1 and "Traceback" not in r.stderr and f"did you mean '{b}'" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_describe_models_reads_each_checkpoint():
    for m in describe_models():
        assert m["steps"] > 0 and m["bytes"] > 0 and m["path"].endswith(".pt")


def test_slim_checkpoint_drops_optimizer_and_halves_weights(tmp_path, cli):
    src = load_checkpoint(PRETRAINED / f"{NAMES[0]}.pt")
    full = dict(src, state_dict={k: v.float() for k, v in src["state_dict"].items()}, optimizer={"state": {}})
    big = tmp_path / "big.pt"
    torch.save(full, big)
    small = slim_checkpoint(str(big), tmp_path / "small.pt")
    ck = load_checkpoint(small)
    assert "optimizer" not in ck and all(
        v.dtype == torch.float16 for v in ck["state_dict"].values() if v.is_floating_point()
    )
    photo = torch.rand(1, 3, 32, 32)
    a, b = Stylizer(str(big), "cpu").tensor(photo), Stylizer(str(small), "cpu").tensor(photo)
    assert (a - b).abs().max() < 0.02
    r = cli("export", str(big), "-o", str(tmp_path / "c.pt"), "--no-half")
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(tmp_path / "c.pt")["state_dict"][next(iter(ck["state_dict"]))].dtype == torch.float32
