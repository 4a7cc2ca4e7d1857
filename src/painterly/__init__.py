"""painterly: neural style transfer (Gatys et al.; Johnson et al.; Huang & Belongie), fast on a CPU."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("painterly")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"

from .adain import AdaIN  # noqa: E402
from .adain import stylize as adain  # noqa: E402
from .config import AdainConfig, TransferConfig  # noqa: E402
from .errors import PainterlyError  # noqa: E402
from .optimize import Interrupted, Iterate, StyleTransfer, TransferResult, transfer  # noqa: E402

__all__ = ["AdaIN", "AdainConfig", "adain", "TransferConfig", "PainterlyError", "Interrupted", "Iterate", "StyleTransfer", "TransferResult",
           "transfer", "__version__"]
