"""The reference tiny state-classifier family, rebuilt: the sitting (SC) and open/closed-eye (OCEC)
classifiers published on GitHub as PINTO0309/SC and PINTO0309/OCEC.

Rebuilt from their published description and parameter counts: archs ``baseline``
(MobileNet-style depthwise separable, Howard et al. 2017), ``inverted_se`` (MobileNetV2
inverted residuals, Sandler et al. 2018, with squeeze-excite, Hu et al. 2018) and ``convnext``
(Liu et al. 2022); heads ``avg``, ``avgmax_mlp``, ``transformer``, ``mlp_mixer``. Named sizes
``sc_p`` .. ``sc_l`` match the published parameter counts exactly. Kept so actkit's own family
can be compared side by side with the same data, recipe and benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model
from .layers import ClassifierHead, LayerNorm2d, SqueezeExcite, conv_bn

STRIDE2_BLOCKS = (2, 4, 6)


@dataclass
class ScConfig:
    """Config of the reference family. ``num_classes=1`` is a binary sigmoid output."""

    arch: str = "inverted_se"
    head: str = "avgmax_mlp"
    num_blocks: int = 1
    base_channels: int = 32
    num_classes: int = 1
    input_size: tuple[int, int] = (32, 24)
    colour: str = "rgb"
    dropout: float = 0.3
    token_grid: tuple[int, int] = (2, 2)


class _DSBlock(nn.Module):
    """``baseline`` block: depthwise3x3-BN-ReLU-pointwise-BN, residual when shapes match, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.dw = conv_bn(cin, cin, 3, stride, groups=cin)
        self.pw = conv_bn(cin, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(x))
        return F.relu(x + y if self.residual else y)


class _InvertedSEBlock(nn.Module):
    """``inverted_se`` block: expand x4, depthwise 3x3, SE (r=8), project, residual, SiLU after add."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = cin * 4
        self.expand = conv_bn(cin, mid, 1, act=nn.SiLU)
        self.dw = conv_bn(mid, mid, 3, stride, groups=mid, act=nn.SiLU)
        self.se = SqueezeExcite(mid, 8)
        self.project = conv_bn(mid, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))
        return F.silu(x + y if self.residual else y)


class _ConvNeXtBlock(nn.Module):
    """``convnext`` block: dw7x7, LayerNorm, Linear x4, GELU, Linear, layer scale 1e-6, residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        y = self.fc2(F.gelu(self.fc1(y))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class _ConvNeXtDown(nn.Module):
    """LayerNorm + conv2x2 s2; odd maps are padded so tiny inputs never reach zero size."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = self.norm(x)
        if h % 2 or w % 2:
            x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
        return self.conv(x)


class ScClassifier(ActkitModel):
    """One reference-family classifier; see the module docstring."""

    cpu_channels_last = True  # about 15 % faster training steps on CPU

    def __init__(self, cfg: ScConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour=cfg.colour)
        cin, c = self.data_cfg.in_chans, cfg.base_channels
        if cfg.arch == "baseline":
            self.stem = conv_bn(cin, c, 3, 2)
        elif cfg.arch == "inverted_se":
            self.stem = nn.Sequential(conv_bn(cin, c, 3, 1, act=nn.SiLU), conv_bn(c, c, 3, 2, act=nn.SiLU))
        elif cfg.arch == "convnext":
            self.stem = nn.Sequential(nn.Conv2d(cin, c, 4, 4), LayerNorm2d(c))
        else:
            raise ValueError(f"unknown arch {cfg.arch!r}: use baseline, inverted_se or convnext")
        blocks: list[nn.Module] = []
        for i in range(cfg.num_blocks):
            stride = 2 if i in STRIDE2_BLOCKS else 1
            cout = c * stride
            if cfg.arch == "baseline":
                blocks.append(_DSBlock(c, cout, stride))
            elif cfg.arch == "inverted_se":
                blocks.append(_InvertedSEBlock(c, cout, stride))
            else:
                blocks.append(nn.Sequential(_ConvNeXtDown(c, cout), _ConvNeXtBlock(cout)) if stride == 2 else _ConvNeXtBlock(c))
            c = cout
        self.blocks = nn.Sequential(*blocks)
        self.num_features = c
        self.head = ClassifierHead(cfg.head, c, cfg.num_classes, cfg.dropout, cfg.token_grid)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.head.fc = nn.Linear(self.head.fc.in_features, num_classes)


def _create_sc(base: dict[str, Any], overrides: dict[str, Any]) -> ScClassifier:
    return ScClassifier(build_config(ScConfig, base, overrides))


@register_model("sc")
def sc_p(**kw: Any) -> ScClassifier:
    """Reference SC-P: inverted_se + avgmax_mlp, 1 block (26,609 params at 32x24)."""
    return _create_sc(dict(num_blocks=1), kw)


@register_model("sc")
def sc_n(**kw: Any) -> ScClassifier:
    """Reference SC-N: 2 blocks (40,769 params)."""
    return _create_sc(dict(num_blocks=2), kw)


@register_model("sc")
def sc_t(**kw: Any) -> ScClassifier:
    """Reference SC-T: 3 blocks (65,425 params)."""
    return _create_sc(dict(num_blocks=3), kw)


@register_model("sc")
def sc_s(**kw: Any) -> ScClassifier:
    """Reference SC-S: 4 blocks (118,321 params)."""
    return _create_sc(dict(num_blocks=4), kw)


@register_model("sc")
def sc_c(**kw: Any) -> ScClassifier:
    """Reference SC-C: 5 blocks (212,689 params)."""
    return _create_sc(dict(num_blocks=5), kw)


@register_model("sc")
def sc_m(**kw: Any) -> ScClassifier:
    """Reference SC-M: 6 blocks (416,785 params)."""
    return _create_sc(dict(num_blocks=6), kw)


@register_model("sc")
def sc_l(**kw: Any) -> ScClassifier:
    """Reference SC-L: 8 blocks (1,587,153 params)."""
    return _create_sc(dict(num_blocks=8), kw)


@register_model("sc")
def sc_baseline(**kw: Any) -> ScClassifier:
    """Reference ``baseline`` arch + ``avg`` head, 4 blocks (the 0.03 ms model)."""
    return _create_sc(dict(arch="baseline", head="avg", num_blocks=4), kw)


@register_model("sc")
def sc_convnext(**kw: Any) -> ScClassifier:
    """Reference ``convnext`` arch + ``transformer`` head, 4 blocks."""
    return _create_sc(dict(arch="convnext", head="transformer", num_blocks=4), kw)
