"""Quality measures of a stylised picture: distances in VGG19 feature space, MSE and SSIM, and the criteria of
Wang et al. (2021), "Evaluate and improve the quality of neural style transfer" (CVIU 207).

The distances follow Gatys et al.'s representations with painterly's relative normalisation:
style = mean over relu1_1..relu5_1 of ``|G(out) - G(style)|^2 / |G(style)|^2``, content =
``|F(out) - F(content)|^2 / |F(content)|^2`` at relu4_2, on the bundled Caffe VGG19 with max pooling.
Lower is better; a photo scored against a painting gives the "unstyled" baseline.  The style distance is also
taken with the output downsampled 2x and 4x (against the painting at the same size), so that strokes at the
wrong scale show: a fine texture matches at full size and fades when downsampled, while large strokes keep
matching.

Wang et al.'s criteria (higher is better, each in [0, 1] for ReLU features), on VGG19 with average pooling as
in their code:

- content fidelity ``cf``: the cosine of the output's and the photo's features at relu4_1 and relu5_1;
- global effects ``ge``: the mean of the colour-histogram cosine (``ge_color``, 128 bins per channel over the
  fixed range 0..255) and the Gram-matrix cosine over relu2_1..relu5_1 (``ge_texture``);
- local patterns ``lp``: the mean of ``lp1``, the mean cosine of each 3x3 feature patch of the output to its
  nearest patch of the painting, and ``lp2``, the share of the painting's distinct patches that are some
  output patch's nearest, at relu3_1 and relu4_1.  A picture that
  repeats one small motif uses few of the painting's patches: its ``lp2`` is low.

``lattice`` (painterly's own, lower is better) sees that motif directly: how far the picture's fine detail
repeats every 8 px (and so every 4 and 2), the period at which a network with three stride-2 stages, or a
picture optimised against VGG19's pooling, paints a pattern in step with its grid.
"""

from __future__ import annotations

import functools
import math
from typing import Optional

import numpy as np
import torch
from PIL import Image

from .images import ImageLike, load_image, resize_long_side, to_tensor
from .losses import CONTENT_LOSSES, gram_matrix, style_loss
from .runtime import cpu_has_native_bf16

#: the layers of the style and content distances
DISTANCE_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DISTANCE_CONTENT_LAYER = "relu4_2"
#: ``lattice`` looks for a motif repeated every this many pixels (and so also every half and quarter of it)
LATTICE_PERIOD = 8
#: the layers of Wang et al. (2021)'s criteria
FIDELITY_LAYERS = ("relu4_1", "relu5_1")
GLOBAL_LAYERS = ("relu2_1", "relu3_1", "relu4_1", "relu5_1")
PATCH_LAYERS = ("relu3_1", "relu4_1")


@functools.lru_cache(maxsize=2)
def _vgg19(pool: str):
    from .backbones import create_backbone

    return create_backbone("vgg19", pool=pool, layers=[*DISTANCE_STYLE_LAYERS, DISTANCE_CONTENT_LAYER])


def _style_distance(fo: dict[str, torch.Tensor], fs: dict[str, torch.Tensor]) -> float:
    return float(np.mean([style_loss(gram_matrix(fo[k]), gram_matrix(fs[k])).item() for k in DISTANCE_STYLE_LAYERS]))


def _inputs(out: ImageLike, content: ImageLike, style: ImageLike) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The output; the photo at the output's size; the painting with the output's long side."""
    o = load_image(out, "output")
    c = load_image(content, "content image").resize(o.size, Image.Resampling.LANCZOS)
    s = resize_long_side(load_image(style, "style image"), max(o.size))
    return o, c, s


@torch.no_grad()
def distances(out: ImageLike, content: ImageLike, style: ImageLike) -> dict[str, float]:
    """``{"style": ..., "content": ...}`` for a stylised picture.  The content image is resized to the output's
    size; the style image so its long side equals the output's long side."""
    o, c, s = _inputs(out, content, style)
    net = _vgg19("max")
    layers = [*DISTANCE_STYLE_LAYERS, DISTANCE_CONTENT_LAYER]
    fo, fc, fs = (net(to_tensor(i), layers) for i in (o, c, s))
    co = CONTENT_LOSSES.get("mse")(fo[DISTANCE_CONTENT_LAYER], fc[DISTANCE_CONTENT_LAYER]).item()
    return {"style": _style_distance(fo, fs), "content": co}


