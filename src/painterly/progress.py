"""What every long job hands its callback: one shape, so a progress bar, a web page or a test reads them all alike.

The library never prints; the command line turns these into tqdm bars, the web page into its live preview.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar


@dataclass
class Progress:
    """``step`` of ``total`` (0: not known) done after ``elapsed`` seconds, with the job's loss ``terms`` (if any).
    Each job kind adds its own fields: :class:`painterly.gatys.engine.Iterate` (the picture so far),
    :class:`painterly.training.TrainProgress` (images per second, previews and checkpoints),
    :class:`painterly.media.video.VideoProgress` and :class:`painterly.media.webcam.WebcamProgress` (frames)."""

    step: int
    total: int
    elapsed: float
    terms: dict[str, float] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """How much is done, in [0, 1] (0 when the total is not known)."""
        return min(1.0, self.step / self.total) if self.total else 0.0

    @property
    def rate(self) -> float:
        """Steps (or frames) per second so far."""
        return self.step / self.elapsed if self.elapsed > 0 else 0.0


P = TypeVar("P", bound=Progress)
#: a job's callback: called after every step with that job's kind of :class:`Progress`
Callback = Callable[[P], None]
