import pytest
import torch

from painterly.losses import CONTENT_LOSSES, gram_matrix, style_loss, tv_loss


def test_gram_matrix_matches_hand_computation():
    # one image, 2 channels, 2x2 positions
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, -1.0]]]])
    # channel vectors a=(1,2,3,4), b=(0,1,0,-1): a.a=30, a.b=2-4=-2, b.b=2; normalised by C*H*W = 8
    expected = torch.tensor([[[30.0, -2.0], [-2.0, 2.0]]]) / 8
    assert torch.allclose(gram_matrix(f), expected)


def test_gram_matrix_batches_independently():
    f = torch.randn(3, 4, 5, 6)
    g = gram_matrix(f)
    assert g.shape == (3, 4, 4)
    assert torch.allclose(g[1], gram_matrix(f[1:2])[0])
    assert torch.allclose(g[1], g[1].T)


def test_relative_losses_are_zero_at_target_and_one_at_zero():
    t = torch.rand(1, 8, 5, 5) + 0.1
    mse = CONTENT_LOSSES.get("mse")
    assert mse(t, t).item() == 0
    assert abs(mse(torch.zeros_like(t), t).item() - 1.0) < 1e-6
    # scale-free: scaling both sides leaves it unchanged
    x = torch.rand_like(t)
    assert abs(mse(3 * x, 3 * t).item() - mse(x, t).item()) < 1e-5
    gt = gram_matrix(t)
    assert style_loss(gt, gt).item() == 0
    assert abs(style_loss(torch.zeros_like(gt), gt).item() - 1.0) < 1e-6


def test_style_loss_broadcasts_one_target_over_a_batch():
    target = gram_matrix(torch.rand(1, 4, 6, 6))
    batch = gram_matrix(torch.rand(3, 4, 6, 6))
    per = torch.stack([style_loss(batch[i : i + 1], target) for i in range(3)])
    assert torch.allclose(style_loss(batch, target), per.mean())


def test_tv_loss():
    flat = torch.full((1, 3, 4, 4), 0.5)
    assert tv_loss(flat).item() == 0
    stripes = torch.zeros(1, 1, 2, 2)
    stripes[..., 1] = 1.0  # columns 0,1 differ by 1, rows equal
    assert abs(tv_loss(stripes).item() - 1.0) < 1e-6


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_gradient_is_exact_in_both_layouts(channels_last):
    f = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    if channels_last:
        f = f.to(memory_format=torch.channels_last)
    f.requires_grad_(True)
    assert torch.autograd.gradcheck(gram_matrix, (f,))


def test_gram_of_bf16_channels_last_features_is_fp32_and_keeps_the_layout():
    torch.manual_seed(0)
    f32 = torch.randn(1, 16, 12, 10).relu()
    target = torch.randn(1, 16, 16)
    fb = f32.to(torch.bfloat16).to(memory_format=torch.channels_last).requires_grad_(True)
    g = gram_matrix(fb)
    assert g.dtype == torch.float32
    (g * target).sum().backward()
    assert fb.grad.dtype == torch.bfloat16 and fb.grad.is_contiguous(memory_format=torch.channels_last)
    ref = f32.clone().requires_grad_(True)
    (gram_matrix(ref) * target).sum().backward()
    assert torch.allclose(g, gram_matrix(f32), rtol=0.02, atol=1e-3)
    assert (fb.grad.float() - ref.grad).norm() < 0.02 * ref.grad.norm()
