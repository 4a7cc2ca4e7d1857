"""What ships inside the package: the bundled paintings, the trained networks that paint them, and the AdaIN decoder.

``pretrained/quality.pt`` and ``pretrained/realtime.pt`` are two networks of every shipped painting (conditional
instance normalisation, Dumoulin et al. 2017; float16 weights with each painting's thumbnail): ``quality`` for
pictures, ``realtime`` for video and the webcam.  ``pretrained/styles/NAME.jpg`` is each painting (public domain) and
``pretrained/cards.json`` the model card: each network's architecture, training and speed, each painting's credit
and its scores on held-out photos.  ``scripts/train_pretrained.sh`` trains the networks and
``scripts/ship_pretrained.py`` writes the files.  A single-painting checkpoint ``pretrained/NAME.pt`` counts too.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .errors import PainterlyError, suggest

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
CARDS = PRETRAINED / "cards.json"
#: the AdaIN decoders shipped in the package, by encoder (trained by scripts/train_adain.sh): for VGG19, and for
#: the encoder distilled from it (with its student encoder inside)
ADAIN_DECODERS = {"vgg19": PRETRAINED / "adain" / "decoder.pt", "vgg19-quarter": PRETRAINED / "adain" / "distilled.pt"}
ADAIN_DECODER = ADAIN_DECODERS["vgg19"]
#: the reconstruction decoders of the multi-level whitening-colouring transform (Li et al. 2017), by the VGG19 layer
#: each inverts (trained by scripts/train_wct.sh)
WCT_DECODERS = {k: PRETRAINED / "adain" / f"wct-{k}.pt" for k in ("relu4_1", "relu3_1", "relu2_1", "relu1_1")}
#: the example pictures of the source tree (not installed with the package)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


#: the shipped networks, each holding every shipped painting (conditional instance normalisation)
VARIANTS = ("quality", "realtime")


@functools.cache
def _paintings_in(path: Path) -> tuple[str, ...]:
    from .checkpoint import load_checkpoint, painting_names

    return tuple(painting_names(load_checkpoint(path)))


def shipped_models(variant: str = "quality") -> dict[str, Path]:
    """painting name -> the shipped checkpoint that paints it in ``variant`` (quality or realtime); a
    single-painting file ``NAME.pt`` beside them also counts."""
    if variant not in VARIANTS:
        raise PainterlyError(
            f"unknown variant '{variant}'{suggest(variant, VARIANTS)} (choices: {', '.join(VARIANTS)})"
        )
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
        raise PainterlyError(
            f"no model file or shipped model named '{name}'{suggest(name, models)} "
            f"(shipped: {have}; 'painterly models' lists them)"
        )
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
    """One record per shipped painting and network: the model card's facts and the checkpoint's.  The card
    (``cards.json``) holds ``networks`` (per variant: architecture, training, speed) and ``paintings`` (per name:
    the painting's credit and its scores per variant)."""
    from .checkpoint import load_checkpoint

    cards = model_cards()
    networks, paintings = cards.get("networks", {}), cards.get("paintings", cards)
    out = []
    for variant in VARIANTS:
        for name, path in shipped_models(variant).items():
            if variant != "quality" and path.stem not in VARIANTS:
                continue  # a single-painting file is listed once
            ck = load_checkpoint(path)
            card: dict[str, Any] = paintings.get(name) or {}
            net: dict[str, Any] = networks.get(path.stem) or card
            out.append(
                {
                    "name": name,
                    "variant": variant if path.stem in VARIANTS else "quality",
                    "arch": ck["arch"],
                    "painting": card.get("painting", name),
                    "style_image": str(style_image_path(name)),
                    "steps": ck.get("step"),
                    "cpu_ms_512": net.get("cpu_ms_512"),
                    "use": net.get("use"),
                    "scores": _scores(card, variant),
                    "training": net.get("training"),
                    "path": str(path),
                    "bytes": path.stat().st_size,
                }
            )
    return out


def _scores(card: dict[str, Any], variant: str) -> Any:
    """A painting's scores with ``variant``'s network (a single-painting card keeps them unnested)."""
    scores = card.get("scores") or {}
    return scores.get(variant, scores) if isinstance(scores, dict) and variant in scores else scores
