"""painterly: neural style transfer (Gatys et al. 2016; Johnson et al. 2016; Huang & Belongie 2017), fast on a CPU.

The names below load on first use, so ``import painterly`` (and ``painterly --version``) does not load torch::

    painterly.transfer(photo, painting, size=512)          # optimisation (painterly.gatys)
    painterly.Stylizer("starry-night")(photo)              # a trained network (painterly.feedforward)
    painterly.adain_transfer(photo, painting)              # any painting in one pass (painterly.adain)
    painterly.evaluate(picture, photo, painting)           # how good is it (painterly.metrics)
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__


def _huge_pages() -> None:
    """Large tensors in transparent huge pages (PyTorch's CPU allocator reads ``THP_MEM_ALLOC_ENABLE`` once, when
    torch loads): a tiled print-size transfer otherwise spends a third of its time faulting in 4 KB pages
    (benchmarks/RESULTS.md).  ``THP_MEM_ALLOC_ENABLE=0`` turns it off; once torch is imported it is left alone."""
    import os
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


_huge_pages()

#: public name -> (module, attribute)
_EXPORTS = {
    "transfer": ("gatys.engine", "transfer"),
    "StyleTransfer": ("gatys.engine", "StyleTransfer"),
    "TransferResult": ("gatys.engine", "TransferResult"),
    "Iterate": ("gatys.engine", "Iterate"),
    "TransferConfig": ("config", "TransferConfig"),
    "Stylizer": ("feedforward.stylizer", "Stylizer"),
    "ApplyConfig": ("config", "ApplyConfig"),
    "train": ("feedforward.train", "train"),
    "TrainConfig": ("config", "TrainConfig"),
    "AdaIN": ("adain.model", "AdaIN"),
    "adain_transfer": ("adain.model", "stylize"),
    "AdainConfig": ("config", "AdainConfig"),
    "evaluate": ("metrics", "evaluate"),
    "PainterlyError": ("errors", "PainterlyError"),
    "DivergedError": ("errors", "DivergedError"),
    "Interrupted": ("errors", "Interrupted"),
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'painterly' has no attribute '{name}'")
