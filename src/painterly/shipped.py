"""The pretrained models that ship inside the package, by name.

``painterly/pretrained/NAME.pt`` is the model (float16 weights, with its painting's thumbnail),
``painterly/pretrained/styles/NAME.jpg`` the painting it learned (public domain), and ``painterly/pretrained/cards.json``
its model card: painting, architecture, training settings and time, the scores measured on held-out photos, and the
milliseconds per 512x512 image measured on the development CPU.  ``scripts/train_pretrained.sh`` trains them and
``scripts/ship_pretrained.py`` writes the files.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .errors import PainterlyError, suggest

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
CARDS = PRETRAINED / "cards.json"


#: the shipped networks, each holding every shipped painting (conditional instance normalisation)
VARIANTS = ("quality", "realtime")


@functools.lru_cache(maxsize=None)
def _paintings_in(path: Path) -> tuple[str, ...]:
    from .models import load_checkpoint, painting_names
    return tuple(painting_names(load_checkpoint(path)))


def shipped_models(variant: str = "quality") -> dict[str, Path]:
    """painting name -> the shipped checkpoint that paints it in ``variant`` (quality or realtime); a
    single-painting file ``NAME.pt`` beside them also counts."""
    if variant not in VARIANTS:
        raise PainterlyError(f"unknown variant '{variant}'{suggest(variant, VARIANTS)} (choices: {', '.join(VARIANTS)})")
    found: dict[str, Path] = {}
    net = PRETRAINED / f"{variant}.pt"
    if net.is_file():
        found.update({name: net for name in _paintings_in(net)})
    for p in sorted(PRETRAINED.glob("*.pt")):
        if p.stem not in VARIANTS:
            found.setdefault(p.stem, p)
    return found


def shipped_model_path(name: str, variant: str = "quality") -> Path:
    models = shipped_models(variant)
    if name not in models:
        have = ", ".join(models) or "none yet"
        raise PainterlyError(f"no model file or shipped model named '{name}'{suggest(name, models)} "
                             f"(shipped: {have}; 'painterly models' lists them)")
    return models[name]


def model_cards() -> dict[str, dict[str, Any]]:
    """name -> model card (empty when the catalogue has none)."""
    try:
        return json.loads(CARDS.read_text())
    except FileNotFoundError:
        return {}


def style_image_path(name: str) -> Path:
    """The bundled painting a shipped model learned."""
    return PRETRAINED / "styles" / f"{name}.jpg"


def resolve_painting(name: str) -> str:
    """A painting file, or the name of a bundled painting (starry-night, the-scream, ...) as its path."""
    if not Path(name).exists() and style_image_path(name).is_file():
        return str(style_image_path(name))
    return name


def describe_models() -> list[dict[str, Any]]:
    """One record per shipped model: the card's facts and the checkpoint's."""
    from .models import load_checkpoint
    cards = model_cards()
    out = []
    for name, path in shipped_models().items():
        ck = load_checkpoint(path)
        card = cards.get(name, {})
        out.append({"name": name, "arch": ck["arch"], "painting": card.get("painting", ck.get("style", {}).get("name")),
                    "style_image": str(style_image_path(name)), "steps": ck.get("step"),
                    "cpu_ms_512": card.get("cpu_ms_512"), "judge": card.get("judge"), "use": card.get("use"),
                    "training": card.get("training"), "path": str(path), "bytes": path.stat().st_size})
    return out
