"""AdaIN (Huang & Belongie 2017): the transforms, the decoder's training loop, the shipped decoder's quality on a
painting it never saw, the command, the Python API, and AdaIN as a model for apply (images and video)."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import painterly
from painterly.adain.model import AdaIN, AdaINStylizer, Decoder, load_decoder_checkpoint, slim_decoder
from painterly.adain.ops import StyleCode, adain, mean_std, wct
from painterly.adain.train import train_adain
from painterly.app.cli import main
from painterly.config import AdainTrainConfig
from painterly.errors import Interrupted, PainterlyError
from painterly.metrics import distances
from painterly.shipped import ADAIN_DECODER, style_image_path

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def test_adain_gives_the_content_the_style_statistics():
    torch.manual_seed(0)
    c, s = torch.randn(2, 16, 9, 7) * 3 + 1, torch.rand(1, 16, 5, 6) * 4
    sm, ss = mean_std(s)
    t = adain(c, sm, ss)
    tm, ts = mean_std(t)
    assert torch.allclose(tm, sm.expand_as(tm), atol=1e-4) and torch.allclose(ts, ss.expand_as(ts), atol=1e-3)
    # the normalised pattern is the photo's: correlation with the content per channel is 1
    assert torch.allclose((t - tm) / ts, (c - mean_std(c)[0]) / mean_std(c)[1], atol=1e-3)


def test_wct_gives_the_content_the_style_covariance():
    torch.manual_seed(0)
    mix = torch.randn(8, 8)
    s = (mix @ torch.randn(8, 200)).view(1, 8, 10, 20) + 2
    c = torch.randn(1, 8, 12, 12)
    code = StyleCode.of(s)
    t = wct(c, code)
    x = t.flatten(2)[0]
    xc = x - x.mean(1, keepdim=True)
    assert torch.allclose(x.mean(1), code.mean.flatten(), atol=1e-3)
    assert torch.allclose(xc @ xc.T / (x.shape[1] - 1), code.cov, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_each_picture_of_a_batch_keeps_its_own_statistics(method):
    """Video frames go through in batches: each frame is transformed with its own mean and covariance, as alone."""
    torch.manual_seed(0)
    frames = torch.cat([torch.randn(1, 8, 6, 7), torch.randn(1, 8, 6, 7) * 3 + 2])
    code = StyleCode.of(torch.rand(1, 8, 5, 6) * 4)
    model = AdaIN.__new__(AdaIN)  # the transform needs no encoder or decoder
    together = model.transform(frames, [code], method=method)
    alone = torch.cat([model.transform(f, [code], method=method) for f in frames.split(1)])
    torch.testing.assert_close(together, alone)
    assert not torch.allclose(together[1], model.transform(frames[:1], [code], method=method)[0])
    torch.testing.assert_close(wct(frames, code), torch.cat([wct(f, code) for f in frames.split(1)]))


def test_blend_interpolates_statistics():
    a, b = StyleCode.of(torch.rand(1, 4, 6, 6)), StyleCode.of(torch.rand(1, 4, 6, 6) + 3)
    m = StyleCode.blend([a, b], [3, 1])
    assert torch.allclose(m.mean, 0.75 * a.mean + 0.25 * b.mean)
    assert torch.allclose(StyleCode.blend([a, a], [1, 1]).std, a.std)


def test_decoder_mirrors_the_encoder():
    d = Decoder(width=0.25)
    y = d(torch.rand(2, 512, 5, 7))
    assert y.shape == (2, 3, 40, 56)
    ups = [m for m in d.modules() if isinstance(m, torch.nn.Upsample)]
    assert len(ups) == 3 and all(u.mode == "nearest" for u in ups)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 9 and convs[0].in_channels == 512  # conv4_1 .. conv1_1 mirrored


@pytest.mark.parametrize(
    "layer, channels, stride, convs", [("relu3_1", 256, 4, 5), ("relu2_1", 128, 2, 3), ("relu1_1", 64, 1, 1)]
)
def test_a_shallower_decoder_is_the_tail_of_the_mirror(layer, channels, stride, convs):
    """The decoders of the multi-level transform (Li et al. 2017): each the mirror of VGG19 from its own layer."""
    d = Decoder(width=0.25, layer=layer)
    assert d(torch.rand(1, channels, 6, 5)).shape == (1, 3, 6 * stride, 5 * stride)
    got = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    tail = [m for m in Decoder(width=0.25).modules() if isinstance(m, torch.nn.Conv2d)][-convs:]
    assert len(got) == convs and got[0].in_channels == channels
    assert [m.out_channels for m in got[1:]] == [m.out_channels for m in tail[1:]]
    assert d.settings == {"width": 0.25, "layer": layer}
    with pytest.raises(PainterlyError, match="relu5_1"):
        Decoder(layer="relu5_1")


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    photos, paintings = tmp_path / "photos", tmp_path / "paintings"
    photos.mkdir()
    paintings.mkdir()
    for i in range(6):
        Image.fromarray((rng.random((48, 56, 3)) * 255).astype(np.uint8)).save(photos / f"p{i}.png")
    for i in range(2):
        a = np.zeros((60, 50, 3), np.uint8)
        a[:, :: 5 + i] = [200, 40 * i, 30]
        Image.fromarray(a).save(paintings / f"s{i}.png")
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    return photos, paintings


def _cfg(data, output, **kw) -> AdainTrainConfig:
    """A tiny decoder's training on the test photos and paintings; ``kw`` overrides."""
    photos, paintings = data
    base = dict(
        content_data=str(photos),
        style_data=str(paintings),
        output=str(output),
        width=0.125,
        batch_size=2,
        image_size=32,
        workers=0,
        preview_every=0,
        checkpoint_every=0,
    )
    base.update(kw)
    return AdainTrainConfig(**base)


