"""Single-frame baselines (``clip_frame_p``, ``clip_frame_s``): a 2D network per frame, no temporal modelling.

What a clip model gains from time is measured against these. They follow the frame baselines of
Karpathy et al., "Large-scale Video Classification with Convolutional Neural Networks"
(CVPR 2014, "single frame" and late-fusion averaging) and the image-model baselines of
Carreira & Zisserman, "Quo Vadis, Action Recognition?" (CVPR 2017, ConvNet + averaging).

``frames``: ``center`` classifies the centre frame only; ``avg_features`` averages per-frame
embeddings then classifies; ``avg_logits`` classifies every frame and averages the logits.
The backbone is actkit's own small CNN (no weights needed) or, with ``backbone="resnet18"``,
any timm model by name; ``pretrained`` then loads a local timm state-dict file (no download).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ._base import DataConfig
from ._registry import build_config, register_model
from .layers import SepBlock
from .heads import ClipModel, head_overrides
from .layers import conv_bn

FRAME_MODES = ("center", "avg_features", "avg_logits")


@dataclass
class ClipFrameConfig:
    """Config of the single-frame baseline family."""

    backbone: str = "own"
    stem: int = 16
    widths: tuple[int, ...] = (32, 64, 128)
    depths: tuple[int, ...] = (1, 2, 2)
    head_dim: int = 256
    frames: str = "avg_features"
    pretrained: str = ""
    num_classes: int = 10
    num_frames: int = 16
    input_size: tuple[int, int] = (112, 112)
    fps: float = 15.0
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    head: str = "linear"
    label_parts: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    dropout: float = 0.2


class ClipFrameNet(ClipModel):
    """A 2D classifier applied per frame; see the module docstring."""

    def __init__(self, cfg: ClipFrameConfig) -> None:
        super().__init__()
        if cfg.frames not in FRAME_MODES:
            raise ValueError(f"frames must be one of {FRAME_MODES}, got {cfg.frames!r}")
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour="rgb", mean=cfg.mean, std=cfg.std,
                                   num_frames=cfg.num_frames, fps=cfg.fps)
        if cfg.backbone == "own":
            if cfg.pretrained:
                raise ValueError("pretrained= is for timm backbones (backbone='resnet18', ...); the own CNN has no published weights")
            self.backbone, self.num_features = _own_cnn(cfg)
        else:
            self.backbone, self.num_features = _timm_backbone(cfg.backbone, cfg.pretrained)
        self._init_head()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, c, t, h, w = x.shape
        if self.cfg.frames == "center":
            return self.backbone(x[:, :, t // 2])
        f = self.backbone(x.transpose(1, 2).reshape(b * t, c, h, w)).reshape(b, t, -1)
        return f.mean(1) if self.cfg.frames == "avg_features" else f

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.drop(x))
        return logits.mean(1) if logits.dim() == 3 else logits


def _own_cnn(cfg: ClipFrameConfig) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = [conv_bn(3, cfg.stem, 3, 2)]
    c = cfg.stem
    for width, depth in zip(cfg.widths, cfg.depths):
        for i in range(depth):
            layers.append(SepBlock(c, width, 2 if i == 0 else 1, residual_relu=False))
            c = width
    layers += [conv_bn(c, cfg.head_dim, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
    return nn.Sequential(*layers), cfg.head_dim


def _timm_backbone(name: str, pretrained: str) -> tuple[nn.Module, int]:
    from ..utils.deps import require

    timm = require("timm", "video")
    if pretrained and not Path(pretrained).expanduser().is_file():
        raise FileNotFoundError(f"pretrained={pretrained!r}: give a local timm state-dict file (weights are never downloaded here)")
    try:
        net = timm.create_model(name, pretrained=bool(pretrained), num_classes=0,
                                pretrained_cfg_overlay=dict(file=str(Path(pretrained).expanduser())) if pretrained else None)
    except RuntimeError as e:
        if "Unknown model" in str(e):
            raise ValueError(f"unknown timm backbone {name!r} (see timm.list_models())") from e
        raise
    return net, int(net.num_features)


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> ClipFrameNet:
    return ClipFrameNet(build_config(ClipFrameConfig, base, head_overrides(overrides)))


@register_model("clip_frame", task="clip")
def clip_frame_p(**kw: Any) -> ClipFrameNet:
    """Single-frame baseline P: own 2D CNN (stages 32/64/128) per frame, features averaged over frames."""
    return _create(dict(stem=16, widths=(32, 64, 128), depths=(1, 2, 2), head_dim=256), kw)


@register_model("clip_frame", task="clip")
def clip_frame_s(**kw: Any) -> ClipFrameNet:
    """Single-frame baseline S: own 2D CNN (stages 32/64/128/256) per frame, features averaged over frames."""
    return _create(dict(stem=24, widths=(32, 64, 128, 256), depths=(1, 2, 3, 2), head_dim=512), kw)
