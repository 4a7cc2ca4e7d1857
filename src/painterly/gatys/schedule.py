"""The coarse-to-fine schedule of ``painterly transfer`` (``--scales``) and its stopping rule."""

from __future__ import annotations

from ..errors import PainterlyError

#: The stopping rule compares the loss with its value this many steps earlier.
STOP_WINDOW = 10


#: ``--scales auto``: the coarsest scale has at least this long side, and the finer scales at least this many steps.
AUTO_MIN_SIDE = 100
AUTO_MIN_STEPS = 10


def parse_scales(spec: str, size: int, iterations: int) -> list[tuple[int, int]]:
    """Coarse-to-fine schedule ``[(long_side, steps), ...]`` ending at ``size``.

    ``"auto"``: sides ``size / 2^k`` down to at least ``AUTO_MIN_SIDE``; the coarsest gets ``iterations`` steps and
    every finer scale a quarter of the previous one's (so each scale costs about the same time), at least
    ``AUTO_MIN_STEPS``.  Chosen by measurement of quality against time (benchmarks/schedules.py, RESULTS.md).
    ``""`` or ``"none"``: one scale, ``size`` with ``iterations`` steps.  ``"128:200,256:100"``: those scales first
    (steps after the colon, else ``iterations``), then ``size`` (with its own ``:N`` if listed, else ``iterations``)."""
    spec = spec.strip().lower()
    if spec in ("", "none"):
        return [(size, iterations)]
    if spec == "auto":
        sides = [size]
        while round(sides[0] / 2) >= AUTO_MIN_SIDE:
            sides.insert(0, round(sides[0] / 2))
        return [
            (sd, iterations if k == 0 else max(AUTO_MIN_STEPS, round(iterations / 4**k))) for k, sd in enumerate(sides)
        ]
    out: dict[int, int] = {}
    for part in spec.split(","):
        side_s, _, n_s = part.strip().partition(":")
        try:
            side, n = int(side_s), int(n_s) if n_s else iterations
        except ValueError:
            raise PainterlyError(
                f"bad --scales entry '{part}' (use auto, none, or SIZE or SIZE:STEPS, comma-separated)"
            ) from None
        if side < 1 or n < 0:
            raise PainterlyError(f"--scales entry '{part}' needs a positive size and non-negative steps")
        if side > size:
            raise PainterlyError(f"--scales entry {side} is larger than --size {size}")
        out[side] = n
    out.setdefault(size, iterations)
    return [(sd, n) for sd, n in sorted(out.items()) if n > 0 or sd == size]