def test_train_adain_saves_resumes_and_records(data, tmp_path):
    photos, paintings = data
    out = tmp_path / "dec.pt"
    cfg = _cfg(data, out, steps=3, preview_every=2, checkpoint_every=2)
    seen = []
    assert train_adain(cfg, seen.append) == out
    ck = load_decoder_checkpoint(out)
    assert ck["step"] == 3 and ck["settings"] == {"width": 0.125} and "optimizer" in ck
    assert ck["data"]["paintings"] == ["s0.png", "s1.png"] and ck["data"]["unreadable_photos"] == 1
    assert [s.step for s in seen] == [1, 2, 3] and all(np.isfinite(s.terms["total"]) for s in seen)
    assert out.with_suffix(".preview.jpg").is_file()
    before = ck["state_dict"]["layers.1.weight"].clone()
    train_adain(cfg.replace(steps=5, resume=True), seen.append)
    ck = load_decoder_checkpoint(out)
    assert ck["step"] == 5 and [s.step for s in seen[3:]] == [4, 5]
    assert not torch.equal(before, ck["state_dict"]["layers.1.weight"])
    with pytest.raises(PainterlyError, match="width"):
        train_adain(cfg.replace(width=0.25, steps=6, resume=True))
    slim = slim_decoder(out, tmp_path / "slim.pt")
    s = load_decoder_checkpoint(slim)
    assert "optimizer" not in s and s["state_dict"]["layers.1.weight"].dtype == torch.float16
    y = AdaIN(str(slim), "cpu")(photos / "p0.png", paintings / "s0.png", size=40)
    assert y.size == (40, 34)


