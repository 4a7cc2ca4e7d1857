"""Errors that painterly reports to users as one line (the CLI never shows a traceback for these)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


class PainterlyError(Exception):
    """A problem with the user's input or environment, explained in one line."""


@dataclass
class Saved:
    """What a stopped job kept: ``what`` in words ("the picture so far", "the checkpoint of step 87"), the file
    it is in (if it wrote one), and the job's result object (if it has one, e.g. a transfer's picture)."""

    what: str
    path: Optional[Path] = None
    result: Any = None
    step: int = 0

    def describe(self) -> str:
        return self.what + (f" in {self.path}" if self.path else "")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a job; ``saved`` says what it kept.  Every long job (transfer, training, video,
    experiments) raises this one kind, so a caller handles all of them alike."""

    def __init__(self, saved: Saved) -> None:
        super().__init__("interrupted")
        self.saved = saved


class DivergedError(PainterlyError):
    """The optimisation or training produced a non-finite loss; ``saved`` says what was kept (the last finite
    picture, the last checkpoint on disk), if anything."""

    def __init__(self, message: str, saved: Optional[Saved] = None) -> None:
        super().__init__(message)
        self.saved = saved


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
    return isinstance(exc, RuntimeError) and (
        "Output size is too small" in text or "greater than actual input size" in text
    )
