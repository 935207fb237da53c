"""Causal streaming skeleton model with explicit state (``skel_stream_s``): one label per frame, live.

The blocks of :mod:`.skeleton` with the temporal convolution made causal (frame t sees frames <= t; dilated
1, 2, 4, ... so a few blocks reach about 2 s) and no temporal stride. The streaming contract of the pixel
streaming models (:mod:`.stream_tsm`), on keypoints:

* ``forward(x)``: (B, 4, T, 33) -> clip logits (B, K), the mean over time of the per-frame logits, so it trains
  with clip labels (``actkit train --task skeleton``);
* ``forward_frames(x)`` -> (B, T, K), frame t's logits from frames <= t;
* ``init_state(batch)`` -> zero tensors, one per temporal convolution ((B, C, (k - 1) * d, 33) each: the last
  inputs it needs); ``step(frame (B, 4, 33), state)`` -> ``(logits (B, K), new_state)``, equal to
  ``forward_frames`` frame by frame (history before the first frame is zeros in both).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model
from .skeleton import MIRROR, NUM_JOINTS, adjacency, graph_conv, normalise_joints, prepare_joints


@dataclass
class SkeletonStreamConfig:
    """Config of the causal skeleton family."""

    widths: tuple[int, ...] = (32, 32, 64, 64)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    temporal_kernel: int = 3
    in_channels: int = 4
    num_classes: int = 15
    num_frames: int = 32
    fps: float = 15.0
    dropout: float = 0.2
    depth: bool = True  # use the z channel (see skeleton.prepare_joints)
    side_invariant: bool = False  # name left/right pairs by where they are in the picture (see prepare_joints)


class CausalGraphBlock(nn.Module):
    """Graph convolution over joints (per frame), then a causal dilated temporal convolution, residual."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int, a: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("a", a)
        self.kernel, self.dilation = kernel, dilation
        self.spatial = nn.Conv2d(cin, cout * a.shape[0], 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.temporal = nn.Conv2d(cout, cout, (kernel, 1), dilation=(dilation, 1))
        self.bn2 = nn.BatchNorm2d(cout)
        self.res = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))

    @property
    def history(self) -> int:
        return (self.kernel - 1) * self.dilation

    def _graph(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(graph_conv(self.spatial, self.a, x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.pad(self._graph(x), (0, 0, self.history, 0))  # zeros before the first frame
        return F.relu(self.bn2(self.temporal(y)) + self.res(x))

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, C, 1, V), ``state`` (B, C', history, V) -> output (B, C', 1, V) and the new state."""
        y = torch.cat([state, self._graph(x)], dim=2)
        out = F.relu(self.bn2(self.temporal(y)) + self.res(x))
        return out, y[:, :, 1:]


class SkeletonStreamNet(ActkitModel):
    """See the module docstring."""

    def __init__(self, cfg: SkeletonStreamConfig) -> None:
        super().__init__()
        if len(cfg.widths) != len(cfg.dilations):
            raise ValueError(f"widths {cfg.widths} and dilations {cfg.dilations} differ in length")
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=(cfg.num_frames, NUM_JOINTS), colour="rgb", num_frames=cfg.num_frames,
                                   fps=cfg.fps)
        a = torch.from_numpy(adjacency())
        self.register_buffer("mirror", torch.from_numpy(MIRROR.astype("int64")), persistent=False)
        self.data_bn = nn.BatchNorm1d(cfg.in_channels * NUM_JOINTS)
        blocks, c = [], cfg.in_channels
        for w, d in zip(cfg.widths, cfg.dilations):
            blocks.append(CausalGraphBlock(c, w, cfg.temporal_kernel, d, a))
            c = w
        self.blocks = nn.ModuleList(blocks)
        self.num_features = c
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(c, cfg.num_classes)

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        x = prepare_joints(x, self.mirror, self.cfg.depth, self.cfg.side_invariant)
        x = normalise_joints(self.data_bn, x, self.cfg.in_channels)
        for block in self.blocks:
            x = block(x)
        return self.head(self.drop(x.mean(3).transpose(1, 2)))  # (B, T, K)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_frames(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1)

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        return (batch, self.cfg.in_channels, self.cfg.num_frames, NUM_JOINTS)

    def frame_shape(self) -> tuple[int, int]:
        """One frame's input (without the batch): (4, 33)."""
        return (self.cfg.in_channels, NUM_JOINTS)

    def receptive_field(self) -> int:
        """Frames that reach one output: the current one and the causal history."""
        return 1 + sum(b.history for b in self.blocks)

    def state_shapes(self) -> list[tuple[int, int, int]]:
        return [(b.temporal.in_channels, b.history, NUM_JOINTS) for b in self.blocks]

    def init_state(self, batch_size: int = 1, device: torch.device | str | None = None) -> list[torch.Tensor]:
        return [torch.zeros((batch_size,) + s, device=device) for s in self.state_shapes()]

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One frame's keypoints (B, 4, 33) -> (logits (B, K), new state)."""
        x = normalise_joints(self.data_bn, prepare_joints(frame.unsqueeze(2), self.mirror, self.cfg.depth,
                                                          self.cfg.side_invariant), self.cfg.in_channels)
        new = []
        for block, s in zip(self.blocks, state):
            x, s = block.step(x, s)
            new.append(s)
        return self.head(self.drop(x.mean(3)[:, :, 0])), new

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes)


@register_model("skeleton_stream", task="skeleton")
def skel_stream_s(**kw: Any) -> SkeletonStreamNet:
    """Causal skeleton model S: 4 blocks (32, 32, 64, 64 channels), causal temporal kernel 3 dilated 1, 2, 4, 8
    (31 frames, 2 s at 15 fps, of receptive field), a label per frame; about 40K parameters."""
    return SkeletonStreamNet(build_config(SkeletonStreamConfig, {}, kw))
