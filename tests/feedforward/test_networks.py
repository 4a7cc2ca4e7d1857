"""Feed-forward architectures: shapes at any size, parameter and multiply-add counts, what makes each one itself."""

import pytest
import torch
from torch import nn

from painterly import PainterlyError
from painterly.feedforward.networks import (
    NETWORKS,
    InstanceNorm,
    NearestUpConv,
    count_parameters,
    create_network,
    for_inference,
    multiply_adds,
)

ARCHS = [
    "johnson",
    "johnson-nn",
    "depsep",
    "depsep-nn",
    "depsep-nn-bil",
    "fast",
    "realtime",
    "realtime-nn",
    "realtime-bil",
]


def test_registry_lists_the_architectures():
    assert set(ARCHS) <= set(NETWORKS.names())
    with pytest.raises(PainterlyError, match="did you mean 'johnson'"):
        create_network("jonson")


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("hw", [(32, 32), (37, 50), (8, 13)])
def test_any_size_in_same_size_out_in_unit_range(arch, hw):
    torch.manual_seed(0)
    net = create_network(arch).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_johnson_layout():
    net = create_network("johnson")
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert convs[0].kernel_size == (9, 9) and convs[-1].kernel_size == (9, 9)
    assert [c.stride for c in convs[1:3]] == [(2, 2), (2, 2)]
    assert sum(isinstance(c, nn.ConvTranspose2d) for c in convs) == 2
    assert len(net.residuals) == 5
    assert any(isinstance(m, nn.ReflectionPad2d) for m in net.modules())
    assert all(not isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in create_network("johnson", norm="batch").modules())


def test_depthwise_separable_variants():
    ds = create_network("depsep")
    depthwise = [m for m in ds.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.groups > 1]
    assert depthwise and all(m.out_channels == 4 * m.in_channels == 4 * m.groups for m in depthwise)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in create_network("depsep-nn").modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in create_network("depsep-nn-bil").modules())
    # multiplier 4: a k x k conv cin->cout (k*k*cin*cout) becomes k*k*4*cin + 4*cin*cout, about half for 3x3
    assert count_parameters(ds) < 0.6 * count_parameters(create_network("johnson"))


def test_multiply_adds_of_johnson_by_hand():
    # 9x9 3->32 at full res, 3x3 32->64 and 64->128 strided, 10 3x3 128->128 at 1/4, two transposed, 9x9 32->3
    h = w = 64
    full, half, quarter = h * w, h * w // 4, h * w // 16
    expect = (
        full * 32 * 3 * 81
        + half * 64 * 32 * 9
        + quarter * 128 * 64 * 9
        + 10 * quarter * 128 * 128 * 9
        + quarter * 128 * 64 * 9
        + half * 64 * 32 * 9
        + full * 3 * 32 * 81
    )
    assert multiply_adds(create_network("johnson"), h, w) == expect


@pytest.mark.parametrize("arch", ARCHS)
def test_for_inference_computes_the_same_function(arch):
    torch.manual_seed(1)
    net = create_network(arch).eval()
    with torch.no_grad():  # non-trivial biases and affine norms, so the folded biases are exercised
        for m in net.modules():
            if getattr(m, "bias", None) is not None:
                m.bias.normal_(0, 0.1)
    x = torch.rand(1, 3, 40, 52)
    fast = for_inference(net)
    assert not any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and 1 < m.groups for m in fast.modules())
    if arch.endswith("-nn"):  # nearest-neighbour upsampling and its convolution: one transposed convolution
        assert not any(isinstance(m, nn.Upsample) for m in fast.modules())
        assert sum(isinstance(m, NearestUpConv) for m in fast.modules()) == 2
    with torch.no_grad():
        assert torch.allclose(fast(x.contiguous(memory_format=torch.channels_last)), net(x), atol=2e-5)
        y16 = for_inference(net, torch.bfloat16)(x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last))
    assert (y16.float() - net(x)).abs().mean() < 0.02


def test_instance_norm_matches_torch_for_one_and_many_images():
    torch.manual_seed(0)
    ours, ref = InstanceNorm(6), nn.InstanceNorm2d(6, affine=True)
    with torch.no_grad():
        ours.weight.normal_(), ours.bias.normal_()
    ref.load_state_dict(ours.state_dict())
    for b in (1, 3):
        x = torch.randn(b, 6, 9, 11).contiguous(memory_format=torch.channels_last)
        assert torch.allclose(ours(x), ref(x), atol=1e-5)


def test_fast_is_ours_and_small():
    net = create_network("fast")
    assert "painterly's own" in type(net).__doc__
    assert multiply_adds(net, 512, 512) < 0.2 * multiply_adds(create_network("johnson"), 512, 512)


def _randomise_norms(net):
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "weight" in name and p.dim() == 2 or "bias" in name and p.dim() == 2:  # conditional scale/shift rows
                p.copy_(torch.randn_like(p) * 0.5 + (1 if "weight" in name else 0))


@pytest.mark.parametrize("arch", ["johnson-nn", "realtime"])
def test_conditional_network_paints_each_painting_and_blends(arch):
    """Dumoulin et al. (2017): one network, a row of scales and shifts per painting; a blend of paintings is
    the convex combination of their rows, and fixing a painting gives a plain network with the same output."""
    torch.manual_seed(0)
    net = create_network(arch, norm="conditional", styles=3).eval()
    _randomise_norms(net)
    x = torch.rand(2, 3, 40, 48)
    with torch.no_grad():
        y0, y2 = net(x, torch.tensor([0, 0])), net(x, torch.tensor([2, 2]))
        assert (y0 - y2).abs().mean() > 1e-3  # the paintings differ
        both = net(x, torch.tensor([0, 2]))  # one painting per image of the batch
        assert torch.allclose(both[0], y0[0], atol=1e-5) and torch.allclose(both[1], y2[1], atol=1e-5)
        mix = torch.tensor([0.25, 0.0, 0.75])
        fixed = net.for_style(mix)
        assert not any("Conditional" in type(m).__name__ for m in fixed.modules())
        assert fixed.settings["norm"] == "instance" and "styles" not in fixed.settings
        assert torch.allclose(fixed(x), net(x, mix.expand(2, 3)), atol=1e-5)
        # a plain network of the same architecture loads the fixed weights: one painting, no extra cost
        plain = create_network(arch)
        plain.load_state_dict(fixed.state_dict())
        assert torch.allclose(plain.eval()(x), fixed(x), atol=1e-5)
    with pytest.raises(PainterlyError, match="say which"):
        net(x)


def test_realtime_has_no_skips_and_fast_does():
    """``realtime`` is ``fast`` without the skips that carried the photo's fine detail to the output: the same
    weights, a different function."""
    torch.manual_seed(0)
    a, b = create_network("fast").eval(), create_network("realtime").eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert (a(x) - b(x)).abs().max() > 1e-3
    assert multiply_adds(a, 64, 64) == multiply_adds(b, 64, 64)