@pytest.mark.parametrize("side", [None, 128])
def test_style_crops_are_never_enlarged(tmp_path, monkeypatch, side):
    """A painting crop covers IMAGE_SIZE to 2 x IMAGE_SIZE pixels of the painting held at --painting-side (default
    2 x IMAGE_SIZE), at random scales between the two: an enlarged crop would be blurred.  Every resize to the
    crop size is recorded with the size of what it resized."""
    from painterly.adain.train import StyleCrops

    Image.fromarray(np.zeros((300, 400, 3), np.uint8)).save(tmp_path / "s.png")
    crops = StyleCrops([tmp_path / "s.png"], [], 32, 0.0, painting_side=side)
    crops._load_paintings()
    assert min(crops.paintings[0].size) == (side or 64)
    sampled = []
    real_resize = Image.Image.resize

    def recording(img, size, *a, **kw):
        sampled.append((img.size, tuple(size)))
        return real_resize(img, size, *a, **kw)

    monkeypatch.setattr(Image.Image, "resize", recording)
    rng = np.random.default_rng(0)
    for _ in range(200):
        crops._sample(rng)
    taken = [src[0] for src, dst in sampled if dst == (32, 32)]
    assert len(taken) == 200 and min(taken) >= 32 and max(taken) <= 64
    assert len(set(taken)) > 10  # random scales between the two


def test_the_warm_up_learns_to_invert_the_encoder_then_the_adain_losses_follow(data, tmp_path):
    """--warmup-steps: the first steps reconstruct photos and paintings (pixel and shallow-feature loss); the pixel
    error falls; then the AdaIN content and style losses take over."""
    cfg = _cfg(data, tmp_path / "w.pt", steps=32, warmup_steps=30, lr=3e-3)
    seen = []
    train_adain(cfg, seen.append)
    assert set(seen[0].terms) == {"pixels", "features", "total"} and set(seen[-1].terms) == {
        "content",
        "style",
        "total",
    }
    first = np.mean([s.terms["pixels"] for s in seen[:3]])
    last = np.mean([s.terms["pixels"] for s in seen[27:30]])
    assert last < 0.7 * first, (first, last)


def test_a_shallower_layer_trains_only_to_invert(data, tmp_path):
    """--layer relu2_1: every step is the reconstruction (pixels and relu1_1/relu2_1 features), the pixel error
    falls, and the checkpoint names its layer; resuming it as another layer is refused."""
    out = tmp_path / "r21.pt"
    cfg = _cfg(data, out, steps=30, layer="relu2_1", lr=3e-3, preview_every=30)
    seen = []
    train_adain(cfg, seen.append)
    assert all(set(s.terms) == {"pixels", "features", "total"} for s in seen)
    assert np.mean([s.terms["pixels"] for s in seen[-3:]]) < 0.7 * np.mean([s.terms["pixels"] for s in seen[:3]])
    assert load_decoder_checkpoint(out)["settings"] == {"width": 0.125, "layer": "relu2_1"}
    assert out.with_suffix(".preview.jpg").is_file()
    with pytest.raises(PainterlyError, match="relu2_1, not relu3_1"):
        train_adain(cfg.replace(layer="relu3_1", steps=31, resume=True))
    with pytest.raises(PainterlyError, match="relu4_1 only"):
        train_adain(cfg.replace(encoder="vgg19-quarter", output=str(tmp_path / "x.pt")))


def test_the_relu1_1_decoder_starts_from_its_least_squares_fit(content_path, style_path):
    """relu1_1's decoder is one convolution: its least-squares weights reconstruct pictures it was not fitted on
    almost exactly (pixel RMS error a few hundredths), where a step of Adam from scratch is far off."""
    from painterly.adain.ops import create_encoder
    from painterly.adain.train import fit_linear_decoder
    from painterly.images import load_image, to_tensor

    enc = create_encoder("cpu", torch.float32)
    photo, painting = (to_tensor(load_image(p).resize((96, 64))) for p in (content_path, style_path))
    fitted = [photo[..., :, :48], painting[..., :, :48]]  # the left halves; the right halves are held out
    d = Decoder(width=0.5, layer="relu1_1")
    with torch.no_grad():
        before = float((d(enc(photo, ["relu1_1"])["relu1_1"]) - photo).pow(2).mean())
        mse = fit_linear_decoder(d, enc, fitted)
        held = [
            float((d(enc(x, ["relu1_1"])["relu1_1"]) - x).pow(2).mean()) for x in (photo[..., 48:], painting[..., 48:])
        ]
    assert mse < 1e-3 and max(held) < 2e-3 < before, (mse, held, before)


