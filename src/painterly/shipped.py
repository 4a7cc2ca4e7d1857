"""The pretrained models that ship inside the package (``painterly/pretrained/*.pt``), by name."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import PainterlyError, suggest

PRETRAINED = Path(__file__).resolve().parent / "pretrained"


def shipped_models() -> dict[str, Path]:
    """name -> checkpoint path of every shipped model."""
    return {p.stem: p for p in sorted(PRETRAINED.glob("*.pt"))}


def shipped_model_path(name: str) -> Path:
    models = shipped_models()
    if name not in models:
        have = ", ".join(models) or "none yet"
        raise PainterlyError(f"no model file or shipped model named '{name}'{suggest(name, models)} "
                             f"(shipped: {have}; 'painterly models' lists them)")
    return models[name]


def describe_models() -> list[dict[str, Any]]:
    """One line of facts per shipped model, read from its checkpoint."""
    from .models import load_checkpoint
    out = []
    for name, path in shipped_models().items():
        ck = load_checkpoint(path)
        out.append({"name": name, "arch": ck["arch"], "style": ck.get("style", {}).get("name", ""),
                    "steps": ck.get("step"), "path": str(path), "bytes": path.stat().st_size})
    return out
