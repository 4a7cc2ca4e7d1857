"""Helpers shared by the benchmark scripts: the shared judge, and splitting off extra painterly flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
JUDGE = ROOT.parent / "shared" / "tools" / "judge.py"


def judge(out: Path, content: Path, style: Path) -> tuple[float, float]:
    """(style, content) distances of ``out`` by ../shared/tools/judge.py."""
    line = subprocess.run(
        [sys.executable, str(JUDGE), str(out), str(content), str(style)], capture_output=True, text=True, check=True
    ).stdout
    parts = dict(kv.split("=") for kv in line.split())
    return float(parts["style"]), float(parts["content"])


def split_extra(argv: list[str]) -> tuple[list[str], list[str]]:
    """``[own args] -- [painterly flags]`` -> (own, extra)."""
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1 :]