def test_a_distilled_encoder_learns_the_teacher_then_its_decoder_paints(data, tmp_path):
    """--encoder vgg19-quarter: the student (a quarter of VGG19's channels, ~1/16 of its multiply-adds) first
    learns to reproduce VGG19's features through linear maps (the distillation loss falls), then the decoder
    trains on its features; the checkpoint carries the student, AdaIN loads it, and the slim copy drops the maps."""
    from painterly.adain.ops import student_encoder
    from painterly.feedforward.networks import multiply_adds

    photos, paintings = data
    out = tmp_path / "distilled.pt"
    cfg = _cfg(data, out, encoder="vgg19-quarter", steps=34, distill_steps=30, warmup_steps=2, lr=3e-3, distill_lr=3e-3)
    seen = []
    train_adain(cfg, seen.append)
    assert set(seen[0].terms) == {"distill", "total"} and set(seen[-1].terms) == {"content", "style", "total"}
    first = np.mean([s.terms["distill"] for s in seen[:3]])
    last = np.mean([s.terms["distill"] for s in seen[27:30]])
    assert last < 0.8 * first, (first, last)
    ck = load_decoder_checkpoint(out)
    assert ck["encoder"] == "vgg19-quarter" and "encoder_state" in ck and "embed_state" in ck
    assert "features" not in ck["settings"]  # its relu4_1 is mapped into VGG19's 512 channels
    y = AdaIN(str(out), "cpu")(photos / "p0.png", paintings / "s0.png", size=40)
    assert y.size == (40, 34)
    for method in ("wct", "adain"):  # its relu4_1 is VGG19's 512 channels from 128: WCT copes with the low rank
        z = AdaIN(str(out), "cpu")(photos / "p0.png", paintings / "s0.png", size=40, method=method)
        assert np.isfinite(np.asarray(z, np.float32)).all() and np.asarray(z).std() > 1
    frames = AdaINStylizer(paintings / "s0.png", decoder=str(out), device="cpu", style_size=40)  # adain: in video
    assert frames.tensor(torch.rand(2, 3, 32, 40)).shape == (2, 3, 32, 40)
    slim = load_decoder_checkpoint(slim_decoder(out, tmp_path / "slim.pt"))
    assert "embed_state" not in slim and next(iter(slim["encoder_state"].values())).dtype == torch.float16
    teacher_macs = multiply_adds(create_encoder_for_count(), 256, 256)
    student_macs = multiply_adds(_counted(student_encoder(0.25)), 256, 256)
    assert student_macs < teacher_macs / 12
    with pytest.raises(PainterlyError, match="vgg19-quarter"):
        train_adain(cfg.replace(encoder="vgg19", steps=40, resume=True))
    with pytest.raises(PainterlyError, match="distilled"):
        train_adain(cfg.replace(encoder="vgg19", output=str(tmp_path / "x.pt")))


def test_init_decoder_starts_from_another_decoder(data, tmp_path):
    """--init-decoder: a distilled encoder's decoder starts as the given VGG19 decoder (the student's relu4_1 is
    mapped into VGG19's channels, so the weights fit), untouched while the student distils; another width is
    refused in one line."""
    first = tmp_path / "vgg.pt"
    train_adain(_cfg(data, first, steps=2))
    out = tmp_path / "student.pt"
    cfg = _cfg(data, out, encoder="vgg19-quarter", steps=3, distill_steps=3, init_decoder=str(first))
    train_adain(cfg)
    start, got = load_decoder_checkpoint(first)["state_dict"], load_decoder_checkpoint(out)["state_dict"]
    assert start.keys() == got.keys() and all(torch.equal(start[k].float(), got[k].float()) for k in start)
    with pytest.raises(PainterlyError, match="--init-decoder.*width"):
        train_adain(cfg.replace(width=0.25, output=str(tmp_path / "other.pt")))


