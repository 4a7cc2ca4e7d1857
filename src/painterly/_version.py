"""The installed version of painterly (the source tree's own when it is not installed)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("painterly")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"
