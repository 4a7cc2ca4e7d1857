"""What video files, folders and the webcam need of a one-pass model (a trained network or AdaIN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import numpy as np
import torch
from PIL import Image

from ..images import ImageLike, load_image, resize_long_side, scaled_size, to_pil, to_tensor
from ..memory import oom_guard


class FrameStylizer:
    """What video, folders and the webcam need of a model: ``tensor(x)`` (B, 3, H, W) in [0, 1] -> stylised; this
    adds ``frames`` (uint8 frames for video) and calling it on an image."""

    device: torch.device
    dtype: torch.dtype

    def tensor(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - each model defines it
        raise NotImplementedError

    @torch.inference_mode()
    def frames(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """A batch of same-size RGB uint8 frames (H, W, 3) -> stylised, same size (for video)."""
        h, w = frames[0].shape[:2]
        checked = self.__dict__.setdefault("_room_checked", set())  # (w, h, batch) checked against free memory
        first = (w, h, len(frames)) not in checked
        with oom_guard(
            f"painting {len(frames)} frames of {w}x{h}",
            max(w, h),
            self.device,
            probe=self._probe((w, h), len(frames)),
            pixels=len(frames) * w * h if first else None,
        ):
            x = torch.from_numpy(np.stack(frames)).to(self.device).permute(0, 3, 1, 2).to(self.dtype).div_(255)
            y = self.tensor(x).mul_(255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        checked.add((w, h, len(frames)))
        return list(y)

    def __call__(self, image: ImageLike, size: Optional[int] = None) -> Image.Image:
        img = load_image(image, "input image")
        if size:
            img = resize_long_side(img, size)
        with oom_guard(
            f"painting {img.width}x{img.height}",
            max(img.size),
            self.device,
            probe=self._probe(img.size),
            pixels=img.width * img.height,
        ):
            return to_pil(self.tensor(to_tensor(img)))

    def _probe(self, size: tuple[int, int], batch: int = 1) -> Callable[[int], int]:
        """The same work on random pixels at long side ``s``, for :func:`painterly.memory.oom_guard`."""

        def run(s: int) -> int:
            w, h = scaled_size(size, s)
            self.tensor(torch.rand(batch, 3, h, w))
            return batch * w * h

        return run
