"""Hand-landmark streaming classifier (``hand_stream_s``): a fixed hand embedding and a trained head.

The input of one frame is both hands' 21 MediaPipe landmarks, ``(3, 42)``: channels x, y (image pixels) and
presence (1 found, 0 not), points 0-20 the person's left hand and 21-41 the right. The embedding has no trained
weights (the frozen extractor of hand-gesture custom classifiers, as MediaPipe Model Maker's gesture recogniser
freezes its hand embedding): per hand, the points relative to the wrist in units of the hand's size (wrist to
middle-finger knuckle), the left hand mirrored so both hands read alike, and the wrist's motion since the
previous frame in hand sizes per second (zero when the hand was absent then); then the presences. ``head`` is a
linear layer on that per-frame vector.

The streaming contract of the other streaming models: ``forward_frames`` (B, 3, T, 42) -> (B, T, K);
``init_state`` / ``step`` with the previous frame as state (equal to ``forward_frames`` frame by frame).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from ._base import ActkitModel, DataConfig
from ._registry import build_config, register_model

POINTS = 21
EMBED = 2 * (2 * POINTS + 2) + 2  # per hand: points and wrist motion; then the two presences


@dataclass
class HandStreamConfig:
    num_classes: int = 2
    fps: float = 15.0
    num_frames: int = 32


def _hand(xy: torch.Tensor, present: torch.Tensor, prev_xy: torch.Tensor, prev_present: torch.Tensor,
          mirror: bool, fps: float) -> torch.Tensor:
    """One hand's embedding: ``xy`` (N, 2, 21) pixels, ``present`` (N,) -> (N, 44); the wrist's motion in hand
    sizes per second."""
    wrist = xy[:, :, :1]
    size = (xy[:, :, 9] - xy[:, :, 0]).norm(dim=1).clamp_min(1e-3)[:, None, None]
    rel = (xy - wrist) / size
    move = (xy[:, :, 0] - prev_xy[:, :, 0]) / size[:, :, 0] * (present * prev_present)[:, None] * fps
    if mirror:
        rel = torch.stack([-rel[:, 0], rel[:, 1]], 1)
        move = torch.stack([-move[:, 0], move[:, 1]], 1)
    return torch.cat([rel.flatten(1), move.clamp(-20, 20)], 1) * present[:, None]


class HandStreamNet(ActkitModel):
    """See the module docstring."""

    def __init__(self, cfg: HandStreamConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.data_cfg = DataConfig(input_size=(cfg.num_frames, 2 * POINTS), colour="rgb", num_frames=cfg.num_frames,
                                   fps=cfg.fps)
        self.blocks = nn.ModuleList()  # nothing trained below the head
        self.num_features = EMBED
        self.head = nn.Linear(EMBED, cfg.num_classes)

    def embed(self, frame: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """(N, 3, 42) frames and their previous frames -> (N, EMBED)."""
        frame, prev = torch.nan_to_num(frame), torch.nan_to_num(prev)
        parts = []
        for h in (0, 1):
            s = slice(h * POINTS, (h + 1) * POINTS)
            parts.append(_hand(frame[:, :2, s], frame[:, 2, s.start], prev[:, :2, s], prev[:, 2, s.start], h == 0,
                               float(self.cfg.fps)))
        return torch.cat(parts + [frame[:, 2, ::POINTS]], 1)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, 42) -> (B, T, EMBED), each frame with the one before it (zeros before the first)."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[3] != 2 * POINTS:
            raise ValueError(f"expected hand landmarks (B, 3, T, {2 * POINTS}), got {tuple(x.shape)}")
        b, c, t, v = x.shape
        prev = torch.cat([torch.zeros_like(x[:, :, :1]), x[:, :, :-1]], 2)
        cur = x.permute(0, 2, 1, 3).reshape(b * t, c, v)
        return self.embed(cur, prev.permute(0, 2, 1, 3).reshape(b * t, c, v)).view(b, t, -1)

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.frame_features(x))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.frame_features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x).mean(1)

    def frame_shape(self) -> tuple[int, int]:
        return (3, 2 * POINTS)

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        return (batch, 3, self.cfg.num_frames, 2 * POINTS)

    def receptive_field(self) -> int:
        return 2

    def state_shapes(self) -> list[tuple[int, int]]:
        return [(3, 2 * POINTS)]

    def init_state(self, batch_size: int = 1, device: torch.device | str | None = None) -> list[torch.Tensor]:
        return [torch.zeros((batch_size, 3, 2 * POINTS), device=device)]

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One frame (B, 3, 42) -> (logits (B, K), new state)."""
        return self.head(self.embed(frame, state[0])), [torch.nan_to_num(frame)]

    def reset_classifier(self, num_classes: int) -> None:
        self.cfg.num_classes = num_classes
        self.head = nn.Linear(EMBED, num_classes)


@register_model("hand_stream", task="hands")
def hand_stream_s(**kw: Any) -> HandStreamNet:
    """Hands S: a fixed embedding of both hands' landmarks and the wrists' motion, and a linear head (the
    extractor of hand-gesture custom classifiers; no trained weights below the head)."""
    return HandStreamNet(build_config(HandStreamConfig, {}, kw))
