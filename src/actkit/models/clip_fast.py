"""actkit's fast clip classifiers (``clip_fast_p``, ``clip_fast_s``): CPU-trainable, ONNX-clean.

Design (why it is fast on a CPU and still models time):

* The stem sees frames in pairs (6 input channels): a (2, 3, 3) spatio-temporal conv with
  temporal stride 2, the early fusion of Karpathy et al. (CVPR 2014), which halves every later
  layer while the first layer still sees motion.
* Frames are folded into the batch and processed by 2D depthwise-separable blocks (MobileNet,
  Howard et al. 2017; MobileNetV2, Sandler et al. 2018): 2D convs have fast CPU kernels, 3D
  depthwise convs do not.
* Time is mixed by the Temporal Shift Module (Lin, Gan & Han, "TSM: Temporal Shift Module for
  Efficient Video Understanding", ICCV 2019): in each residual block 1/8 of the channels move one
  frame forward and 1/8 one frame back before the depthwise conv, at zero parameters and FLOPs
  (a Slice/Concat in ONNX).
* Frames are averaged in pairs at the start of later stages, as 3D nets stride in time
  (Tran et al., "A Closer Look at Spatiotemporal Convolutions", CVPR 2018): 16 -> 8 (stem) -> 4
  -> 2 frames, so deep stages cost a quarter; a (2+1)D-style depthwise temporal conv (kernel 3) before
  pooling sees the remaining frames in order.
* Every conv is conv-BN(-ReLU) and folds to one Conv at export; only standard ONNX ops.

Input (B, 3, T, H, W) for any T that is a multiple of ``stem_frames`` (2) and any H, W;
defaults 16 x 112 x 112 with the R(2+1)D Kinetics mean/std. ``clip_fast_s`` keeps 4 frames in
its last stage (``time_pool`` per stage).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from ._base import DataConfig
from ._registry import build_config, register_model
from .heads import ClipModel, head_overrides
from .layers import conv_bn
from .video_tv import KINETICS_MEAN, KINETICS_STD


@dataclass
class ClipFastConfig:
    """Config of the fast clip family."""

    stem: int = 16
    stem_frames: int = 2
    widths: tuple[int, ...] = (32, 64, 128)
    depths: tuple[int, ...] = (1, 2, 2)
    time_pool: tuple[bool, ...] = (False, True, True)
    shift_div: int = 8
    head_dim: int = 256
    num_classes: int = 10
    num_frames: int = 16
    input_size: tuple[int, int] = (112, 112)
    fps: float = 15.0
    mean: tuple[float, ...] = KINETICS_MEAN
    std: tuple[float, ...] = KINETICS_STD
    head: str = "linear"
    label_parts: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    dropout: float = 0.2


def temporal_shift(x: torch.Tensor, t: int, fold: int) -> torch.Tensor:
    """TSM shift on (N*T, C, H, W): channels [0, fold) take the next frame, [fold, 2*fold) the previous one."""
    if t < 2 or fold == 0:
        return x
    nt, c, h, w = x.shape
    v = x.reshape(-1, t, c, h, w)
    zero = torch.zeros_like(v[:, :1, :fold])
    fwd = torch.cat([v[:, 1:, :fold], zero], 1)
    bwd = torch.cat([zero, v[:, :-1, fold:2 * fold]], 1)
    return torch.cat([fwd, bwd, v[:, :, 2 * fold:]], 2).reshape(nt, c, h, w)


class _ShiftBlock(nn.Module):
    """[temporal shift] + depthwise 3x3 + pointwise 1x1 (conv-BN-ReLU each); linear residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, shift_div: int) -> None:
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.fold = cin // shift_div if (self.residual and shift_div) else 0
        self.dw = conv_bn(cin, cin, 3, stride, groups=cin)
        self.pw = conv_bn(cin, cout, 1, act=None if self.residual else nn.ReLU)

    def forward(self, x: torch.Tensor, t: int) -> torch.Tensor:
        y = self.pw(self.dw(temporal_shift(x, t, self.fold)))
        return x + y if self.residual else y