@torch.no_grad()
def multiscale_style(out: ImageLike, style: ImageLike, factors: tuple[int, ...] = (2, 4)) -> dict[str, float]:
    """The style distance with the output downsampled by each factor, against the painting at the same long
    side: ``{"style_x2": ..., "style_x4": ...}``.  The short side stays at least 16 px (the network's deepest
    layer needs that many), so on small pictures the larger factors are smaller in fact."""
    o = load_image(out, "output")
    s = load_image(style, "style image")
    net = _vgg19("max")
    got = {}
    for f in factors:
        f_ = min(f, min(o.size) / 16) if min(o.size) >= 16 else 1
        small = o.resize((max(1, round(o.width / f_)), max(1, round(o.height / f_))), Image.Resampling.LANCZOS)
        fo = net(to_tensor(small), DISTANCE_STYLE_LAYERS)
        # the painting at the same long side, its short side too at least 16 px
        side = max(max(small.size), math.ceil(16 * max(s.size) / min(s.size)))
        fs = net(to_tensor(resize_long_side(s, side)), DISTANCE_STYLE_LAYERS)
        got[f"style_x{f}"] = _style_distance(fo, fs)
    return got


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine of two tensors taken as flat vectors (0 where either is all zeros)."""
    a, b = a.double().flatten(), b.double().flatten()
    n = a.norm() * b.norm()
    return float(a @ b / n) if n > 0 else 0.0


def histogram_cosine(a: np.ndarray, b: np.ndarray, bins: int = 128) -> float:
    """Wang et al.'s colour similarity: the mean over R, G, B of the cosine of the two pictures' histograms
    (``bins`` bins over the fixed range 0..255; uint8 arrays H x W x 3)."""
    sims = []
    for ch in range(3):
        ha = np.histogram(a[..., ch], bins=bins, range=(0, 256))[0].astype(np.float64)
        hb = np.histogram(b[..., ch], bins=bins, range=(0, 256))[0].astype(np.float64)
        sims.append(cosine(torch.from_numpy(ha), torch.from_numpy(hb)))
    return float(np.mean(sims))


def _unit_patches(f: torch.Tensor, k: int) -> torch.Tensor:
    """(1, C, H, W) -> every k x k patch (no padding) as a unit row vector, (N, C*k*k)."""
    p = torch.nn.functional.unfold(f.float(), k).squeeze(0).t()
    return p / p.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _distinct_rows(rows: torch.Tensor) -> torch.Tensor:
    """The distinct rows of ``rows`` (in their first order): rows equal to each other share their projection on a
    fixed random direction, and rows that differ never do in practice (float64), so one projection and a sort of
    numbers replace sorting whole rows (``torch.unique(rows, dim=0)``: four times slower on a painting's patches)."""
    direction = torch.randn(rows.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, first = np.unique((rows.double() @ direction).numpy(), return_index=True)
    return rows[torch.from_numpy(np.sort(first))]


def _nearest(
    queries: torch.Tensor, keys: torch.Tensor, chunk: int = 1024, candidates: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each unit row of ``queries``, the largest cosine to a row of ``keys`` and that row's index.  Where the
    CPU computes in bf16, the ``candidates`` best keys are found in bf16 (about twice as fast) and the winner among
    them in float32, so the cosine is exact and the choice is float32's but for near ties below bf16's precision."""
    fast = keys.device.type == "cpu" and cpu_has_native_bf16() and keys.shape[0] > candidates
    kb = keys.bfloat16() if fast else keys
    best, index = [], []
    for i in range(0, queries.shape[0], chunk):
        q = queries[i : i + chunk]
        if fast:
            near = (q.bfloat16() @ kb.t()).topk(candidates, dim=1).indices  # (n, candidates)
            v, j = torch.einsum("nd,nkd->nk", q, keys[near]).max(dim=1)
            j = near.gather(1, j[:, None])[:, 0]
        else:
            v, j = (q @ keys.t()).max(dim=1)
        best.append(v)
        index.append(j)
    return torch.cat(best), torch.cat(index)


def patch_match(fo: torch.Tensor, fs: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Wang et al.'s local patterns at one layer: (``lp1``, ``lp2``) of output features ``fo`` against painting
    features ``fs`` (1, C, H, W): ``lp1`` the mean cosine of each k x k output patch to its nearest painting patch,
    ``lp2`` the number of distinct painting patches chosen so over the number of distinct painting patches (each
    painting patch is its own nearest, so Wang et al.'s count of the painting's own choices is that number)."""
    k = min(k, *fo.shape[-2:], *fs.shape[-2:])  # maps smaller than a patch (tiny pictures): smaller patches
    po, ps = _unit_patches(fo, k), _unit_patches(fs, k)
    distinct = _distinct_rows(ps)
    sim, chosen = _nearest(po, distinct)
    return float(sim.mean()), len(torch.unique(chosen)) / distinct.shape[0]


@torch.no_grad()
def wang_criteria(out: ImageLike, content: ImageLike, style: ImageLike) -> dict[str, float]:
    """Wang et al. (2021)'s content fidelity, global effects and local patterns (see the module's docstring)."""
    o, c, s = _inputs(out, content, style)
    net = _vgg19("avg")
    layers = sorted({*FIDELITY_LAYERS, *GLOBAL_LAYERS, *PATCH_LAYERS})
    fo, fc, fs = (net(to_tensor(i), layers) for i in (o, c, s))
    cf = float(np.mean([cosine(fo[k], fc[k]) for k in FIDELITY_LAYERS]))
    ge_color = histogram_cosine(np.asarray(o), np.asarray(s))
    ge_texture = float(np.mean([cosine(gram_matrix(fo[k]), gram_matrix(fs[k])) for k in GLOBAL_LAYERS]))
    lps = [patch_match(fo[k], fs[k]) for k in PATCH_LAYERS]
    lp1, lp2 = float(np.mean([a for a, _ in lps])), float(np.mean([b for _, b in lps]))
    return {
        "cf": cf,
        "ge": (ge_color + ge_texture) / 2,
        "ge_color": ge_color,
        "ge_texture": ge_texture,
        "lp": (lp1 + lp2) / 2,
        "lp1": lp1,
        "lp2": lp2,
    }


def evaluate(
    out: ImageLike, content: ImageLike, style: ImageLike, reference: Optional[ImageLike] = None
) -> dict[str, float]:
    """Every measure of a stylised picture ``out`` of photo ``content`` in the style of painting ``style``: the
    style distance (also at 1/2 and 1/4 size) and content distance (lower is better), MSE and SSIM against the
    photo (or ``reference``, another picture to compare with), Wang et al. (2021)'s ``cf``, ``ge`` and ``lp``
    (higher is better) and the ``lattice`` of a motif repeated every 8 px (lower is better)."""
    against = content if reference is None else reference
    d = distances(out, content, style)
    return {
        "style": d["style"],
        **multiscale_style(out, style),
        "content": d["content"],
        "mse": mse(out, against),
        "ssim": ssim(out, against),
        **wang_criteria(out, content, style),
        "lattice": lattice(out),
    }


def lattice(out: ImageLike, period: int = LATTICE_PERIOD) -> float:
    """How strongly a picture repeats every ``period`` px: the power spectrum of its fine detail (luminance minus a
    Gaussian blur of 2 px, under a Hann window) at each harmonic ``k / period`` cycles per pixel of the two axes,
    over the median power of the 13 x 13 frequencies around it, averaged over the ``period**2 - 1`` harmonics.
    About 1 to 3 for a photo; tens or hundreds for a picture under a motif painted in step with a grid of that
    period.  JPEG's 8 x 8 blocks are such a grid too, faintly: compare pictures saved losslessly."""
    from PIL import ImageFilter

    img = load_image(out, "image").convert("L")
    w, h = img.width // period * period, img.height // period * period  # the harmonics fall on whole bins
    if min(w, h) < 2 * period:
        raise ValueError(
            f"lattice needs a picture of at least {2 * period}x{2 * period} px, not {img.width}x{img.height}"
        )
    img = img.crop((0, 0, w, h))
    detail = np.asarray(img, np.float64) - np.asarray(img.filter(ImageFilter.GaussianBlur(2)), np.float64)
    power = np.abs(np.fft.fft2(detail * np.outer(np.hanning(h), np.hanning(w)))) ** 2
    ratios, near = [], np.arange(-6, 7)
    for kx in range(period):
        for ky in range(period):
            if kx or ky:
                fx, fy = kx * w // period, ky * h // period
                around = power[np.ix_((fy + near) % h, (fx + near) % w)]  # wraps round at the spectrum's edges
                ratios.append(power[fy, fx] / max(float(np.median(around)), 1e-12))
    return float(np.mean(ratios))


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


def flicker(inputs: list[np.ndarray], outputs: list[np.ndarray], static_below: float = 12.0) -> float:
    """Temporal flicker of a stylised clip: the mean absolute difference (0..255) between consecutive output
    frames, over the pixels where the input frames are static (every channel changes by less than
    ``static_below``).  A still scene should give a still picture; lower is better."""
    total, count = 0.0, 0
    for i in range(1, min(len(inputs), len(outputs))):
        a, b = inputs[i - 1].astype(np.int16), inputs[i].astype(np.int16)
        static = np.abs(b - a).max(-1) < static_below
        if static.any():
            d = np.abs(outputs[i].astype(np.int16) - outputs[i - 1].astype(np.int16)).mean(-1)
            total += float(d[static].sum())
            count += int(static.sum())
    if not count:
        raise ValueError("no static pixels between consecutive frames")
    return total / count
