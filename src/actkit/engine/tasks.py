"""What the trainer trains: the data side of each task, behind one small interface.

The trainer never special-cases a task. A task reads its dataset once, says which classes it
has and what the model builder needs to know about them (number of logits, label structure),
then builds one torch dataset per split for the model's own preprocessing (``data_cfg``).
Every dataset yields dicts with the keys ``input``, ``label`` and ``index``; clip datasets add
``video``, so several clips of one video can be averaged for video-level accuracy.

* ``crop``: a Parquet crop table (:mod:`actkit.data.crops`), images decoded once.
* ``clip``: a video dataset (:mod:`actkit.data.video`): folder-per-class, UCF-101, HMDB51,
  Kinetics, Diving48 or a generic CSV, decoded with seeking and sampled per clip.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..data.crops import CropTable, read_crops_table
from ..data.splits import grouped_stratified_split
from ..models._base import DataConfig

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def load_task_table(cfg: TrainConfig) -> CropTable:
    """Read the crop dataset, apply the binary view, and make sure a validation split exists."""
    if not cfg.data.path:
        raise ValueError("no dataset given: pass --data PATH.parquet (see `actkit data crops` / `actkit synth postures`)")
    table = read_crops_table(cfg.data.path)
    if cfg.data.positive:
        table = table.binary(cfg.data.positive)
    if not np.any(table.splits == "train"):
        raise ValueError(f"{cfg.data.path}: no rows in the train split")
    if not np.any(table.splits == "val"):
        # Never pick checkpoints on the test split: carve a grouped validation split from train.
        log.warning("%s has no val split: holding out 10%% of train groups for validation", cfg.data.path)
        table.splits = carve_val(table.splits, table.labels, table.groups, cfg.run.seed)
    return table


def carve_val(splits: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """``splits`` with 10% of the train groups moved to ``val`` (stratified, grouped)."""
    tr = np.flatnonzero(splits == "train")
    sub = grouped_stratified_split(labels[tr], groups[tr], {"train": 0.9, "val": 0.1}, seed=seed)
    out = np.asarray(splits, dtype=object).copy()
    out[tr] = sub
    return out


class CropTask:
    """Crop classification from a Parquet crop table."""

    name = "crop"

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.table = load_task_table(cfg)
        self.class_names: list[str] = list(self.table.class_names)
        self.skipped: list[dict[str, str]] = []

    def model_overrides(self) -> dict[str, Any]:
        """Fields of the model config that depend on the data or on the run config."""
        o: dict[str, Any] = {"colour": self.cfg.model.colour}
        if self.cfg.model.input_size:
            if len(self.cfg.model.input_size) != 2:
                raise ValueError(f"model.input_size must be H,W, got {self.cfg.model.input_size}")
            o["input_size"] = tuple(int(v) for v in self.cfg.model.input_size)
        return o

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.transforms import CropAugment
        from .data import CropDataset

        d = self.cfg.data
        aug = CropAugment(d.box_jitter, d.scale_jitter, d.hflip, d.colour_jitter)
        return {s: CropDataset(self.table.select(s), data_cfg, aug if s == "train" else None, seed)
                for s in SPLITS if np.any(self.table.splits == s)}

    def train_counts(self) -> np.ndarray:
        return self.table.select("train").class_counts()

    @property
    def eval_batch_size(self) -> int:
        return 512


class ClipTask:
    """Clip classification from a video dataset (decoded with seeking, sampled per clip)."""

    name = "clip"

    def __init__(self, cfg: TrainConfig) -> None:
        from ..data.video import read_videos

        self.cfg = cfg
        if not cfg.data.path:
            raise ValueError("no dataset given: pass --data ROOT (a video folder, UCF-101/HMDB51/Diving48 root "
                             "or a CSV; see `actkit synth actions`)")
        self.table = read_videos(cfg.data.path, format=cfg.data.format, split=cfg.data.split_index)
        self.class_names = list(self.table.class_names)
        splits = np.asarray(self.table.splits, dtype=object)
        if not np.any(splits == "train"):
            raise ValueError(f"{cfg.data.path}: no videos in the train split")
        if not np.any(splits == "val"):
            log.warning("%s has no val split: holding out 10%% of train groups for validation", cfg.data.path)
            self.table = self.table.with_splits(carve_val(splits, np.asarray(self.table.class_ids),
                                                          np.asarray(self.table.groups), cfg.run.seed))
        self.skipped: list[dict[str, str]] = [{"path": str(p), "reason": r} for p, r in self.table.skipped]

    def model_overrides(self) -> dict[str, Any]:
        m = self.cfg.model
        o: dict[str, Any] = {}
        if m.input_size:
            if len(m.input_size) != 2:
                raise ValueError(f"model.input_size must be H,W, got {m.input_size}")
            o["input_size"] = tuple(int(v) for v in m.input_size)
        if m.num_frames:
            o["num_frames"] = int(m.num_frames)
        if m.pretrained:
            o["pretrained"] = m.pretrained
        if m.head:
            o["head"] = m.head
        if m.head == "factorised":
            parts = self.table.label_parts
            if not parts:
                raise ValueError(f"{self.cfg.data.path}: head 'factorised' needs multi-part labels "
                                 "(e.g. a Diving48 vocab); this dataset has plain labels")
            o["label_parts"] = [list(p) for p in parts]
        return o

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.video import ClipDataset, ClipTransform, FrameCache, make_sampler

        d, out = self.cfg.data, {}
        cache = FrameCache.for_run(self.cfg.run.out, data_cfg) if d.cache else None
        for s in SPLITS:
            sub = self.table.select(s)
            if len(sub) == 0:
                continue
            train = s == "train"
            sampler = (make_sampler(d.sampler, data_cfg.num_frames, stride=d.frame_stride) if train
                       else make_sampler("dense", data_cfg.num_frames, clips=d.eval_clips))
            transform = ClipTransform(data_cfg, train=train, hflip=d.hflip and train,
                                      colour_jitter=d.colour_jitter if train else 0.0)
            ds = ClipDataset(sub, data_cfg, sampler, transform, seed=seed, cache=cache,
                             clips_per_video=1 if train else d.eval_clips)
            self.skipped += [{"path": str(p), "reason": r} for p, r in ds.validate()]
            out[s] = ds
        return out

    def train_counts(self) -> np.ndarray:
        ids = np.asarray(self.table.select("train").class_ids)
        return np.bincount(ids, minlength=len(self.class_names))

    @property
    def eval_batch_size(self) -> int:
        return max(1, self.cfg.data.batch_size)


def make_task(cfg: TrainConfig) -> CropTask | ClipTask:
    """The task object for ``cfg.task``."""
    tasks = {"crop": CropTask, "clip": ClipTask}
    if cfg.task not in tasks:
        raise ValueError(f"unknown task {cfg.task!r}; known: {sorted(tasks)}")
    return tasks[cfg.task](cfg)
