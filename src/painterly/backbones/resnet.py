"""ResNet50 (He et al. 2016) as a style-transfer backbone, following Basheer et al. ("A Faster
Neural Algorithm for Artistic Style Transfer"): Keras-style layer names, 2 content and 8 style layers.

Weights are torchvision-format state dicts (``conv1.weight``, ``layer1.0.conv1.weight``, ...): from
``--weights`` or torchvision's published file, downloaded once and checked against its checksum.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Optional

import torch
from torch import nn

from ..errors import PainterlyError
from .base import BACKBONES, Backbone
from .weights import fetch_torchvision_weights, load_state_dict

STAGES = ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))  # (blocks, width, stride) of layer1..layer4


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (stride on the 3x3 conv, "ResNet v1.5"), same parameter names."""

    def __init__(self, inp: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = (
            nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))
            if stride != 1 or inp != out
            else None
        )

    def steps(self, x: torch.Tensor, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
        h = self.conv1(x)
        yield f"{prefix}_1_conv", h  # noqa: E702
        h = self.bn1(h)
        yield f"{prefix}_1_bn", h  # noqa: E702
        h = torch.relu(h)
        yield f"{prefix}_1_relu", h  # noqa: E702
        h = self.conv2(h)
        yield f"{prefix}_2_conv", h  # noqa: E702
        h = self.bn2(h)
        yield f"{prefix}_2_bn", h  # noqa: E702
        h = torch.relu(h)
        yield f"{prefix}_2_relu", h  # noqa: E702
        h = self.conv3(h)
        yield f"{prefix}_3_conv", h  # noqa: E702
        h = self.bn3(h)
        yield f"{prefix}_3_bn", h  # noqa: E702
        short = x if self.downsample is None else self.downsample(x)
        yield f"{prefix}_out", torch.relu(h + short)


BLOCK_PARTS = ("1_conv", "1_bn", "1_relu", "2_conv", "2_bn", "2_relu", "3_conv", "3_bn", "out")


class ResNet50(Backbone):
    name = "resnet50"
    default_content_layers = ("conv4_block5_1_relu", "conv5_block3_2_relu")
    default_style_layers = (
        "conv2_block1_2_relu",
        "conv2_block2_1_relu",
        "conv3_block2_1_relu",
        "conv3_block4_3_conv",
        "conv4_block4_2_relu",
        "conv4_block6_2_relu",
        "conv5_block2_2_relu",
        "conv5_block3_2_relu",
    )

    def __init__(self, pool: str = "max") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if pool == "max" else nn.AvgPool2d(3, 2, 1)
        inp = 64
        names = ["conv1_conv", "conv1_bn", "conv1_relu", "pool1_pool"]
        for i, (n, width, stride) in enumerate(STAGES):
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(inp, width, stride if b == 0 else 1))
                inp = width * 4
                names += [f"conv{i + 2}_block{b + 1}_{p}" for p in BLOCK_PARTS]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.layer_names = tuple(names)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.n_stages = 4

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def steps(self, x: torch.Tensor) -> Iterator[tuple[str, torch.Tensor]]:
        h = self.conv1(self.compute_input(x))
        yield "conv1_conv", h  # noqa: E702
        h = self.bn1(h)
        yield "conv1_bn", h  # noqa: E702
        h = torch.relu(h)
        yield "conv1_relu", h  # noqa: E702
        h = self.maxpool(h)
        yield "pool1_pool", h  # noqa: E702
        for i in range(self.n_stages):
            for b, block in enumerate(getattr(self, f"layer{i + 1}")):
                for name, t in block.steps(h, f"conv{i + 2}_block{b + 1}"):
                    yield name, t
                h = t

    def truncate(self, layers: Sequence[str]) -> ResNet50:
        deepest = max(self.layer_names.index(n) for n in layers)
        stage = int(self.layer_names[deepest][4]) if self.layer_names[deepest].startswith("conv") else 1
        for i in range(max(stage - 1, 0) + 1, 5):
            if hasattr(self, f"layer{i}"):
                delattr(self, f"layer{i}")
        self.n_stages = max(stage - 1, 0)
        self.layer_names = self.layer_names[: deepest + 1]
        return self

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        for name, t in self.steps(x):
            if name in wanted:
                out[name] = t
                if len(out) == len(wanted):
                    break
        return out


@BACKBONES.register("resnet50")
def resnet50(weights: Optional[str] = None, pool: str = "max") -> ResNet50:
    """ResNet50 with torchvision-format weights (``weights`` path, else torchvision's, downloaded and verified)."""
    path = str(weights or fetch_torchvision_weights("resnet50"))
    net = ResNet50(pool)
    state = {k: v for k, v in load_state_dict(path, "resnet50").items() if not k.startswith("fc.")}
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        lines = str(e).splitlines()
        raise PainterlyError(
            f"weights file '{path}' does not fit resnet50: {lines[1].strip() if len(lines) > 1 else lines[0]}"
        ) from None
    return net
