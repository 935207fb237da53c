"""Clip samplers: which frame indices of a video make one clip. Small strategy objects chosen by name.

Every sampler maps ``(num_frames, rng, clip, num_clips)`` to an int64 array of ``T`` frame
indices in ``[0, num_frames)``, or ``-1`` for a black padding frame. ``rng=None`` means
evaluation (deterministic, centred); with an ``rng`` the draw is a pure function of it, so a
dataset that seeds ``rng`` per (seed, epoch, index) is reproducible for any worker count.
``clip`` / ``num_clips`` let one video give several clips (test-time multi-view).

Use :func:`make_sampler` (``make_sampler("uniform", 16)``) or the classes directly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD_MODES = ("loop", "black", "stretch")


def pad_indices(indices: np.ndarray, num_frames: int, length: int, mode: str) -> np.ndarray:
    """Make a clip of ``length`` from the ``indices`` of a video that is too short for it.

    Args:
        indices: the frames the clip has (all valid).
        num_frames: frames in the video.
        length: frames the clip needs.
        mode: ``loop`` (play the frames again from the start), ``black`` (append ``-1``: black
            frames) or ``stretch`` (repeat frames evenly: slow motion).

    Returns:
        int64 array of ``length`` indices.
    """
    indices = np.asarray(indices, np.int64)
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r} is not one of {PAD_MODES}")
    if len(indices) >= length:
        return indices[:length]
    if len(indices) == 0:
        indices = np.zeros(1, np.int64) if num_frames > 0 else indices
    if mode == "loop":
        return indices[np.arange(length) % len(indices)]
    if mode == "black":
        return np.concatenate([indices, np.full(length - len(indices), -1, np.int64)])
    return indices[np.floor(np.arange(length) * len(indices) / length).astype(np.int64)]


def temporal_jitter(indices: np.ndarray, num_frames: int, rng: np.random.Generator | None, amount: int) -> np.ndarray:
    """Move each index by up to ``amount`` frames at random, keeping order and the valid range.

    Padding entries (``-1``) are left alone; ``rng=None`` or ``amount=0`` returns the input.
    """
    indices = np.asarray(indices, np.int64)
    if rng is None or amount <= 0 or num_frames <= 0:
        return indices
    valid = indices >= 0
    moved = indices[valid] + rng.integers(-amount, amount + 1, int(valid.sum()))
    moved = np.maximum.accumulate(np.clip(moved, 0, num_frames - 1))  # stay in time order
    out = indices.copy()
    out[valid] = moved
    return out


def _check(num_frames: int, clip: int, num_clips: int) -> None:
    if num_frames <= 0:
        raise ValueError(f"cannot sample a clip from a video with {num_frames} frames")
    if num_clips < 1 or not 0 <= clip < num_clips:
        raise ValueError(f"clip {clip} is not in [0, num_clips={num_clips})")


@dataclass
class UniformSampler:
    """``num_frames`` frames spread over the whole video (TSN-style segments).

    The video is cut into ``num_frames`` equal segments; evaluation takes each segment's centre
    (shifted by ``(clip + 0.5) / num_clips`` of a segment for multi-view), training a random
    frame of each segment when ``jitter`` is on (else the centre). A video shorter than the
    clip is padded with ``pad`` (see :func:`pad_indices`).
    """

    num_frames: int = 16
    jitter: bool = True
    pad: str = "loop"

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None, clip: int = 0,
                 num_clips: int = 1) -> np.ndarray:
        _check(num_frames, clip, num_clips)
        t = self.num_frames
        if num_frames < t:
            return pad_indices(np.arange(num_frames), num_frames, t, self.pad)
        seg = num_frames / t
        if rng is not None and self.jitter:
            pos = (np.arange(t) + rng.random(t)) * seg
        else:
            pos = (np.arange(t) + (clip + 0.5) / num_clips) * seg
        return np.minimum(pos.astype(np.int64), num_frames - 1)


@dataclass
class RandomWindowSampler:
    """A contiguous window of ``num_frames`` frames, every ``stride``-th frame.

    Training draws the window start at random (and moves each frame by up to ``jitter`` frames);
    evaluation centres it (``num_clips`` > 1: windows evenly spaced, like :class:`DenseSampler`).
    A video shorter than the window first uses a smaller stride, then pads with ``pad``.
    ``speed_jitter`` (training only) plays the window at a random speed: the frame step is the
    stride times a factor drawn from ``[1 - speed_jitter, 1 + speed_jitter]``, rounded per frame, and
    shrunk to fit the video when the window would not.
    """

    num_frames: int = 16
    stride: int = 2
    jitter: int = 0
    pad: str = "loop"
    speed_jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.stride < 1 or self.num_frames < 1:
            raise ValueError(f"need num_frames >= 1 and stride >= 1, got {self.num_frames}, {self.stride}")
        if not 0.0 <= self.speed_jitter < 1.0:
            raise ValueError(f"speed_jitter must be in [0, 1), got {self.speed_jitter}")

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None, clip: int = 0,
                 num_clips: int = 1) -> np.ndarray:
        _check(num_frames, clip, num_clips)
        t = self.num_frames
        if rng is not None and self.speed_jitter > 0 and t > 1:
            step = self.stride * rng.uniform(1 - self.speed_jitter, 1 + self.speed_jitter)
            step = max(min(step, (num_frames - 1) / (t - 1)), 1.0)  # fit the video; never repeat frames
            offsets = np.round(np.arange(t) * step).astype(np.int64)
            if offsets[-1] < num_frames:
                start = int(rng.integers(0, num_frames - offsets[-1]))
                return temporal_jitter(start + offsets, num_frames, rng, self.jitter)
        stride = self.stride
        while stride > 1 and (t - 1) * stride + 1 > num_frames:
            stride -= 1
        span = (t - 1) * stride + 1
        if span > num_frames:
            return pad_indices(np.arange(num_frames), num_frames, t, self.pad)
        room = num_frames - span
        if rng is not None:
            start = int(rng.integers(0, room + 1))
        elif num_clips == 1:
            start = room // 2
        else:
            start = int(round(clip * room / (num_clips - 1)))
        idx = start + np.arange(t, dtype=np.int64) * stride
        return temporal_jitter(idx, num_frames, rng, self.jitter)


@dataclass
class DenseSampler:
    """Clip ``clip`` of ``num_clips`` windows evenly spaced over the video (for testing).

    Deterministic whatever the ``rng``: evaluation averages the scores of all ``num_clips``
    windows of a video (the dataset's ``clips_per_video``).
    """

    num_frames: int = 16
    stride: int = 1
    pad: str = "loop"

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None, clip: int = 0,
                 num_clips: int = 1) -> np.ndarray:
        window = RandomWindowSampler(self.num_frames, self.stride, 0, self.pad)
        return window(num_frames, None, clip, num_clips)


SAMPLERS = {"uniform": UniformSampler, "random_window": RandomWindowSampler, "dense": DenseSampler}


def make_sampler(name: str, num_frames: int, **kwargs) -> UniformSampler | RandomWindowSampler | DenseSampler:
    """Build a sampler by name: ``uniform``, ``random_window`` or ``dense``.

    Args:
        name: the strategy.
        num_frames: frames per clip (the model's ``data_cfg.num_frames``).
        **kwargs: the strategy's own options (``stride``, ``jitter``, ``pad``).

    Raises:
        ValueError: an unknown name or option.
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown clip sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    cls = SAMPLERS[name]
    try:
        return cls(num_frames=num_frames, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad options for sampler {name!r}: {e}") from None


def eval_views(sampler: str, stride: int) -> dict[str, str | int]:
    """How val / test clips are taken for a model trained with the ``sampler`` strategy at frame
    ``stride``: ``{"sampler": "uniform", ...}`` (views of the whole video) after uniform training,
    else ``{"sampler": "dense", "stride": stride}`` (evenly spaced windows). Stored with the model, so
    ``actkit eval`` takes the trainer's clips."""
    return {"sampler": "uniform" if sampler == "uniform" else "dense", "stride": int(stride)}


def eval_sampler(views: dict[str, str | int], num_frames: int) -> UniformSampler | DenseSampler:
    """The sampler that takes ``views`` (see :func:`eval_views`) of ``num_frames`` frames."""
    if views["sampler"] == "uniform":
        return make_sampler("uniform", num_frames)
    return make_sampler("dense", num_frames, stride=int(views["stride"]))


__all__ = ["PAD_MODES", "SAMPLERS", "UniformSampler", "RandomWindowSampler", "DenseSampler", "make_sampler",
           "eval_sampler", "eval_views", "pad_indices", "temporal_jitter"]
