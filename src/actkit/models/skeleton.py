"""Skeleton action classifiers on keypoint sequences (``skel_gcn_s``, ``skel_gcn_m``).

A compact spatial-temporal graph network after ST-GCN (Yan, Xiong and Lin, "Spatial Temporal Graph
Convolutional Networks for Skeleton-Based Action Recognition", AAAI 2018): each block mixes every joint
with its neighbours on the body graph (MediaPipe-33 bones, self loops, symmetric normalisation; one
weight for the joint itself and one for its neighbours), then convolves over time (kernel 9), with
BatchNorm, ReLU and a residual connection; an input BatchNorm over channels x joints, global average
pooling and a linear classifier.

Input: (B, 4, T, 33) from :func:`actkit.data.skeleton_inputs.skeleton_input` (x, y, z about the hips in
torso lengths, visibility). ``actkit train --task skeleton`` trains them on ``actkit synth skeletons`` sets or
on keypoint files from ``actkit keypoints``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model

NUM_JOINTS = 33
# The body graph: MediaPipe-33 bones (face, arms and hands, torso, legs and feet).
EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (0, 9), (0, 10),
         (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18),
         (16, 20), (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27), (27, 29), (27, 31),
         (29, 31), (24, 26), (26, 28), (28, 30), (28, 32), (30, 32), (0, 11), (0, 12))


def adjacency() -> np.ndarray:
    """(2, 33, 33): the identity and the symmetric-normalised neighbour matrix of the body graph."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), np.float32)
    for i, j in EDGES:
        a[i, j] = a[j, i] = 1.0
    d = 1.0 / np.sqrt(a.sum(1) + 1e-6)
    return np.stack([np.eye(NUM_JOINTS, dtype=np.float32), a * d[:, None] * d[None, :]])


# MediaPipe-33 index of each point's mirror partner (left and right exchanged).
MIRROR = np.arange(33)
for _a, _b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22),
               (23, 24), (25, 26), (27, 28), (29, 30), (31, 32)):
    MIRROR[_a], MIRROR[_b] = _b, _a


def prepare_joints(x: torch.Tensor, mirror: torch.Tensor, depth: bool = True, side_invariant: bool = False) -> torch.Tensor:
    """What a skeleton model keeps of its input ``x`` (B, C, T, 33): without ``depth`` the z channel is zeroed (a
    pose model's depth is its least reliable output: BlazePose's z on rendered people moved a model trained on
    true depth further from the truth than no depth at all); with ``side_invariant`` every frame whose
    person-left shoulder and hip lie right of their partners in the picture has its left/right pairs exchanged
    (``mirror``: each point's partner; positions unchanged), so a pose model that takes a person seen from
    behind for one facing the camera, flickering from frame to frame, no longer changes the input."""
    if not depth:
        x = torch.cat([x[:, :2], torch.zeros_like(x[:, 2:3]), x[:, 3:]], dim=1)
    if side_invariant:
        d = (x[:, 0, :, 11] - x[:, 0, :, 12]) + (x[:, 0, :, 23] - x[:, 0, :, 24])  # (B, T)
        flip = (d > 0).to(x.dtype)[:, None, :, None]
        x = x * (1 - flip) + x[..., mirror] * flip
    return x


def normalise_joints(data_bn: nn.BatchNorm1d, x: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Check that ``x`` is keypoints (B, C, T, 33) and apply the input BatchNorm over channels x joints."""
    if x.dim() != 4 or x.shape[1] != in_channels or x.shape[3] != NUM_JOINTS:
        raise ValueError(f"expected keypoints (B, {in_channels}, T, {NUM_JOINTS}), got {tuple(x.shape)}")
    b, c, t, v = x.shape
    return data_bn(x.permute(0, 1, 3, 2).reshape(b, c * v, t)).view(b, c, v, t).permute(0, 1, 3, 2).contiguous()


def graph_conv(spatial: nn.Conv2d, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """One graph convolution: ``spatial`` gives one set of channels per adjacency matrix in ``a`` (K, V, V),
    and each set is mixed over the joints by its matrix; the sum over K is one matmul (twice as fast as an
    einsum on CPU)."""
    b, _, t, v = x.shape
    y = spatial(x).view(b, a.shape[0], -1, t, v)
    return y.permute(0, 2, 3, 1, 4).reshape(b, -1, t, a.shape[0] * v) @ a.reshape(-1, v)


@dataclass
class SkeletonConfig:
    """Config of the skeleton graph family."""

    widths: tuple[int, ...] = (48, 48, 96, 96)
    strides: tuple[int, ...] = (1, 1, 2, 1)
    temporal_kernel: int = 9
    in_channels: int = 4
    num_classes: int = 15
    num_frames: int = 32
    fps: float = 15.0
    dropout: float = 0.2
    depth: bool = True  # use the z channel (see prepare_joints)
    side_invariant: bool = False  # name left/right pairs by where they are in the picture (see prepare_joints)


class GraphBlock(nn.Module):
    """Graph convolution over joints, then a temporal convolution, residual."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, a: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("a", a)
        self.spatial = nn.Conv2d(cin, cout * a.shape[0], 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.temporal = nn.Conv2d(cout, cout, (kernel, 1), (stride, 1), (kernel // 2, 0))
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.res = nn.Identity() if cin == cout and stride == 1 else nn.Sequential(
            nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(graph_conv(self.spatial, self.a, x)))
        y = self.bn2(self.temporal(y))
        return self.relu(y + self.res(x))


class SkeletonNet(ActkitModel):
    """See the module docstring."""

    def __init__(self, cfg: SkeletonConfig) -> None:
        super().__init__()
        if len(cfg.widths) != len(cfg.strides):
            raise ValueError(f"widths {cfg.widths} and strides {cfg.strides} differ in length")
        self.register_buffer("mirror", torch.from_numpy(MIRROR.astype("int64")), persistent=False)
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=(cfg.num_frames, NUM_JOINTS), colour="rgb", num_frames=cfg.num_frames,
                                   fps=cfg.fps)
        a = torch.from_numpy(adjacency())
        self.data_bn = nn.BatchNorm1d(cfg.in_channels * NUM_JOINTS)
        blocks, c = [], cfg.in_channels
        for w, s in zip(cfg.widths, cfg.strides):
            blocks.append(GraphBlock(c, w, s, cfg.temporal_kernel, a))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.num_features = c
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(c, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = prepare_joints(x, self.mirror, self.cfg.depth, self.cfg.side_invariant)
        return self.blocks(normalise_joints(self.data_bn, x, self.cfg.in_channels)).mean((2, 3))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(x))

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        return (batch, self.cfg.in_channels, self.cfg.num_frames, NUM_JOINTS)

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes)


def _create(base: dict[str, Any], overrides: dict[str, Any]) -> SkeletonNet:
    return SkeletonNet(build_config(SkeletonConfig, base, overrides))


@register_model("skeleton", task="skeleton")
def skel_gcn_s(**kw: Any) -> SkeletonNet:
    """Skeleton graph network S, sized for CPU training: 4 blocks (32, 32, 64, 64 channels; time halved in the
    first and third), temporal kernel 5, about 70K parameters."""
    return _create(dict(widths=(32, 32, 64, 64), strides=(2, 1, 2, 1), temporal_kernel=5), kw)


@register_model("skeleton", task="skeleton")
def skel_gcn_m(**kw: Any) -> SkeletonNet:
    """Skeleton graph network M: 6 blocks (64 .. 128 channels)."""
    return _create(dict(widths=(64, 64, 64, 128, 128, 128), strides=(1, 1, 1, 2, 1, 1)), kw)
