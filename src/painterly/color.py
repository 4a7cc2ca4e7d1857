"""Colour preservation (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural Artistic
Style Transfer"): transfer on luminance only, or match the painting's colours to the photo's first."""

from __future__ import annotations

import torch

# RGB -> YIQ (NTSC), as in the paper's luminance-only transfer.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_YIQ).to(x), x)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) luma Y."""
    return rgb_to_yiq(x)[:, :1]


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luminance to the content's mean and standard deviation (paper, eq. 1)."""
    ms, ss = style_y.mean(), style_y.std().clamp_min(1e-6)
    mc, sc = content_y.mean(), content_y.std()
    return ((style_y - ms) * (sc / ss) + mc).clamp(0, 1)


def gray3(y: torch.Tensor) -> torch.Tensor:
    return y.expand(-1, 3, -1, -1).contiguous()


def recombine(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised picture's luminance with the photo's chrominance (I, Q)."""
    yiq = rgb_to_yiq(content)
    yiq = torch.cat([luminance(stylised), yiq[:, 1:]], 1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def _sqrtm(c: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    vals = vals.clamp_min(1e-8)
    d = vals.rsqrt() if inverse else vals.sqrt()
    return vecs @ torch.diag(d) @ vecs.T


def match_colors(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Colour histogram matching (paper, sec. 2.2): a linear map giving ``source``'s pixels the mean and
    covariance of ``target``'s, ``x' = C_t^{1/2} C_s^{-1/2} (x - mu_s) + mu_t`` (symmetric square roots)."""
    s = source[0].reshape(3, -1).double()
    t = target[0].reshape(3, -1).double()
    ms, mt = s.mean(1, keepdim=True), t.mean(1, keepdim=True)
    cs = torch.cov(s) + 1e-5 * torch.eye(3, dtype=s.dtype)
    ct = torch.cov(t) + 1e-5 * torch.eye(3, dtype=s.dtype)
    a = _sqrtm(ct) @ _sqrtm(cs, inverse=True)
    out = a @ (s - ms) + mt
    return out.reshape(source.shape).to(source.dtype).clamp(0, 1)
