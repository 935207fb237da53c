"""Keypoint sequences as model inputs: centred on the hips, divided by the torso, with a visibility channel.

``skeleton_input(seq)`` turns one person's (T, 33, 4) keypoints (pixels, NaN where nobody was found) into a
(4, T, 33) float32 array: x and y about the mean hip centre of the sequence, divided by the median torso
length (mid-shoulders to mid-hips), z on the same scale, and visibility; a frame without a person is all
zeros (visibility 0 says so). Any camera distance and position gives the same numbers.

``SkeletonAugment`` draws what a real camera and pose model vary: a left/right mirror (x negated and the
sides swapped), scale, a turn in the picture plane and a shift.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.skeleton import MIRROR  # noqa: F401 - MediaPipe-33 index of each point's mirror partner


def skeleton_input(seq: np.ndarray) -> np.ndarray:
    """(4, T, 33) float32 from (T, 33, 4) keypoints (see the module doc)."""
    seq = np.asarray(seq, np.float32)
    if seq.ndim != 3 or seq.shape[1:] != (33, 4):
        raise ValueError(f"expected keypoints (frames, 33, 4), got {seq.shape}")
    found = np.isfinite(seq).all(axis=(1, 2))
    out = np.zeros((4,) + seq.shape[:2], np.float32)
    if not found.any():
        return out
    s = seq[found]
    hips, shoulders = s[:, [23, 24], :2].mean(1), s[:, [11, 12], :2].mean(1)
    torso = float(np.median(np.linalg.norm(shoulders - hips, axis=1)))
    scale = torso if torso > 1e-6 else float(np.ptp(s[..., :2].reshape(-1, 2), axis=0).max() or 1.0) / 3
    centre = hips.mean(0)
    out[0, found] = (s[..., 0] - centre[0]) / scale
    out[1, found] = (s[..., 1] - centre[1]) / scale
    out[2, found] = s[..., 2] / scale
    out[3, found] = s[..., 3]
    return np.clip(out, -20, 20)


@dataclass
class SkeletonAugment:
    """Random changes of a (4, T, 33) input, drawn from ``rng``."""

    mirror: float = 0.5
    scale: float = 0.15
    rotate_deg: float = 15.0
    shift: float = 0.2

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = x.copy()
        seen = x[3] > 0
        if rng.random() < self.mirror:
            x = x[:, :, MIRROR]
            x[0] = -x[0]
            seen = x[3] > 0
        a = np.radians(rng.uniform(-self.rotate_deg, self.rotate_deg))
        c, s = np.cos(a), np.sin(a)
        k = rng.uniform(1 - self.scale, 1 + self.scale)
        dx, dy = rng.uniform(-self.shift, self.shift, 2)
        px, py = x[0].copy(), x[1].copy()
        x[0] = np.where(seen, k * (c * px - s * py) + dx, 0)
        x[1] = np.where(seen, k * (s * px + c * py) + dy, 0)
        x[2] = np.where(seen, k * x[2], 0)
        return x


class CausalNormaliser:
    """One frame's keypoints (33, 4) -> a streaming model's input (4, 33), from the past only.

    A live model cannot know a whole sequence's centre and size, so each frame is taken about a running
    hip centre and divided by a running torso length (exponential averages, rates ``centre_rate`` and
    ``scale_rate`` per frame, started at the first frame with a person): a person walking drifts away from
    the running centre, so the input still shows travel. A frame without a person is zeros, and the
    running values wait for the next one. One normaliser per tracked person; training uses
    :func:`causal_input`, the same loop over a whole sequence.
    """

    def __init__(self, centre_rate: float = 0.2, scale_rate: float = 0.05) -> None:
        self.centre_rate, self.scale_rate = centre_rate, scale_rate
        self.reset()

    def reset(self) -> None:
        self.centre: np.ndarray | None = None
        self.scale: float | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        f = np.asarray(frame, np.float32)
        if f.shape != (33, 4):
            raise ValueError(f"expected one frame of keypoints (33, 4), got {f.shape}")
        out = np.zeros((4, 33), np.float32)
        if not np.isfinite(f).all():
            return out
        hips, shoulders = f[[23, 24], :2].mean(0), f[[11, 12], :2].mean(0)
        torso = float(np.linalg.norm(shoulders - hips))
        if not torso > 1e-6:
            torso = float(np.ptp(f[:, :2], axis=0).max() or 1.0) / 3
        if self.centre is None:
            self.centre, self.scale = hips.astype(np.float64), torso
        else:
            self.centre += self.centre_rate * (hips - self.centre)
            self.scale += self.scale_rate * (torso - self.scale)
        out[0] = (f[:, 0] - self.centre[0]) / self.scale
        out[1] = (f[:, 1] - self.centre[1]) / self.scale
        out[2] = f[:, 2] / self.scale
        out[3] = f[:, 3]
        return np.clip(out, -20, 20)


def causal_input(seq: np.ndarray) -> np.ndarray:
    """(4, T, 33) streaming-model input of a whole (T, 33, 4) sequence, frame by frame with one
    :class:`CausalNormaliser` (exactly what the live pipeline computes)."""
    seq = np.asarray(seq, np.float32)
    if seq.ndim != 3 or seq.shape[1:] != (33, 4):
        raise ValueError(f"expected keypoints (frames, 33, 4), got {seq.shape}")
    norm = CausalNormaliser()
    return np.stack([norm(f) for f in seq], axis=1) if len(seq) else np.zeros((4, 0, 33), np.float32)
