from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def content_path() -> Path:
    return EXAMPLES / "chelsea.jpg"


@pytest.fixture(scope="session")
def style_path() -> Path:
    return EXAMPLES / "starry_night.jpg"


@pytest.fixture
def small_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A 48x32 photo-like image and a 40x40 stripy 'painting', written to disk."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:48]
    c = np.stack([xx * 5, yy * 7, (xx + yy) * 3], -1).astype(np.uint8)
    s = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
    s[::4] = [250, 200, 30]
    cp, sp = tmp_path / "c.png", tmp_path / "s.png"
    Image.fromarray(c).save(cp)
    Image.fromarray(s).save(sp)
    return cp, sp


@pytest.fixture
def cli():
    """``cli(*args)`` runs ``painterly ARGS`` in this process (models and VGG19 stay loaded, no start-up per call)
    and returns its ``returncode``, ``stdout`` and ``stderr``.  Tests of signals and of start-up use a subprocess."""
    import contextlib
    import io
    import types

    from painterly.app.cli import main

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse's usage errors
                code = e.code
        return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())

    return run
