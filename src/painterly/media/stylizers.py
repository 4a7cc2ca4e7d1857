"""One name for every one-pass model: a trained network (a checkpoint or a shipped painting's name) or
``adain:PAINTING``."""

from __future__ import annotations

from typing import Any, Optional

from ..adain.model import AdaINStylizer
from ..errors import PainterlyError
from ..feedforward.stylizer import Stylizer
from ..shipped import resolve_painting

#: ``painterly apply adain:PAINTING.jpg ...``: AdaIN with that painting instead of a trained model
ADAIN_PREFIX = "adain:"


def load_stylizer(
    model: str, device: str = "auto", mix: Optional[str] = None, stroke_scale: float = 1.0, variant: str = "quality"
) -> Any:
    """A feed-forward model (checkpoint path or shipped name) as a :class:`Stylizer`, or ``adain:PAINTING`` as an
    :class:`painterly.adain.model.AdaINStylizer`; both have ``.name``, ``.tensor``, ``.frames`` and are callable.
    ``mix``, ``stroke_scale`` and ``variant``: see :class:`Stylizer` (not for AdaIN)."""
    if model.startswith(ADAIN_PREFIX):
        painting = model[len(ADAIN_PREFIX) :]
        if not painting:
            raise PainterlyError("adain: needs a painting, as in adain:starry.jpg")
        if mix or stroke_scale != 1.0:
            raise PainterlyError(
                "--mix and --stroke-scale are for trained networks, not adain: (AdaIN has "
                "--extra-style and --style-size)"
            )
        return AdaINStylizer(resolve_painting(painting), device=device)
    return Stylizer(model, device, mix=mix, stroke_scale=stroke_scale, variant=variant)
