"""Quality measures: style and content distances in VGG19 feature space, MSE and SSIM.

The distances follow Gatys et al.'s representations with painterly's relative normalisation:
style = mean over relu1_1..relu5_1 of ``|G(out) - G(style)|^2 / |G(style)|^2``, content =
``|F(out) - F(content)|^2 / |F(content)|^2`` at relu4_2, on the bundled Caffe VGG19 with max pooling.
Lower is better; a photo scored against a painting gives the "unstyled" baseline.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image

from .images import ImageLike, load_image, resize_long_side, to_tensor
from .losses import CONTENT_LOSSES, gram_matrix, style_loss

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


@functools.lru_cache(maxsize=1)
def _judge_net():
    from .backbones import create_backbone
    return create_backbone("vgg19", layers=[*STYLE_LAYERS, CONTENT_LAYER])


@torch.no_grad()
def distances(out: ImageLike, content: ImageLike, style: ImageLike) -> dict[str, float]:
    """``{"style": ..., "content": ...}`` for a stylised picture.  The content image is resized to the output's
    size; the style image so its long side equals the output's long side."""
    o = load_image(out, "output")
    c = load_image(content, "content image").resize(o.size, Image.Resampling.LANCZOS)
    s = resize_long_side(load_image(style, "style image"), max(o.size))
    net = _judge_net()
    fo, fc, fs = (net(to_tensor(i), [*STYLE_LAYERS, CONTENT_LAYER]) for i in (o, c, s))
    st = float(np.mean([style_loss(gram_matrix(fo[k]), gram_matrix(fs[k])).item() for k in STYLE_LAYERS]))
    co = CONTENT_LOSSES.get("mse")(fo[CONTENT_LAYER], fc[CONTENT_LAYER]).item()
    return {"style": st, "content": co}


def _pair(a: ImageLike, b: ImageLike) -> tuple[np.ndarray, np.ndarray]:
    ia = load_image(a, "image")
    ib = load_image(b, "reference image")
    if ib.size != ia.size:
        ib = ib.resize(ia.size, Image.Resampling.LANCZOS)
    return np.asarray(ia, dtype=np.float64), np.asarray(ib, dtype=np.float64)


def mse(a: ImageLike, b: ImageLike) -> float:
    """Mean squared error on 0..255 RGB (``b`` is resized to ``a``'s size)."""
    x, y = _pair(a, b)
    return float(((x - y) ** 2).mean())


def ssim(a: ImageLike, b: ImageLike) -> float:
    """Structural similarity (scikit-image, Wang et al. 2004) on RGB, ``b`` resized to ``a``'s size."""
    from skimage.metrics import structural_similarity

    x, y = _pair(a, b)
    win = min(7, *x.shape[:2])
    win -= 1 - win % 2  # odd
    return float(structural_similarity(x, y, channel_axis=2, data_range=255.0, win_size=max(win, 3)))


def flicker(inputs: "list[np.ndarray]", outputs: "list[np.ndarray]", static_below: float = 12.0) -> float:
    """Temporal flicker of a stylised clip: the mean absolute difference (0..255) between consecutive output
    frames, over the pixels where the input frames are static (every channel changes by less than
    ``static_below``).  A still scene should give a still picture; lower is better."""
    total, count = 0.0, 0
    for i in range(1, min(len(inputs), len(outputs))):
        a, b = inputs[i - 1].astype(np.int16), inputs[i].astype(np.int16)
        static = (np.abs(b - a).max(-1) < static_below)
        if static.any():
            d = np.abs(outputs[i].astype(np.int16) - outputs[i - 1].astype(np.int16)).mean(-1)
            total += float(d[static].sum())
            count += int(static.sum())
    if not count:
        raise ValueError("no static pixels between consecutive frames")
    return total / count