def test_a_slimmed_distilled_checkpoint_resumes_after_its_distillation(data, tmp_path):
    """A shipped (slimmed: float16, no optimiser, no linear maps) distilled checkpoint continues its decoder's
    training with --resume once its distillation is over; before that it is refused in one line, since the maps
    it would need are gone."""
    full = tmp_path / "full.pt"
    cfg = _cfg(data, full, encoder="vgg19-quarter", steps=3, distill_steps=2)
    train_adain(cfg)
    out = tmp_path / "slim.pt"
    slim_decoder(full, out)
    student = load_decoder_checkpoint(out)["encoder_state"]
    train_adain(cfg.replace(output=str(out), steps=5, resume=True))
    ck = load_decoder_checkpoint(out)
    assert ck["step"] == 5 and "optimizer" in ck
    assert all(torch.equal(student[k].float(), ck["encoder_state"][k].float()) for k in student)  # frozen
    slim_decoder(full, out)
    with pytest.raises(PainterlyError, match="--resume.*distill"):
        train_adain(cfg.replace(output=str(out), steps=6, distill_steps=4, resume=True))


def create_encoder_for_count():
    from painterly.adain.ops import create_encoder

    return _counted(create_encoder())


def _counted(net):
    """A backbone as a function of the image alone (what multiply_adds calls)."""

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x, ["relu4_1"])["relu4_1"]

    return Wrapped().float()


def test_train_adain_interrupt_keeps_the_last_step(data, tmp_path):
    out = tmp_path / "dec.pt"

    def stop(it):
        if it.step == 2:
            raise KeyboardInterrupt

    cfg = _cfg(data, out, steps=10)
    with pytest.raises(Interrupted) as e:
        train_adain(cfg, stop)
    assert e.value.saved.step == 2 and load_decoder_checkpoint(out)["step"] == 2


def test_train_adain_cli_errors(tmp_path, data, cli):
    photos, paintings = data
    r = cli("train-adain", "--content-data", photos, "--style-data", tmp_path / "nope", "-o", tmp_path / "d.pt")
    assert r.returncode == 1 and "not found" in r.stderr and "Traceback" not in r.stderr
    r = cli("train-adain", "--content-data", photos, "-o", tmp_path / "d.pt")  # a usage error: exit 2, one line
    assert r.returncode == 2 and "--style-data" in r.stderr and r.stderr.count("\n") == 1
    r = cli("train-adain", "--content-data", photos, "--style-data", paintings, "--photo-styles", "2")
    assert r.returncode == 1 and "--photo-styles" in r.stderr
    r = cli(
        "train-adain",
        "--content-data",
        photos,
        "--style-data",
        paintings,
        "-o",
        tmp_path / "d.pt",
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--image-size",
        "32",
        "--width",
        "0.125",
        "--workers",
        "0",
    )
    assert r.returncode == 0, r.stderr
    assert load_decoder_checkpoint(tmp_path / "d.pt")["step"] == 2


# a word of each bundled painting's file name: none of them is among the decoders' training paintings
BUNDLED = ("starry", "wave", "scream", "composition", "udnie", "lilies", "shipwreck", "delaunay")


def test_shipped_decoder_loads_and_is_small_and_never_saw_the_bundled_paintings():
    ck = load_decoder_checkpoint(ADAIN_DECODER)
    assert "optimizer" not in ck and ADAIN_DECODER.stat().st_size < 10e6
    assert next(iter(ck["state_dict"].values())).dtype == torch.float16
    trained = " ".join(ck["data"]["paintings"]).lower()
    assert len(ck["data"]["paintings"]) > 300 and not [p for p in BUNDLED if p in trained]


@pytest.fixture(scope="module")
def model():
    return AdaIN(device="cpu")


def test_shipped_multi_wct_decoders_are_small_and_never_saw_the_bundled_paintings():
    from painterly.shipped import WCT_DECODERS

    for layer, path in WCT_DECODERS.items():
        ck = load_decoder_checkpoint(path)
        assert "optimizer" not in ck and path.stat().st_size < 4e6
        assert ck["settings"].get("layer", "relu4_1") == layer
        assert next(iter(ck["state_dict"].values())).dtype == torch.float16
        trained = " ".join(ck["data"]["paintings"]).lower()
        assert len(ck["data"]["paintings"]) > 300 and not [p for p in BUNDLED if p in trained]


