"""What both trainings share (the feed-forward networks of :mod:`painterly.feedforward.train` and the AdaIN decoder
of :mod:`painterly.adain.train`): the photos, crops and batches that replay exactly on ``--resume``, the loop with
held signals, divergence, previews, checkpoints and out-of-memory hints, and its progress reports."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch
from PIL import Image

from .errors import DivergedError, Interrupted, PainterlyError, Saved
from .images import image_files, to_tensor
from .losses import total
from .memory import oom_guard
from .progress import Progress

if TYPE_CHECKING:
    from .config import AdainTrainConfig, TrainConfig


def scan_photos(folder: str | Path) -> tuple[list[Path], int]:
    """Every readable image under ``folder`` (recursive, sorted) and the number of unreadable ones skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise PainterlyError(f"training data folder '{folder}' not found")
    good, bad = [], 0
    for p in image_files(root):
        try:
            with Image.open(p) as im:
                im.size  # header only: cheap; broken pixel data is caught when loaded
            good.append(p)
        except Exception:  # noqa: BLE001 - any unreadable file is skipped and counted
            bad += 1
    if not good:
        raise PainterlyError(
            f"no readable images in '{folder}'" + (f" ({bad} unreadable files skipped)" if bad else "")
        )
    return good, bad


class PhotoCrops(torch.utils.data.Dataset):
    """Photos scaled so the short side is ``size``, then a random ``size x size`` crop, as tensors in [0, 1].
    A file that fails to decode is replaced by the next one (and counted in ``failed``)."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths, self.size = paths, size
        self.failed = 0

    def __len__(self) -> int:
        return len(self.paths)

    def _load(self, i: int, rng: np.random.Generator) -> torch.Tensor:
        with Image.open(self.paths[i]) as f:
            im = f.convert("RGB")
        w, h = im.size
        s = self.size / min(w, h)
        im = im.resize((max(self.size, round(w * s)), max(self.size, round(h * s))), Image.Resampling.BILINEAR)
        x0 = int(rng.integers(0, im.width - self.size + 1))
        y0 = int(rng.integers(0, im.height - self.size + 1))
        return to_tensor(im.crop((x0, y0, x0 + self.size, y0 + self.size)))[0]

    def __getitem__(self, item: int | tuple[int, tuple[int, ...]]) -> torch.Tensor:
        """``item``: an index, or (index, crop seed) from :class:`StepSampler` (the same crop on every run)."""
        i, seed = item if isinstance(item, tuple) else (item, None)
        rng = np.random.default_rng(None if seed is None else [abs(v) for v in seed])
        for k in range(len(self.paths)):
            try:
                return self._load((i + k) % len(self.paths), rng)
            except Exception:  # noqa: BLE001 - a truncated or corrupt photo: take the next
                self.failed += 1
        raise PainterlyError("no training photo could be decoded")


class StepSampler(torch.utils.data.Sampler):
    """Endless batches of (photo index, crop seed), a pure function of (seed, step): epoch ``e`` is a permutation
    seeded by ``(seed, e)``, split between ``world`` processes.  A run resumed at step ``k`` therefore sees exactly
    the batches an uninterrupted run would have seen from step ``k`` on, so its loss curve continues unchanged."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.n, self.seed, self.start, self.rank, self.world = n, seed, start_step, rank, world
        self.share = max(1, n // world)  # photos per process and epoch (equal shares, as DistributedSampler)
        self.batch = min(batch_size, self.share)
        self.per_epoch = self.share // self.batch

    def batch_at(self, step: int) -> list[tuple[int, tuple[int, ...]]]:
        epoch, pos = divmod(step, self.per_epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        mine = perm.tolist()[self.rank :: self.world][: self.share]
        first = pos * self.batch
        return [(i, (self.seed, epoch, first + j, self.rank)) for j, i in enumerate(mine[first : first + self.batch])]

    def __iter__(self) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
        for step in itertools.count(self.start):
            yield self.batch_at(step)


def seed_worker(worker_id: int) -> None:
    np.random.seed((torch.initial_seed() + worker_id) % 2**32)


@dataclass
class TrainProgress(Progress):
    """What the training loop hands its callback after each step: the :class:`Progress` of the steps, with the
    step's loss terms, and the images per second; ``event`` says what the step wrote ("", "preview",
    "checkpoint")."""

    images_per_second: float = 0.0
    event: str = ""


@contextmanager
def held_interrupts() -> Iterator[Callable[[], bool]]:
    """Hold Ctrl-C / SIGTERM until the current training step is finished (a step interrupted half-way would leave
    some weights updated and others not); yields a function telling whether one arrived.  A second signal stops at
    once.  Signals the process ignores stay ignored; outside the main thread nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, hold)
    try:
        yield lambda: bool(pending)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _diverged(step: int, loss: float, lr: float, out: Path, saved: Optional[int]) -> DivergedError:
    kept = f"the checkpoint of step {saved} at {out} is kept" if saved else "no checkpoint was saved yet"
    return DivergedError(
        f"training diverged at step {step} (loss {loss}); {kept}; try a smaller --lr (now {lr})",
        Saved(f"the checkpoint of step {saved}", out, step=saved) if saved else None,
    )


def train_steps(
    cfg: TrainConfig | AdainTrainConfig,
    step: int,
    saved: Optional[int],
    device: torch.device,
    opt: torch.optim.Optimizer,
    compute: Callable[[int], tuple[dict[str, torch.Tensor], int]],
    terms_of: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    checkpoint: Callable[[int], Path],
    preview: Callable[[], None],
    callback: Optional[Callable[[TrainProgress], None]],
    lead: bool = True,
    history: Optional[dict[str, list[float]]] = None,
) -> int:
    """The loop both trainings share, from ``step`` to ``cfg.steps``: ``compute(step)`` gives a batch's loss terms
    and its image count; a non-finite loss stops, naming the checkpoint of step ``saved`` (the last on disk);
    previews, checkpoints and the callback on the ``lead`` process; each step's terms appended to ``history``.
    Ctrl-C / SIGTERM is held until the step is finished (:func:`held_interrupts`), then the checkpoint is saved
    (:class:`painterly.errors.Interrupted`); out of memory names an --image-size that fits, measured by a step's forward
    and backward (``terms_of`` a batch of random crops) at smaller sizes.  Returns the last step."""

    def probe(side: int) -> int:
        x = torch.rand(cfg.batch_size, 3, side, side, device=device).contiguous(memory_format=torch.channels_last)
        total(terms_of(x).values()).backward()
        opt.zero_grad(set_to_none=True)
        return cfg.batch_size * side * side

    t0, seen = time.perf_counter(), 0
    with (
        held_interrupts() as interrupted,
        oom_guard(
            f"training on {cfg.batch_size} crops of {cfg.image_size}x{cfg.image_size}",
            cfg.image_size,
            device,
            "--image-size",
            probe,
        ),
    ):
        try:
            while step < cfg.steps:
                if interrupted():  # held until the last step was finished
                    raise KeyboardInterrupt
                terms, images = compute(step)
                loss = total(terms.values())
                if not torch.isfinite(loss):
                    raise _diverged(step + 1, float(loss.detach()), cfg.lr, Path(cfg.output), saved)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                seen += images
                vals = {k: float(v.detach()) for k, v in terms.items()}
                vals["total"] = float(loss.detach())
                if history is not None:
                    for k, v in vals.items():
                        history.setdefault(k, []).append(v)
                event = ""
                if lead and cfg.preview_every and step % cfg.preview_every == 0:
                    preview()
                    event = "preview"
                if lead and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
                    checkpoint(step)
                    saved, event = step, "checkpoint"
                if callback is not None and lead:
                    el = time.perf_counter() - t0
                    callback(TrainProgress(step, cfg.steps, el, vals, seen / max(el, 1e-9), event))
        except KeyboardInterrupt:
            if lead and step > 0:
                raise Interrupted(Saved(f"the checkpoint of step {step}", checkpoint(step), step=step)) from None
            raise
    return step


def distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun; (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def center_square(img: Image.Image, size: int) -> Image.Image:
    """The largest centred square of ``img``, resized to ``size`` x ``size``."""
    w, h = img.size
    s = min(w, h)
    return img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize(
        (size, size), Image.Resampling.LANCZOS
    )
