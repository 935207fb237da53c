"""Torch datasets over crop tables (the bridge between ``actkit.data`` and the trainer)."""
from __future__ import annotations

import logging

import numpy as np
import torch

from ..data.crops import CropTable
from ..data.schema import decode_image
from ..data.transforms import CropAugment, crop_to_input
from ..models._base import DataConfig

log = logging.getLogger(__name__)


class CropDataset(torch.utils.data.Dataset):
    """Samples are dicts ``{"input": (C,H,W) float32, "label": int, "index": int}``.

    Images are decoded once and kept as uint8 arrays (crop sets are small). Augmentation
    for sample ``i`` in epoch ``e`` is drawn from ``default_rng([seed, e, i])``, so results are
    identical whatever the number of workers and after a resume.
    """

    def __init__(self, table: CropTable, data_cfg: DataConfig, aug: CropAugment | None = None, seed: int = 0) -> None:
        self.table, self.data_cfg, self.aug, self.seed, self.epoch = table, data_cfg, aug, seed, 0
        self.images = [decode_image(b, f"{table.path}[{i}]") for i, b in enumerate(table.images)]
        self.labels = table.class_ids.astype(np.int64)
        self._cache: list[np.ndarray] | None = None
        if aug is None:  # evaluation inputs never change: compute them once
            self._cache = [crop_to_input(im, bx, data_cfg) for im, bx in zip(self.images, table.boxes)]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        if self._cache is not None:
            x = self._cache[i]
        else:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            x = crop_to_input(self.images[i], self.table.boxes[i], self.data_cfg, rng, self.aug)
        return {"input": torch.from_numpy(x), "label": int(self.labels[i]), "index": i}


class ImageDataset(CropDataset):
    """A :class:`CropDataset` that decodes each image when it is asked for (image sets are large: Stanford40
    holds 9532 photos), with the same per-sample seeded augmentation."""

    def __init__(self, table: CropTable, data_cfg: DataConfig, aug: CropAugment | None = None, seed: int = 0) -> None:
        self.table, self.data_cfg, self.aug, self.seed, self.epoch = table, data_cfg, aug, seed, 0
        self.labels = table.class_ids.astype(np.int64)
        self._cache = None

    def __len__(self) -> int:
        return len(self.table.images)

    def __getitem__(self, i: int) -> dict:
        img = decode_image(self.table.images[i], f"{self.table.path}: {self.table.sources[i]}")
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.aug is not None else None
        x = crop_to_input(img, self.table.boxes[i], self.data_cfg, rng, self.aug)
        return {"input": torch.from_numpy(x), "label": int(self.labels[i]), "index": i}


class SkeletonDataset(torch.utils.data.Dataset):
    """Samples ``{"input": (4, T, 33) float32, "label": int, "index": int}`` from keypoint sequences (one
    person each, :func:`~actkit.data.skeleton_inputs.skeleton_input`; for a ``causal`` streaming model
    :func:`~actkit.data.skeleton_inputs.causal_input`, the past-only normalisation it gets live); training windows
    of ``frames`` frames start at a seeded random frame, evaluation takes the centre window; augmentation per
    sample and epoch is seeded as in :class:`CropDataset`."""

    def __init__(self, sequences: list[np.ndarray], labels: np.ndarray, frames: int, aug=None, seed: int = 0,
                 causal: bool = False) -> None:
        from ..data.skeleton_inputs import causal_input, skeleton_input

        self.inputs = [(causal_input if causal else skeleton_input)(s) for s in sequences]
        self.labels, self.frames, self.aug, self.seed, self.epoch = np.asarray(labels, np.int64), frames, aug, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> dict:
        x = self.inputs[i]
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.aug is not None else None
        t = x.shape[1]
        if t >= self.frames:
            start = int(rng.integers(0, t - self.frames + 1)) if rng is not None else (t - self.frames) // 2
            x = x[:, start:start + self.frames]
        else:  # shorter than the model's window: padded with empty frames
            x = np.concatenate([x, np.zeros((x.shape[0], self.frames - t, x.shape[2]), np.float32)], axis=1)
        if rng is not None:
            x = self.aug(x, rng)
        return {"input": torch.from_numpy(np.ascontiguousarray(x, np.float32)), "label": int(self.labels[i]), "index": i}


class SkeletonFrameDataset(torch.utils.data.Dataset):
    """Windows of ``frames`` consecutive frames of whole keypoint videos with a target per frame:
    ``{"input": (4, frames, 33), "label": (frames,) int64, "index"}``. Inputs are
    :func:`~actkit.data.skeleton_inputs.causal_input` of the whole video (as live), cut after. Training: windows
    at seeded random starts (``len`` covers every frame about twice per epoch), the first ``warmup`` frames of
    a window get no loss (the model has no past there), augmented per window; evaluation: consecutive windows,
    scoring every frame once."""

    def __init__(self, inputs: list[np.ndarray], targets: list[np.ndarray], frames: int, aug=None, seed: int = 0,
                 warmup: int = 0) -> None:
        from ..data.video.framelabels import IGNORE

        self.inputs, self.targets, self.frames, self.aug, self.seed, self.epoch = inputs, targets, frames, aug, seed, 0
        self.warmup, self.ignore = warmup, IGNORE
        lengths = np.array([x.shape[1] for x in inputs])
        if aug is not None:
            self.windows = [(-1, -1)] * max(1, int(2 * lengths.sum() // frames))
        else:
            self.windows = [(v, s) for v, n in enumerate(lengths) for s in range(0, max(1, n), frames)]
        self.weights = lengths / max(1, lengths.sum())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.aug is not None else None
        v, start = self.windows[i]
        if rng is not None:
            v = int(rng.choice(len(self.inputs), p=self.weights))
            start = int(rng.integers(0, max(1, self.inputs[v].shape[1] - self.frames + 1)))
        x = self.inputs[v][:, start:start + self.frames]
        y = self.targets[v][start:start + self.frames].copy()
        if rng is not None and self.warmup and start > 0:
            y[:self.warmup] = self.ignore
        pad = self.frames - x.shape[1]
        if pad > 0:  # the end of a video: empty frames, not scored
            x = np.concatenate([x, np.zeros((x.shape[0], pad, x.shape[2]), np.float32)], axis=1)
            y = np.concatenate([y, np.full(pad, self.ignore, np.int64)])
        if rng is not None:
            x = self.aug(x, rng)
        return {"input": torch.from_numpy(np.ascontiguousarray(x, np.float32)), "label": torch.from_numpy(y), "index": i}
