"""painterly's L-BFGS takes exactly torch.optim.LBFGS's steps (max_iter=1, no line search), and recovers where
torch's would stall."""

import torch

from painterly.gatys.lbfgs import LBFGS


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return ((1 - x[:-1]) ** 2).sum() + 10 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


def _run(opt_cls, steps, **kw):
    torch.manual_seed(0)
    x = (torch.rand(12, dtype=torch.float64) * 0.5).requires_grad_(True)
    opt = opt_cls([x], **kw)
    losses = []

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
    return x.detach(), losses


def test_same_steps_as_torch_lbfgs_without_line_search():
    ours, l_ours = _run(LBFGS, 40, lr=0.5, history_size=5)
    ref, l_ref = _run(
        torch.optim.LBFGS, 40, lr=0.5, history_size=5, max_iter=1, tolerance_grad=0.0, tolerance_change=0.0
    )
    assert torch.allclose(ours, ref, rtol=0, atol=1e-12)
    assert max(abs(a - b) / abs(b) for a, b in zip(l_ours, l_ref)) < 1e-12
    assert l_ours[-1] < 0.05 * l_ours[0]


def test_a_non_descent_direction_resets_the_history_and_descends():
    x = torch.tensor([3.0, -2.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], lr=0.5)

    def f():
        return (x**4).sum() + (x**2).sum()

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    opt.step(closure)
    opt.step(closure)
    assert opt.dirs
    opt._direction = lambda g: g.clone()  # an uphill proposal
    before = float(f().detach())
    opt.step(closure)
    assert not opt.dirs and float(f().detach()) < before
