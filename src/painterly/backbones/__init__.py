"""Feature extractors ("backbones") behind one registry.

A backbone takes RGB images in [0, 1], applies its own input normalisation, and returns the
activations of named layers.  ``create_backbone(name, ...)`` builds one; ``BACKBONES.names()`` lists them.
"""

from __future__ import annotations

from . import resnet, vgg  # noqa: F401  (registers the backbones)
from .base import BACKBONES, Backbone, create_backbone

__all__ = ["BACKBONES", "Backbone", "create_backbone"]