@pytest.mark.parametrize("levels", [3, 4])
def test_shipped_multi_wct_paints_unseen_paintings(model, levels, content_path):
    """Li et al.'s multi-level transform with the shipped decoders, on a photo and a painting they never saw
    (chelsea, 256 px, The Scream), by Wang et al.'s measures: the painting's global effects (GE) far closer than
    the photo's, more of its local patterns (LP), and the photo's content kept (CF well above the painting's own
    0.26; measured 0.65 and 0.51).  The Gram distance is no judge here: the photo is already orange-brown, and the
    painted fur scores worse than the photo's (0.81 against 0.66) while the picture is plainly The Scream's."""
    from painterly.metrics import evaluate

    photo = Image.open(content_path).convert("RGB").resize((256, 170))
    painting = style_image_path("the-scream")
    out = model(photo, painting, size=256, method="multi-wct", wct_levels=levels)
    got, before = evaluate(out, photo, painting), evaluate(photo, photo, painting)
    assert got["ge"] >= before["ge"] + 0.15 and got["lp"] > before["lp"], (got, before)
    assert got["cf"] >= 0.4, got


@pytest.mark.parametrize("name", ["the-scream", "udnie", "water-lilies", "delaunay-portrait"])
def test_shipped_decoder_paints_unseen_paintings(model, name, content_path):
    """On a photo and a painting it never saw (chelsea, 256 px, default alpha), the output's style distance is at
    most 0.6 of the photo's own, and the photo is still there: its content distance is well below that of the
    painting itself.  (The judge's numbers at 512 px on 27 unseen pairs are in benchmarks/RESULTS.md.)"""
    photo = Image.open(content_path).convert("RGB").resize((256, 170))
    painting = style_image_path(name)
    out = model(photo, painting, size=256)
    assert out.size == photo.size
    got, before = distances(out, photo, painting), distances(photo, photo, painting)
    painting_itself = distances(Image.open(painting).convert("RGB").resize(photo.size), photo, painting)
    assert got["style"] <= 0.6 * before["style"], (got, before)
    assert got["content"] <= 0.8 * painting_itself["content"], (got, painting_itself)


def test_alpha_zero_and_mask(model, content_path):
    photo = Image.open(content_path).convert("RGB").resize((96, 64))
    a, b = style_image_path("the-scream"), style_image_path("great-wave")
    zero, half, full = (model(photo, a, size=96, alpha=x) for x in (0.0, 0.5, 1.0))
    d = [distances(y, photo, a) for y in (zero, half, full)]
    # less alpha: closer to the photo, further from the painting (sec. 7.1)
    assert d[0]["content"] < d[1]["content"] < d[2]["content"] and d[0]["style"] > d[1]["style"] > d[2]["style"], d
    white = Image.new("L", (96, 64), 255)
    masked = np.asarray(model(photo, [a, b], size=96, mask=white, alpha=1.0), np.float32)
    assert np.abs(masked - np.asarray(full, np.float32)).max() <= 2  # an all-white mask = the first painting alone


def test_python_api(content_path, tmp_path):
    out = painterly.adain_transfer(content_path, style_image_path("udnie"), size=64, alpha=0.8, device="cpu")
    assert isinstance(out, Image.Image) and max(out.size) == 64
    with pytest.raises(PainterlyError, match="--alpha"):
        painterly.adain_transfer(content_path, style_image_path("udnie"), alpha=2)
    with pytest.raises(PainterlyError, match="unknown option"):
        painterly.adain_transfer(content_path, style_image_path("udnie"), alpah=0.5)


