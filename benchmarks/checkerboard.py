"""Pixel-level checkerboard of the `fast` network after short training, with and without ICNR initialisation and a
total-variation loss (the shipped models must paint no checkerboard).

Usage: python benchmarks/checkerboard.py NAME ICNR(0|1) TV_WEIGHT [STEPS] [--out DIR]
Trains `fast` on ../shared/data/train_256 with Starry Night (128 px crops, style at 256 px, batch 4, seed 0),
stylises ../shared/data/content/chelsea.png at full size and prints the output's total variation (mean squared
difference of neighbouring pixels; the painting's own at 510 px is 0.029) and the share of its energy at the
Nyquist frequency (the 2-pixel period a checkerboard has).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import painterly.feedforward.networks as N
from painterly.config import TrainConfig
from painterly.feedforward.stylizer import Stylizer
from painterly.feedforward.train import train
from painterly.losses import tv_loss

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    name, icnr, tv = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 150
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else Path("/tmp/checkerboard")
    out.mkdir(parents=True, exist_ok=True)
    if not icnr:
        N.icnr_ = lambda *a, **k: None
    cfg = TrainConfig(
        style=str(DATA / "styles" / "vangogh_starry_night.jpg"),
        data=str(DATA / "train_256"),
        output=str(out / f"{name}.pt"),
        arch="fast",
        steps=steps,
        image_size=128,
        style_size=256,
        tv_weight=tv,
        preview_every=0,
        checkpoint_every=0,
    )
    t = time.time()
    train(cfg)
    t = time.time() - t
    img = Stylizer(str(out / f"{name}.pt"), "cpu")(Image.open(DATA / "content" / "chelsea.png").convert("RGB"))
    img.save(out / f"{name}_chelsea.png")
    x = torch.tensor(np.asarray(img) / 255.0).permute(2, 0, 1)[None].float()
    f = torch.fft.fft2(x.mean(1))
    h, w = f.shape[-2:]
    nyquist = (f[..., h // 2, :].abs().pow(2).sum() + f[..., :, w // 2].abs().pow(2).sum()) / f.abs().pow(2).sum()
    print(
        f"{name}: icnr={icnr} tv={tv} steps={steps} train_s={t:.0f} tv_out={tv_loss(x).item():.4f} "
        f"nyquist={nyquist.item():.2e}",
        flush=True,
    )


if __name__ == "__main__":
    main()
