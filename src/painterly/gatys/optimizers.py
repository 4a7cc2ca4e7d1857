"""The optimisers of the picture, behind one registry: L-BFGS (painterly's own, :mod:`painterly.gatys.lbfgs`),
Adam (Kingma & Ba 2015), AdamW (Loshchilov & Hutter 2019), NAdam (Dozat 2016)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..registry import Registry
from .lbfgs import LBFGS


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build an optimiser over the image, and its default learning rate (images live in [0, 1])."""

    build: Callable[[list[torch.Tensor], float], Any]  # step(closure) -> loss, zero_grad(set_to_none=True)
    lr: float


OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")
#: Memory for L-BFGS's curvature pairs (two fp32 copies of the image each): 100 pairs up to about 1 Mpixel,
#: fewer for larger pictures (at least 5), so a 2048x2048 picture keeps 0.5 GiB of history instead of 10 GiB.
LBFGS_HISTORY_BYTES = 512 * 2**20


def lbfgs_history(numel: int) -> int:
    return int(min(100, max(5, LBFGS_HISTORY_BYTES // (8 * max(1, numel)))))


# L-BFGS: one iteration (one function evaluation) per step, so progress is reported every step; painterly decides
# when to stop.
OPTIMIZERS.register("lbfgs")(
    OptimizerSpec(lambda p, lr: LBFGS(p, lr=lr, history_size=lbfgs_history(sum(t.numel() for t in p))), 1.0)
)
OPTIMIZERS.register("adam")(OptimizerSpec(lambda p, lr: torch.optim.Adam(p, lr=lr), 0.02))
# AdamW (Loshchilov & Hutter): decoupled weight decay, torch's default 0.01, which here pulls pixels towards 0.
OPTIMIZERS.register("adamw")(OptimizerSpec(lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01), 0.02))
OPTIMIZERS.register("nadam")(OptimizerSpec(lambda p, lr: torch.optim.NAdam(p, lr=lr), 0.02))
