"""L-BFGS for one image: one function evaluation per step, no line search (Nocedal & Wright 2006, alg. 7.4).

The same iteration as ``torch.optim.LBFGS(max_iter=1, tolerance_grad=0, tolerance_change=0)`` (checked step for step
in tests/test_lbfgs.py), written out because (1) constructing any ``torch.optim`` optimiser imports torch._dynamo,
1.2 s of a 25 s job on the development machine, and (2) torch's version stops for good when a step is not a
descent direction (it keeps proposing the same step), where this one forgets its history and takes a gradient step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import torch


class LBFGS:
    """Minimise over one tensor ``x`` (updated in place); ``step(closure)`` returns the loss before the step."""

    def __init__(
        self, params: list[torch.Tensor], lr: float = 1.0, history_size: int = 100, h_diag: Optional[float] = None
    ) -> None:
        """``h_diag``: an initial inverse-Hessian scale (e.g. carried over from a coarser scale of the same
        problem); the first step is then ``-h_diag * g`` instead of torch's gradient step of length 1 / |g|_1."""
        if len(params) != 1:
            raise ValueError("painterly's L-BFGS optimises exactly one tensor")
        self.x = params[0]
        self.lr = lr
        self.history_size = history_size
        self.dirs: list[torch.Tensor] = []  # y_k = g_{k+1} - g_k
        self.steps: list[torch.Tensor] = []  # s_k = x_{k+1} - x_k
        self.rho: list[float] = []
        self.h_diag = 1.0
        self.warm_h_diag = h_diag
        self.prev_grad: Optional[torch.Tensor] = None
        self.prev_step: Optional[torch.Tensor] = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.x.grad = None

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """Two-loop recursion: ``-H g`` with the stored curvature pairs and initial scaling ``h_diag``."""
        q = g.neg()
        alpha = []
        for s, y, rho in zip(reversed(self.steps), reversed(self.dirs), reversed(self.rho)):
            a = float(s.dot(q)) * rho
            q.add_(y, alpha=-a)
            alpha.append(a)
        r = q.mul_(self.h_diag)
        for s, y, rho, a in zip(self.steps, self.dirs, self.rho, reversed(alpha)):
            b = float(y.dot(r)) * rho
            r.add_(s, alpha=a - b)
        return r

    def _reset(self) -> None:
        self.dirs.clear()
        self.steps.clear()
        self.rho.clear()
        self.h_diag = 1.0
        self.prev_step = None

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        assert self.x.grad is not None, "the closure must call backward()"
        g = self.x.grad.detach().reshape(-1)
        if g.dtype in (torch.float16, torch.bfloat16):
            g = g.float()
        if not bool(g.abs().max() > 0):
            return loss  # at a stationary point
        if self.prev_step is not None and self.prev_grad is not None:
            y = g - self.prev_grad
            ys = float(y.dot(self.prev_step))
            if ys > 1e-10:  # keep the pair only where the curvature condition holds
                if len(self.dirs) == self.history_size:
                    self.dirs.pop(0), self.steps.pop(0), self.rho.pop(0)
                self.dirs.append(y)
                self.steps.append(self.prev_step)
                self.rho.append(1.0 / ys)
                self.h_diag = ys / float(y.dot(y))
        first = self.prev_step is None
        d = self._direction(g) if not first else g.neg()
        if not first and float(g.dot(d)) >= 0:  # not a descent direction: start over from the gradient
            self._reset()
            d, first = g.neg(), True
        if first and self.warm_h_diag is not None:
            d.mul_(self.warm_h_diag)
            t = self.lr
            self.warm_h_diag = None  # once; a later restart takes the cautious step
        elif first:
            t = min(1.0, 1.0 / float(g.abs().sum())) * self.lr
        else:
            t = self.lr
        step = d.mul_(t)
        self.x.add_(step.view_as(self.x))
        self.prev_step = step
        self.prev_grad = g.clone() if self.prev_grad is None else self.prev_grad.copy_(g)
        return loss
