"""actkit's fast crop classifiers (``fastcrop_p`` .. ``fastcrop_l``).

Design notes (why it is fast at 32x24 / 24x40 on one CPU thread):

* At these sizes latency is dominated by the number of graph nodes and by full-resolution
  convolutions, not by parameters. The stem therefore downsamples at once (3x3 stride 2);
  the reference family's stride-1 full-resolution stem is what makes its P slow.
* Every conv is followed by BatchNorm (folded into the conv at export) and ReLU (fused into
  the conv by ONNX Runtime), so a block costs two fused kernels.
* Stages are depthwise-separable (MobileNet, Howard et al. 2017): the first block of a stage
  downsamples with a stride-2 depthwise conv, the rest are residual.
* Residuals are linear (no ReLU after the add, as in MobileNetV2) and the head is a wide 1x1
  conv on the final 4x3 map, average pooling and one linear layer: capacity where it is cheap
  (12 positions), few graph nodes. Measured on postures, removing the max-pool branch and the
  post-add ReLUs cost no accuracy and 8% latency.
* ``fastcrop_p`` adds what helped on the postures test split's
  unseen cameras and colours, each without a new graph node: one 24-wide block at 16x12 before the
  strided stages, a global depthwise conv instead of average pooling (``pool: gdc``, MobileFaceNet:
  the head knows where in the crop a feature is), and anti-aliased downsampling (``antialias: all``,
  ``blur: 2``: a [1, 1] box blur composed into every strided conv, Zhang 2019). Its
  256-wide head layer comes after the pooling (``late_head``, as MobileNetV3's last stage): a linear
  layer on one vector instead of a 1x1 conv on 12 positions, which was the largest conv of a batch
  (28 % of the MACs): about 10 % faster than the conv before pooling, at the same accuracy over
  20 seeds (BENCHMARKS.md). The other sizes keep the plain design.

Works for any input size and any number of classes (``num_classes=1`` is binary sigmoid).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model, register_model_deprecations
from .layers import BlurConv2d, SepBlock, rep_conv_bn


POOLS = ("avg", "avgmax", "gdc", "flat")
ANTIALIAS = ("none", "stem", "blocks", "all")


@dataclass
class FastCropConfig:
    """Config of the fast crop family."""

    stem: int = 16
    widths: tuple[int, ...] = (32, 64)
    depths: tuple[int, ...] = (1, 1)
    strides: tuple[int, ...] = ()
    expand: int = 1
    head_dim: int = 0
    residual_relu: bool = False
    pool: str = "avg"  # avg | avgmax | gdc (per-position weights, MobileFaceNet) | flat (every position its own feature)
    num_classes: int = 1
    input_size: tuple[int, int] = (32, 24)
    colour: str = "rgb"
    dropout: float = 0.1
    fused: int = 0  # the first N blocks are fused: one full 3x3 conv instead of depthwise + pointwise
    rep_branches: int = 0  # >0: train each conv as that many parallel conv-BNs (+1x1, +identity), fused at export
    dw_kernel: int = 3  # kernel of the depthwise convs (odd); 5 widens the view at 8x6 and 4x3 for few MACs
    input_norm: str = "none"  # "instance": each crop's channels to zero mean, unit variance first (one node)
    antialias: str = "none"  # which strided convs blur first (BlurConv2d): none | stem | blocks (depthwise) | all
    blur: int = 3  # the anti-aliasing blur: 3 = binomial [1, 2, 1] (a 3x3 conv becomes 5x5), 2 = box [1, 1] (4x4)
    late_head: bool = False  # head_dim after pooling (linear + ReLU on the pooled vector, MobileNetV3) instead of a 1x1 conv before


class FastCropNet(ActkitModel):
    """Fast crop classifier; see the module docstring."""

    cpu_channels_last = True  # about 15 % faster training steps on CPU

    def __init__(self, cfg: FastCropConfig) -> None:
        super().__init__()
        strides = tuple(cfg.strides) or (2,) * len(cfg.widths)
        if not len(cfg.widths) == len(cfg.depths) == len(strides):
            raise ValueError(f"widths {cfg.widths}, depths {cfg.depths} and strides {strides} must have the same length")
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour=cfg.colour)
        if cfg.dw_kernel < 1 or cfg.dw_kernel % 2 == 0:
            raise ValueError(f"dw_kernel must be odd, got {cfg.dw_kernel}")
        if cfg.input_norm not in ("none", "instance"):
            raise ValueError(f"input_norm must be none or instance, got {cfg.input_norm!r}")
        if cfg.antialias not in ANTIALIAS:
            raise ValueError(f"antialias must be one of {', '.join(ANTIALIAS)}, got {cfg.antialias!r}")
        BlurConv2d.check_blur(cfg.blur)  # also when anti-aliasing is off: a bad value is a mistake either way
        rep = cfg.rep_branches
        blur = cfg.blur if cfg.antialias in ("blocks", "all") else 0
        self.stem = rep_conv_bn(self.data_cfg.in_chans, cfg.stem, 3, 2, branches=rep,
                                blur=cfg.blur if cfg.antialias in ("stem", "all") else 0)
        blocks, c = [], cfg.stem
        for width, depth, stride in zip(cfg.widths, cfg.depths, strides):
            for i in range(depth):
                blocks.append(SepBlock(c, width, stride if i == 0 else 1, cfg.expand, cfg.residual_relu, rep,
                                        fused=len(blocks) < cfg.fused, k=cfg.dw_kernel, blur=blur))
                c = width
        if cfg.head_dim and not cfg.late_head:
            # A wide 1x1 conv on the small final map: much capacity for one fused node.
            blocks.append(rep_conv_bn(c, cfg.head_dim, 1, branches=rep))
            c = cfg.head_dim
        self.blocks = nn.Sequential(*blocks)
        self.num_features = c
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {cfg.pool!r}")
        self.gdc = None
        features = 2 * c if cfg.pool == "avgmax" else c
        if cfg.pool in ("gdc", "flat"):
            # Where a part is in the crop matters (a head at the top, legs across the bottom): both keep it.
            with torch.no_grad():  # in eval mode, so no BatchNorm statistic moves
                self.eval()
                fh, fw = self.forward_features(torch.zeros(1, self.data_cfg.in_chans, *cfg.input_size)).shape[2:]
                self.train()
            if cfg.pool == "gdc":  # one depthwise conv as large as the final map: a learnt weight per position
                self.gdc = nn.Sequential(nn.Conv2d(c, c, (fh, fw), groups=c, bias=False), nn.BatchNorm2d(c))
            else:
                features = c * fh * fw
        self.late = None
        if cfg.head_dim and cfg.late_head:
            # The same width where it costs one position's worth of MACs, not 12 (4x3): a batch's
            # largest conv goes; ReLU on the pooled vector instead of per position.
            self.late = nn.Sequential(nn.Linear(features, cfg.head_dim), nn.ReLU())
            features = cfg.head_dim
        self.fc = nn.Linear(features, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.input_norm == "instance":
            # Per crop and channel: a colour cast or a brightness shift of the whole crop is taken out.
            x = F.instance_norm(x, eps=1e-3)
        return self.blocks(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        if self.gdc is not None:
            pooled = self.gdc(x).flatten(1)
        elif self.cfg.pool == "flat":
            pooled = x.flatten(1)
        else:
            pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)  # exports as GlobalAveragePool (ReduceMean is slower in ORT)
            if self.cfg.pool == "avgmax":
                pooled = torch.cat([pooled, x.amax((2, 3))], dim=1)
        if self.late is not None:
            pooled = self.late(pooled)
        return self.fc(self.drop(pooled))

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.fc = nn.Linear(self.fc.in_features, num_classes)


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> FastCropNet:
    return FastCropNet(build_config(FastCropConfig, base, overrides))


_P1 = dict(stem=24, widths=(24, 48, 96), depths=(1, 1, 3), strides=(1, 2, 2), head_dim=256, pool="gdc",
           antialias="all", blur=2)


@register_model("fastcrop")
def fastcrop_p(**kw: Any) -> FastCropNet:
    """actkit fast crop P: anti-aliased stem 24, a 24-wide block at 16x12, stages 48/96 (1+3 blocks), GDC pooling, a 256-wide layer after it."""
    return _create(dict(_P1, late_head=True), kw)


register_model_deprecations({
    # P with its 256-wide layer as a 1x1 conv before pooling (``late_head`` off)
    "fastcrop_p1": ("fastcrop_p", dict(late_head=False)),
    # P before anti-aliasing and GDC pooling: stem 24, stages 48/96 of 2+3 blocks, head conv 256, average pooling
    "fastcrop_p0": ("fastcrop_p", dict(widths=(48, 96), depths=(2, 3), strides=(), pool="avg", antialias="none",
                                       blur=3, late_head=False)),
})


@register_model("fastcrop")
def fastcrop_s(**kw: Any) -> FastCropNet:
    """actkit fast crop S: stem 32, stages 64/128 (2+3 blocks), 1x1 head conv 384."""
    return _create(dict(stem=32, widths=(64, 128), depths=(2, 3), head_dim=384), kw)


@register_model("fastcrop")
def fastcrop_m(**kw: Any) -> FastCropNet:
    """actkit fast crop M: stem 32, stages 48/96/192 (1+2+2 blocks, first at stride 1), head conv 512."""
    return _create(dict(stem=32, widths=(48, 96, 192), depths=(1, 2, 2), strides=(1, 2, 2), head_dim=512), kw)


@register_model("fastcrop")
def fastcrop_l(**kw: Any) -> FastCropNet:
    """actkit fast crop L: stem 32, stages 64/128/256 (2+3+2 inverted residuals x2), head conv 768."""
    return _create(dict(stem=32, widths=(64, 128, 256), depths=(2, 3, 2), strides=(1, 2, 2), expand=2, head_dim=768), kw)
