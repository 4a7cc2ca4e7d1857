"""Helpers shared by the benchmark scripts: the style and content distances, and splitting off extra painterly
flags."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def distances(out: Path, content: Path, style: Path) -> tuple[float, float]:
    """(style, content) distances of ``out`` (painterly.metrics.distances: the original VGG19, the mean relative
    Gram distance over relu1_1..relu5_1 and the relative feature distance at relu4_2)."""
    from painterly.metrics import distances as measure

    got = measure(out, content, style)
    return got["style"], got["content"]


def split_extra(argv: list[str]) -> tuple[list[str], list[str]]:
    """``[own args] -- [painterly flags]`` -> (own, extra)."""
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1 :]
