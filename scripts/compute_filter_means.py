"""Compute the per-filter mean activations of the bundled Caffe VGG19 for Gatys et al.'s normalisation
(`painterly transfer --normalize-filters`) and write them into the package.

Usage: python scripts/compute_filter_means.py PHOTO_DIR [--count 256] [--size 256]
The shipped files were computed over the first 256 photos (sorted by name) of ../shared/data/train_256.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from painterly.backbones import create_backbone
from painterly.backbones.vgg import filter_means
from painterly.images import load_image, resize_long_side, to_tensor

OUT = Path(__file__).resolve().parents[1] / "src/painterly/backbones/data"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photos")
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    files = sorted(p for p in Path(a.photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: a.count]
    images = [to_tensor(resize_long_side(load_image(p), a.size)) for p in files]
    batches = []
    for i in range(0, len(images), 8):
        group = images[i : i + 8]
        same = all(g.shape == group[0].shape for g in group)
        batches += [torch.cat(group)] if same else group
    for pool in ("max", "avg"):
        net = create_backbone("vgg19", pool=pool)
        means = filter_means(net, batches)
        OUT.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "means": [m.clone() for m in means],
                "images": f"{len(files)} photos of {Path(a.photos).name}",
                "size": a.size,
            },
            OUT / f"vgg19_caffe_filter_means_{pool}.pt",
        )
        print(pool, [round(float(m.mean()), 2) for m in means])


if __name__ == "__main__":
    main()
