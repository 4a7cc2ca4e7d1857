"""Feed-forward architectures: shapes at any size, parameter and multiply-add counts, what makes each one itself."""
import pytest
import torch
from torch import nn

from painterly import PainterlyError
from painterly.networks import NETWORKS, count_parameters, create_network, multiply_adds

ARCHS = ["johnson", "depsep", "depsep-nn", "depsep-nn-bil"]


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
    expect = (full * 32 * 3 * 81 + half * 64 * 32 * 9 + quarter * 128 * 64 * 9 + 10 * quarter * 128 * 128 * 9
              + quarter * 128 * 64 * 9 + half * 64 * 32 * 9 + full * 3 * 32 * 81)
    assert multiply_adds(create_network("johnson"), h, w) == expect
