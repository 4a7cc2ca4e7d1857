"""Errors that painterly reports to users as one line (the CLI never shows a traceback for these)."""
from __future__ import annotations

import difflib
from typing import Iterable


class PainterlyError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DivergedError(PainterlyError):
    """The optimisation produced a non-finite loss."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def shown(value: object) -> str:
    """A value for an error message, a 300-digit number shortened."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"


def too_small_for_network(exc: BaseException) -> bool:
    """True for torch's complaint that a picture shrank below one pixel in a network's poolings."""
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("Output size is too small" in text
                                              or "greater than actual input size" in text)