class ClipFastNet(ClipModel):
    """Fast clip classifier; see the module docstring."""

    def __init__(self, cfg: ClipFastConfig) -> None:
        super().__init__()
        if not len(cfg.widths) == len(cfg.depths) == len(cfg.time_pool):
            raise ValueError(f"widths {cfg.widths}, depths {cfg.depths} and time_pool {cfg.time_pool} must have the same length")
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=cfg.input_size, colour="rgb", mean=cfg.mean, std=cfg.std,
                                   num_frames=cfg.num_frames, fps=cfg.fps)
        if cfg.stem_frames < 1 or cfg.num_frames % cfg.stem_frames:
            raise ValueError(f"num_frames={cfg.num_frames} must be a multiple of stem_frames={cfg.stem_frames}")
        self.stem = conv_bn(3 * cfg.stem_frames, cfg.stem, 3, 2)
        self.stages = nn.ModuleList()
        c = cfg.stem
        for width, depth in zip(cfg.widths, cfg.depths):
            self.stages.append(nn.ModuleList(_ShiftBlock(c if i == 0 else width, width, 2 if i == 0 else 1, cfg.shift_div)
                                             for i in range(depth)))
            c = width
        self.proj = conv_bn(c, cfg.head_dim, 1)
        # Depthwise temporal conv over the pooled per-frame embeddings: order-aware, few params.
        self.temporal = nn.Sequential(nn.Conv1d(cfg.head_dim, cfg.head_dim, 3, padding=1, groups=cfg.head_dim, bias=False),
                                      nn.BatchNorm1d(cfg.head_dim), nn.ReLU())
        self.num_features = cfg.head_dim
        self._init_head()

    def adapt_state_dict(self, sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``sd`` (another clip_fast's weights) with its stem refitted to this model's ``stem_frames``.

        A stem seeing ``k`` frames becomes one seeing ``m``: the kernel of each output frame slot is the
        sum of the old kernel over frames, divided by ``m``, so a still clip gives the same stem output
        (the inflation of Carreira & Zisserman, CVPR 2017, in either direction). Other weights are as given.
        """
        w = sd.get("stem.0.weight")
        own = self.stem[0].weight
        m = self.cfg.stem_frames
        c = own.shape[1] // m  # channels per frame
        if w is None or w.shape == own.shape or w.shape[0] != own.shape[0] or w.shape[1] % c:
            return sd
        per_frame = w.reshape(w.shape[0], w.shape[1] // c, c, *w.shape[2:]).sum(1) / m
        return {**sd, "stem.0.weight": per_frame.repeat(1, m, 1, 1)}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, c, t, h, w = x.shape
        k = self.cfg.stem_frames
        if t % k:
            raise ValueError(f"{self.model_name or 'clip_fast'} needs a multiple of {k} frames (stem_frames), got {t}")
        t //= k
        x = self.stem(x.transpose(1, 2).reshape(b * t, k * c, h, w))
        for pool, blocks in zip(self.cfg.time_pool, self.stages):
            if pool and t >= 2 and t % 2 == 0:
                _, ch, hh, ww = x.shape
                x = x.reshape(-1, 2, ch, hh, ww).mean(1)  # frames (2i, 2i+1) are adjacent in the batch
                t //= 2
            for block in blocks:
                x = block(x, t)
        x = self.proj(x).mean((2, 3))  # (B*T, D)
        x = x.reshape(-1, t, x.shape[1]).transpose(1, 2)  # (B, D, T)
        return self.temporal(x).mean(2)


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> ClipFastNet:
    return ClipFastNet(build_config(ClipFastConfig, base, head_overrides(overrides)))


@register_model("clip_fast", task="clip")
def clip_fast_p(**kw: Any) -> ClipFastNet:
    """actkit fast clip P: TSM depthwise-separable, stem 16, stages 32/64/128 (1+2+2), head 256, 16x112x112."""
    return _create(dict(stem=16, widths=(32, 64, 128), depths=(1, 2, 2), head_dim=256), kw)


@register_model("clip_fast", task="clip")
def clip_fast_s(**kw: Any) -> ClipFastNet:
    """actkit fast clip S: TSM depthwise-separable, stem 16, stages 32/64/128/256 (1+2+3+2), head 512, 16x112x112."""
    return _create(dict(stem=16, widths=(32, 64, 128, 256), depths=(1, 2, 3, 2), time_pool=(False, True, True, False), head_dim=512), kw)