def test_cli(content_path, tmp_path, cli):
    out = tmp_path / "o.png"
    r = cli(
        "adain",
        content_path,
        "starry-night",
        "-o",
        out,
        "--size",
        "96",
        "--preserve-color",
        "--extra-style",
        style_image_path("the-scream"),
        "--style-blend",
        "2",
        "1",
    )
    assert r.returncode == 0, r.stderr
    assert max(Image.open(out).size) == 96
    r = cli("adain", content_path, "starry-night", "-o", out, "--size", "64", "--method", "wct", "--alpha", "0.8")
    assert r.returncode == 0, r.stderr
    for args, msg in [
        (["nope.jpg", "starry-night"], "does not exist"),
        ([content_path, "starry-night", "--alpha", "1.5"], "--alpha"),
        ([content_path, "starry-night", "--mask", content_path], "--mask"),
        ([content_path, "starry-night", "--method", "wtc"], "did you mean"),
        ([content_path, "starry-night", "--decoder", content_path], "not a readable"),
    ]:
        bad = tmp_path / "bad.png"
        r = cli("adain", *args, "-o", bad, "--size", "64")
        assert r.returncode == 1 and msg in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not bad.exists()


def test_apply_adain_to_image_and_video(content_path, tmp_path, cli):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
    from test_video import make_clip

    from painterly.media.video import probe

    out = tmp_path / "o.jpg"
    r = cli("apply", "adain:" + str(style_image_path("water-lilies")), content_path, "-o", out, "--size", "80", "-q")
    assert r.returncode == 0, r.stderr
    assert max(Image.open(out).size) == 80
    clip = make_clip(tmp_path / "clip.mp4", frames=6, audio=False)
    r = cli("apply", "adain:the-scream", clip, "-o", tmp_path / "out.mp4", "-q")
    assert r.returncode == 0, r.stderr
    assert probe(tmp_path / "out.mp4").frames == 6
    r = cli("apply", "adain:nope.jpg", content_path, "-o", out)
    assert r.returncode == 1 and "nope.jpg" in r.stderr and "Traceback" not in r.stderr
    r = cli(
        "webcam", "adain:great-wave", "starry-night", "--camera", clip, "--headless", "--frames", "4", "--size", "64"
    )
    assert r.returncode == 0 and "4 frames" in r.stderr, r.stderr


