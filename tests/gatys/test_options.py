"""The options of issue 3: other backbones and weight files, losses, colour, several styles, normalisation."""

import json

import pytest
import torch
from PIL import Image

from painterly import StyleTransfer
from painterly.app.cli import main
from painterly.backbones import create_backbone
from painterly.backbones import weights as weights_mod
from painterly.backbones.resnet import ResNet50
from painterly.backbones.vgg import VGG, VGG16_CFG, VGG19_CFG, filter_means, normalize_filters
from painterly.color import match_colors, rgb_to_yiq
from painterly.errors import PainterlyError
from painterly.losses import CONTENT_LOSSES, laplacian, laplacian_loss


def _torchvision_vgg_file(path, cfg, seed=0):
    torch.manual_seed(seed)
    net = VGG("x", cfg, "max", "torchvision")
    state = {f"features.{k}": v for k, v in net.layers.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, path)
    return path


def _torchvision_resnet_file(path):
    torch.manual_seed(0)
    state = ResNet50().state_dict()
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    return _torchvision_vgg_file(tmp_path_factory.mktemp("w") / "vgg16.pth", VGG16_CFG)


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    return _torchvision_resnet_file(tmp_path_factory.mktemp("w") / "resnet50.pth")


def test_vgg16_from_torchvision_state_dict(vgg16_file, small_pair):
    net = create_backbone("vgg16", str(vgg16_file))
    assert net.default_content_layers == ("relu2_2",)
    assert net.default_style_layers == ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    ref = torch.load(vgg16_file, weights_only=True)
    assert torch.equal(net.layers[0].weight, ref["features.0.weight"])
    # fp32: random weights at 32 px make bf16's rounding visible in L-BFGS's first steps (real weights do not)
    res = StyleTransfer(size=32, iterations=4, backbone="vgg16", weights=str(vgg16_file), precision="fp32").run(
        *small_pair
    )
    assert res.history[-1]["total"] < res.history[0]["total"]


def test_vgg19_accepts_torchvision_format(tmp_path):
    f = _torchvision_vgg_file(tmp_path / "v19.pth", VGG19_CFG)
    net = create_backbone("vgg19", str(f))
    assert net.input_mode == "torchvision"
    with pytest.raises(PainterlyError, match="does not fit vgg16"):
        create_backbone("vgg16", str(f))


def test_resnet50_from_torchvision_state_dict(resnet_file, small_pair):
    net = create_backbone("resnet50", str(resnet_file))
    assert len(net.default_content_layers) == 2 and len(net.default_style_layers) == 8
    ref = torch.load(resnet_file, weights_only=True)
    assert torch.equal(net.layer2[3].conv3.weight, ref["layer2.3.conv3.weight"])
    res = StyleTransfer(size=64, iterations=4, backbone="resnet50", weights=str(resnet_file), optimizer="nadam").run(
        *small_pair
    )
    assert res.history[-1]["total"] < res.history[0]["total"]
    trunc = create_backbone("resnet50", str(resnet_file), layers=["conv3_block2_1_relu"])
    assert not hasattr(trunc, "layer3") and trunc.layer_names[-1] == "conv3_block2_1_relu"


def test_unsafe_or_wrong_weight_files_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "evil.pth"
    torch.save({"features.0.weight": Evil()}, bad)
    with pytest.raises(PainterlyError, match="not a safe tensor-only checkpoint"):
        create_backbone("vgg16", str(bad))
    junk = tmp_path / "junk.pth"
    junk.write_text("nope")
    with pytest.raises(PainterlyError, match="junk.pth"):
        create_backbone("resnet50", str(junk))


def test_download_verified_against_checksum(tmp_path, monkeypatch, vgg16_file):
    import hashlib

    digest = hashlib.sha256(vgg16_file.read_bytes()).hexdigest()
    served = tmp_path / "srv" / f"vgg16-{digest[:8]}.pth"
    served.parent.mkdir()
    served.write_bytes(vgg16_file.read_bytes())
    monkeypatch.setitem(weights_mod.TORCHVISION_URLS, "vgg16", served.as_uri())
    got = weights_mod.fetch_torchvision_weights("vgg16", cache_dir=tmp_path / "cache")
    assert got.read_bytes() == vgg16_file.read_bytes()
    # a corrupted cached copy is deleted and reported
    got.write_bytes(b"tampered")
    with pytest.raises(PainterlyError, match="failed their checksum and were deleted"):
        weights_mod.fetch_torchvision_weights("vgg16", cache_dir=tmp_path / "cache")
    assert not got.exists()
    # a download whose checksum does not match keeps nothing
    wrong = tmp_path / "srv" / "vgg16-deadbeef.pth"
    wrong.write_bytes(b"not the weights")
    monkeypatch.setitem(weights_mod.TORCHVISION_URLS, "vgg16", wrong.as_uri())
    with pytest.raises(PainterlyError, match="checksum"):
        weights_mod.fetch_torchvision_weights("vgg16", cache_dir=tmp_path / "cache2")
    assert not (tmp_path / "cache2" / "vgg16-deadbeef.pth").exists()


def test_offline_download_names_weights_flag(tmp_path, monkeypatch):
    monkeypatch.setitem(weights_mod.TORCHVISION_URLS, "resnet50", "http://127.0.0.1:9/resnet50-0676ba61.pth")
    with pytest.raises(PainterlyError, match="--weights"):
        weights_mod.fetch_torchvision_weights("resnet50", cache_dir=tmp_path)


