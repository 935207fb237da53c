"""Image classifiers on timm backbones (``image_resnet18``, ``image_mobilenetv3``, ``image_efficientnet_b0``,
or any timm model with ``backbone=``): the 2D image-action models of the hac toolkit, trained with
``actkit train --task image``.

Preprocessing comes from timm's own data config for the backbone (``timm.data.resolve_model_data_config``:
input size, mean and std), so published weights see what they were trained on. ``pretrained`` is a local
weights file (``.pth``, ``.bin`` or ``.safetensors``) or, where a network exists, ``hub`` (timm's default
weights for the backbone) or a ``hf-hub:org/name`` id; without a network the hub forms fail with one error
that says to pass a local file. Never downloaded at import or when ``pretrained`` is empty.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model


@dataclass
class ImageTimmConfig:
    """Config of the timm image family."""

    backbone: str = "resnet18"
    pretrained: str = ""
    num_classes: int = 10
    input_size: tuple[int, ...] = ()  # () -> timm's data config for the backbone
    dropout: float = 0.2


def timm_backbone(name: str, pretrained: str = "") -> nn.Module:
    """A timm model without its classifier (``num_classes=0``), weights from ``pretrained`` (see the module)."""
    from ..utils.deps import require

    timm = require("timm", "video")
    kw: dict[str, Any] = {"num_classes": 0}
    if pretrained and pretrained != "hub" and not pretrained.startswith("hf-hub:"):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"pretrained={pretrained!r}: no such file (give a local weights file, or 'hub' / "
                                    "'hf-hub:org/name' where a network exists)")
        kw.update(pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    elif pretrained:
        kw["pretrained"] = True
    model_name = pretrained if pretrained.startswith("hf-hub:") else name
    try:
        return timm.create_model(model_name, **kw)
    except RuntimeError as e:
        if "Unknown model" in str(e):
            raise ValueError(f"unknown timm backbone {name!r} (see timm.list_models())") from None
        raise
    except (OSError, ValueError) as e:  # no network, hub refused, or a file timm cannot read
        where = "the file" if "pretrained_cfg_overlay" in kw else "the hub (no network here?)"
        raise RuntimeError(f"timm could not load {name!r} weights from {where}: {str(e).splitlines()[0][:200]}; "
                           "pass a local weights file with --model.pretrained PATH") from None


class ImageTimmNet(ActkitModel):
    """A timm backbone, global pooling, dropout and a linear classifier."""

    def __init__(self, cfg: ImageTimmConfig) -> None:
        super().__init__()
        from timm.data import resolve_model_data_config

        self.cfg = cfg
        self.backbone = timm_backbone(cfg.backbone, cfg.pretrained)
        timm_cfg = resolve_model_data_config(self.backbone)
        size = tuple(cfg.input_size) or tuple(timm_cfg["input_size"][1:])
        self.data_cfg = DataConfig(input_size=size, colour="rgb", mean=tuple(timm_cfg["mean"]),
                                   std=tuple(timm_cfg["std"]))
        # the width of what the backbone returns (MobileNetV3 and EfficientNet-style heads widen after pooling)
        self.num_features = int(getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.num_features, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.cfg.backbone}: expected images (B, 3, H, W), got {tuple(x.shape)}")
        return self.backbone(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes)


def _create(backbone: str, overrides: dict[str, Any]) -> ImageTimmNet:
    return ImageTimmNet(build_config(ImageTimmConfig, {"backbone": backbone}, overrides))


@register_model("image_timm", task="image")
def image_resnet18(**kw: Any) -> ImageTimmNet:
    """timm ResNet-18 (11.2M parameters before the head), 224 px, ImageNet mean/std."""
    return _create("resnet18", kw)


@register_model("image_timm", task="image")
def image_mobilenetv3(**kw: Any) -> ImageTimmNet:
    """timm MobileNetV3-Small 1.0 (0.9M parameters before the head), 224 px: the CPU choice."""
    return _create("mobilenetv3_small_100", kw)


@register_model("image_timm", task="image")
def image_efficientnet_b0(**kw: Any) -> ImageTimmNet:
    """timm EfficientNet-B0 (4.0M parameters before the head), 224 px."""
    return _create("efficientnet_b0", kw)