def test_bench_adain_json(cli):
    r = cli("bench", "adain", "--size", "64", "--runs", "1", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["ms"] > 0 and res["ms_style_cached"] > 0  # timings themselves: benchmarks/RESULTS.md


def test_experiment_with_adain_reference(tmp_path, small_pair):
    """seed 004: Gatys results scored by MSE and SSIM against AdaIN outputs as pseudo-ground truth."""
    import csv

    c, s = small_pair
    out = tmp_path / "exp"
    assert (
        main(
            [
                "experiment",
                "--content",
                str(c),
                "--style",
                str(s),
                "--vary",
                "optimizer=lbfgs,adam",
                "--reference",
                "adain",
                "--size",
                "48",
                "--iterations",
                "3",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    ref = out / "reference" / f"{c.stem}__{s.stem}.png"
    assert max(Image.open(ref).size) == 48
    rows = list(csv.DictReader(open(out / "optimizer" / "results.csv")))
    assert len(rows) == 2 and all(
        0 < float(r["ssim_vs_reference"]) < 1 and float(r["mse_vs_reference"]) > 0 for r in rows
    )


class _Evil:
    """Unpickling this would create a file: a checkpoint that runs code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_decoder_that_would_run_code_is_refused(tmp_path, content_path, cli):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "painterly-adain", "state_dict": {"x": _Evil(marker)}}, evil)
    with pytest.raises(PainterlyError, match="not a readable painterly checkpoint"):
        load_decoder_checkpoint(evil)
    r = cli("adain", content_path, "starry-night", "-o", tmp_path / "o.png", "--decoder", evil, "--size", "32")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and not marker.exists()
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_tiles_give_the_same_picture_as_the_whole(method, content_path, style_path):
    """A large picture is encoded and decoded tile by tile with one set of statistics for the whole: the same
    picture as untiled (no seams), and the painting's statistics from tiles are the whole painting's."""
    model = AdaIN(device="cpu")
    photo = torch.from_numpy(np.asarray(Image.open(content_path).convert("RGB").resize((200, 136)), np.float32) / 255)
    photo = photo.permute(2, 0, 1)[None]
    code = model.style_code(style_path, 200)
    assert torch.allclose(model.style_code(style_path, 200, tile=64).std, code.std, rtol=1e-4)
    masks = torch.zeros(2, 136, 200)
    masks[0, :, :100], masks[1, :, 100:] = 1, 1
    other = model.style_code(content_path, 200)
    for styles, m in (([code], None), ([code, other], masks)):
        whole = model.tensor(photo, styles, method=method, masks=m)
        tiled = model.tensor(photo, styles, method=method, masks=m, tile=64)
        assert tiled.shape == whole.shape == (1, 3, 136, 200)
        assert float((tiled - whole).abs().mean()) < 2e-3 and float((tiled - whole).abs().max()) < 0.05


@pytest.fixture(scope="module")
def level_decoders(tmp_path_factory):
    """A tiny reconstruction decoder of every level, trained a few steps on noise photos (enough to run the
    pipeline, not to paint well)."""
    root = tmp_path_factory.mktemp("wct")
    rng = np.random.default_rng(1)
    photos = root / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(photos / f"p{i}.png")
    for layer in ("relu4_1", "relu3_1", "relu2_1", "relu1_1"):
        train_adain(_cfg((photos, photos), root / f"wct-{layer}.pt", steps=2, layer=layer))
    return root


def test_multi_level_wct_runs_every_level_and_tiles_without_seams(level_decoders, content_path, style_path):
    """--method multi-wct (Li et al. 2017, sec. 3.2): the four levels in turn; masks and blends work as with one
    level; a picture painted in tiles is the whole picture's (in float32: the whitening of each level magnifies
    rounding, more so with these untrained decoders); a missing decoder is named."""
    model = AdaIN(device="cpu", precision="fp32", wct_decoders=level_decoders)
    photo = torch.from_numpy(np.asarray(Image.open(content_path).convert("RGB").resize((200, 136)), np.float32) / 255)
    model_input = photo.permute(2, 0, 1)[None]
    code = model.style_code(style_path, 200, levels=True)
    assert set(code.levels) == {"relu3_1", "relu2_1", "relu1_1"} and code.at("relu1_1").cov.shape == (64, 64)
    tiled_code = model.style_code(style_path, 200, tile=64, levels=True)
    assert torch.allclose(tiled_code.at("relu2_1").std, code.at("relu2_1").std, rtol=1e-3)
    masks = torch.zeros(2, 136, 200)
    masks[0, :, :100], masks[1, :, 100:] = 1, 1
    other = model.style_code(content_path, 200, levels=True)
    for styles, m in (([code], None), ([code, other], masks)):
        whole = model.tensor(model_input, styles, method="multi-wct", masks=m, levels=4)
        tiled = model.tensor(model_input, styles, method="multi-wct", masks=m, tile=64, levels=4)
        assert tiled.shape == whole.shape == (1, 3, 136, 200)
        assert float((tiled - whole).abs().mean()) < 3e-3 and float((tiled - whole).abs().max()) < 0.15
    out = model(content_path, style_path, size=64, method="multi-wct", weights=None)
    assert max(out.size) == 64
    three, four = (model.tensor(model_input, [code], method="multi-wct", levels=n) for n in (3, 4))
    assert float((three - four).abs().mean()) > 0.01  # from relu3_1 or from relu4_1
    with pytest.raises(PainterlyError, match="--wct-levels must be 1 to 4"):
        model.tensor(model_input, [code], method="multi-wct", levels=5)
    with pytest.raises(PainterlyError, match="no relu3_1"):
        model.tensor(model_input, [model.style_code(style_path, 200)], method="multi-wct")
    empty = AdaIN(device="cpu", wct_decoders=level_decoders / "nowhere")
    with pytest.raises(PainterlyError, match="relu3_1 decoder of --method multi-wct is missing"):
        empty(content_path, style_path, size=64, method="multi-wct")