def test_charbonnier_content_loss():
    t = torch.rand(2, 4, 5, 5) + 0.5
    ch = CONTENT_LOSSES.get("charbonnier")
    assert ch(t, t).item() < 1e-6
    assert 0.8 < ch(torch.zeros_like(t), t).item() < 1.01
    x = torch.rand_like(t)
    assert abs(ch(2 * x, 2 * t).item() - ch(x, t).item()) < 1e-5  # scale free


def test_laplacian_loss():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert laplacian(flat).abs().max() < 1e-6
    img = torch.rand(1, 3, 16, 16)
    tgt = laplacian(img)
    assert laplacian_loss(img, tgt).item() < 1e-10
    assert laplacian_loss(flat, tgt).item() == pytest.approx(1.0, rel=1e-4)


def test_loss_terms_and_flags_reach_the_loop(small_pair):
    res = StyleTransfer(size=32, iterations=3, tv_weight=1.0, laplacian_weight=1.0, content_loss="charbonnier").run(
        *small_pair
    )
    assert {"tv", "laplacian"} <= set(res.terms)


def test_preserve_color_luminance_keeps_photo_chroma(small_pair):
    c, s = small_pair
    res = StyleTransfer(size=48, iterations=5, preserve_color=True).run(c, s)
    out = torch.from_numpy(__import__("numpy").asarray(res.image, dtype="float32") / 255).permute(2, 0, 1)[None]
    photo = torch.from_numpy(
        __import__("numpy").asarray(Image.open(c).convert("RGB").resize((48, 32)), dtype="float32") / 255
    ).permute(2, 0, 1)[None]
    iq_out, iq_photo = rgb_to_yiq(out)[:, 1:], rgb_to_yiq(photo)[:, 1:]
    plain = StyleTransfer(size=48, iterations=5).run(c, s).image
    iq_plain = rgb_to_yiq(
        torch.from_numpy(__import__("numpy").asarray(plain, dtype="float32") / 255).permute(2, 0, 1)[None]
    )[:, 1:]
    assert (iq_out - iq_photo).abs().mean() < 0.5 * (iq_plain - iq_photo).abs().mean()


def test_histogram_matching_moves_colour_statistics():
    src = torch.rand(1, 3, 20, 20) * torch.tensor([1.0, 0.2, 0.1]).view(1, 3, 1, 1)
    tgt = torch.rand(1, 3, 30, 30) * 0.5 + torch.tensor([0.0, 0.4, 0.2]).view(1, 3, 1, 1)
    out = match_colors(src, tgt)
    assert torch.allclose(out.mean((2, 3)), tgt.mean((2, 3)), atol=0.03)
    assert StyleTransfer(size=32, iterations=2, preserve_color=True, color_mode="histogram").config.color_mode


def test_style_blend(small_pair, tmp_path):
    c, s = small_pair
    other = tmp_path / "other.png"
    Image.new("RGB", (30, 30), (0, 90, 200)).save(other)
    only_a = StyleTransfer(size=32, iterations=3).run(c, s).history
    blended = StyleTransfer(size=32, iterations=3, extra_style=(str(other),), style_blend=(1.0, 0.0)).run(c, s).history
    assert blended == only_a  # weight 0 for the extra painting: same optimisation
    mixed = StyleTransfer(size=32, iterations=3, extra_style=(str(other),)).run(c, s).history
    assert mixed != only_a
    with pytest.raises(PainterlyError, match="needs 2 weights"):
        StyleTransfer(extra_style=(str(other),), style_blend=(1.0,))


def test_filter_normalisation_gives_unit_means():
    net = create_backbone("vgg19", layers=["relu3_1"])
    imgs = [torch.rand(2, 3, 32, 32)]
    normalize_filters(net, filter_means(net, imgs))
    for m in filter_means(net, imgs):
        assert torch.allclose(m[m > 0], torch.ones_like(m[m > 0]), rtol=1e-3)


def test_normalize_filters_shipped_and_run_computed(small_pair, vgg16_file, resnet_file):
    st = StyleTransfer(size=32, iterations=2, normalize_filters=True)
    assert st.backbone is not None and st._normalized  # shipped statistics for the bundled vgg19
    res = StyleTransfer(size=32, iterations=2, normalize_filters=True, backbone="vgg16", weights=str(vgg16_file)).run(
        *small_pair
    )
    assert res.steps == 2
    with pytest.raises(PainterlyError, match="needs a VGG backbone"):
        StyleTransfer(size=32, normalize_filters=True, backbone="resnet50", weights=str(resnet_file)).backbone


def test_cli_issue3_flags(capsys, tmp_path, small_pair, vgg16_file):
    c, s = small_pair
    other = tmp_path / "other.png"
    Image.new("RGB", (30, 30), (0, 90, 200)).save(other)
    out = tmp_path / "o.png"
    code = main(
        [
            "transfer",
            str(c),
            str(s),
            "-o",
            str(out),
            "--size",
            "32",
            "--iterations",
            "2",
            "--backbone",
            "vgg16",
            "--weights",
            str(vgg16_file),
            "--content-loss",
            "charbonnier",
            "--laplacian-weight",
            "0.5",
            "--laplacian-pool",
            "2",
            "--extra-style",
            str(other),
            "--extra-style",
            str(s),
            "--style-blend",
            "2",
            "1",
            "1",
            "--preserve-color",
            "--color-mode",
            "histogram",
            "--normalize-filters",
            "--optimizer",
            "nadam",
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    opts = json.loads(out.with_suffix(".json").read_text())["options"]
    assert opts["extra_style"] == [str(other), str(s)] and opts["style_blend"] == [2.0, 1.0, 1.0]
    assert opts["normalize_filters"] and opts["color_mode"] == "histogram"
