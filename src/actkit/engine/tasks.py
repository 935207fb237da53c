"""What the trainer trains: the data side of each task, behind one small interface.

The trainer never special-cases a task. A task reads its dataset once, says which classes it
has and what the model builder needs to know about them (number of logits, label structure),
then builds one torch dataset per split for the model's own preprocessing (``data_cfg``).
Every dataset yields dicts with the keys ``input``, ``label`` and ``index``; clip datasets add
``video``, so several clips of one video can be averaged for video-level accuracy.

* ``crop``: a Parquet crop table (:mod:`actkit.data.crops`), images decoded once.
* ``image``: photos read in place (:mod:`actkit.data.images`: Stanford40 or folder-per-class), decoded per
  sample at the model's size (timm backbones: 224 px, timm's mean and std).
* ``skeleton``: keypoint sequences (:mod:`actkit.data.keypoint_sequences`: ``actkit synth skeletons`` or
  ``actkit keypoints --out kp.parquet`` with a ``label`` column), one person per sequence; or, given a keypoint
  streams / reps folder, per-frame targets for a causal skeleton model (``per_frame = True``).
* ``keypoints``: the same Parquet, one pose (frame) per sample, for a one-frame skeleton model.
* ``clip``: a video dataset (:mod:`actkit.data.video`): folder-per-class, UCF-101, HMDB51,
  Kinetics, Diving48 or a generic CSV, decoded with seeking and sampled per clip.
* ``stream``: a frame-labelled set (streams / reps, :mod:`actkit.data.video.framelabels`):
  windows of consecutive frames whose ``label`` is one class per frame (``per_frame = True``:
  the trainer then scores the model's per-frame outputs, ``forward_frames``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..data.crops import CropTable, read_crops_table
from ..data.schema import SPLITS
from ..data.splits import carve_val
from ..models._base import DataConfig
from .skeleton_tasks import KeypointTask, SkeletonStreamTask, SkeletonTask

log = logging.getLogger(__name__)


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


def frame_cache_dir(cfg: TrainConfig) -> Path:
    """The frame cache folder of a run: ``data.cache_dir`` or ``<run.out>/frame_cache``.

    Entries are keyed by the video's path, mtime, size and the cached size, so runs on one dataset
    (at any input size) can share a folder safely.
    """
    return Path(cfg.data.cache_dir).expanduser() if cfg.data.cache_dir else Path(cfg.run.out) / "frame_cache"


def video_overrides(cfg: TrainConfig) -> dict[str, Any]:
    """Model config fields that clip and stream runs may set: input size and frames per clip."""
    m = cfg.model
    o: dict[str, Any] = {}
    if m.input_size:
        if len(m.input_size) != 2:
            raise ValueError(f"model.input_size must be H,W, got {m.input_size}")
        o["input_size"] = tuple(int(v) for v in m.input_size)
    if m.num_frames:
        o["num_frames"] = int(m.num_frames)
    return o


class CropTask:
    """Crop classification from a Parquet crop table."""

    name = "crop"
    per_frame = False

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

    def dataset_class(self) -> type:
        """The torch dataset of one split (crops: decoded once and kept)."""
        from .data import CropDataset

        return CropDataset

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.transforms import CropAugment

        d, dataset = self.cfg.data, self.dataset_class()
        aug = CropAugment(d.box_jitter, d.scale_jitter, d.hflip, d.colour_jitter, d.hue_jitter)
        return {s: dataset(self.table.select(s), data_cfg, aug if s == "train" else None, seed)
                for s in SPLITS if np.any(self.table.splits == s)}

    def train_counts(self) -> np.ndarray:
        return self.table.select("train").class_counts()

    allows_unseen_classes = False

    @property
    def eval_batch_size(self) -> int:
        return 512


class ImageTask(CropTask):
    """Image classification from Stanford40 or a folder of class folders (the crop task's training, with
    images decoded per sample)."""

    name = "image"

    def __init__(self, cfg: TrainConfig) -> None:
        from ..data.images import read_images

        self.cfg = cfg
        if not cfg.data.path:
            raise ValueError("no dataset given: pass --data ROOT (Stanford40 root or <root>/<class>/*.jpg)")
        self.table = read_images(cfg.data.path, cfg.data.person_box, cfg.run.seed)
        if not np.any(self.table.splits == "val"):
            log.warning("%s has no val split: holding out 10%% of train images for validation", cfg.data.path)
            self.table.splits = carve_val(self.table.splits, self.table.labels, self.table.groups, cfg.run.seed)
        self.class_names = list(self.table.class_names)
        self.skipped = [{"path": p, "reason": r} for p, r in self.table.skipped]

    def model_overrides(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        if self.cfg.model.input_size:
            o["input_size"] = tuple(int(v) for v in self.cfg.model.input_size)
        if self.cfg.model.pretrained:
            o["pretrained"] = self.cfg.model.pretrained
        return o

    def dataset_class(self) -> type:
        """Photos are decoded when drawn (image sets are large)."""
        from .data import ImageDataset

        return ImageDataset

    @property
    def eval_batch_size(self) -> int:
        return 64


class ClipTask:
    """Clip classification from a video dataset (decoded with seeking, sampled per clip)."""

    name = "clip"
    per_frame = False

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
            new = carve_val(splits, self.table.class_ids, self.table.groups, cfg.run.seed)
            for rec, split in zip(self.table.records, new):
                rec.split = str(split)

    def model_overrides(self) -> dict[str, Any]:
        m = self.cfg.model
        o = video_overrides(self.cfg)
        if m.pretrained:
            o["pretrained"] = m.pretrained
        if m.head:
            o["head"] = m.head
        if m.head == "factorised":
            parts = self.label_parts()
            if parts is None:
                raise ValueError(f"{self.cfg.data.path}: head 'factorised' needs multi-part labels "
                                 "(e.g. a Diving48 vocab); this dataset has plain labels")
            o["label_parts"] = [list(p) for p in parts]
        return o

    def label_parts(self) -> list[tuple[str, ...]] | None:
        """Each class's label parts (e.g. a dive's 4-tuple), or None when the labels have no parts."""
        if self.table.class_parts is not None:
            return [tuple(p) for p in self.table.class_parts]
        parts: dict[int, tuple[str, ...]] = {}
        for r in self.table.records:
            if r.label_parts is None:
                return None
            parts[r.class_id] = tuple(r.label_parts)
        if len(parts) != len(self.class_names):
            missing = [n for i, n in enumerate(self.class_names) if i not in parts]
            raise ValueError(f"{self.cfg.data.path}: classes without videos, so without label parts: {missing}")
        return [parts[i] for i in range(len(self.class_names))]

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.video import (ClipAugment, ClipDataset, ClipTransform, FrameCache, eval_sampler, eval_views,
                                  make_sampler)

        d, out = self.cfg.data, {}
        # Training frames are cached at a short side a little above the crop, so the scale jitter still has
        # pixels. Val and test frames are cached as decoded: a shrunk copy resampled again to the model's
        # input is not what `actkit eval` and `actkit predict` read from the file (dives: 74.5 % there
        # against 76.6 % on the shrunk cache), and the trainer's test numbers must be the user's.
        cache = FrameCache(frame_cache_dir(self.cfg), short_side=int(min(data_cfg.input_size) * 1.3 + 0.5)) if d.cache else None
        eval_cache = FrameCache(frame_cache_dir(self.cfg), short_side=None) if d.cache else None
        skip_log = Path(self.cfg.run.out) / "skipped_videos.jsonl"
        for s in SPLITS:
            sub = self.table.split(s)
            if len(sub) == 0:
                continue
            train = s == "train"
            if train:
                opts = {"stride": d.frame_stride, "speed_jitter": d.speed_jitter} if d.sampler == "random_window" else {}
                if d.speed_jitter and d.sampler != "random_window":
                    raise ValueError(f"data.speed_jitter needs data.sampler random_window, not {d.sampler}")
                sampler = make_sampler(d.sampler, data_cfg.num_frames, **opts)
                transform = ClipTransform(data_cfg, ClipAugment(hflip=d.hflip, colour_jitter=d.colour_jitter, blur=d.blur,
                                                                  hue_jitter=d.hue_jitter, aspect=d.aspect_jitter))
            else:  # uniform views of the whole video after uniform training, else dense windows
                sampler = eval_sampler(eval_views(d.sampler, d.frame_stride), data_cfg.num_frames)
                transform = ClipTransform(data_cfg)
            ds = ClipDataset(sub, data_cfg, sampler, transform, seed=seed, cache=cache if train else eval_cache,
                             clips_per_video=1 if train else d.eval_clips, skip_log=skip_log,
                             flip_views=d.eval_flip and not train)
            ds.validate()
            out[s] = ds
        self._datasets = out
        return out

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Videos left out by the reader, the up-front probe or at read time (any split, any worker)."""
        seen: dict[str, str] = {str(p): r for p, r in self.table.skipped}
        for ds in getattr(self, "_datasets", {}).values():
            seen.update({str(p): r for p, r in ds.skipped})
        return [{"path": p, "reason": r} for p, r in seen.items()]

    def train_counts(self) -> np.ndarray:
        ids = self.table.split("train").class_ids
        return np.bincount(ids, minlength=len(self.class_names))

    @property
    def allows_unseen_classes(self) -> bool:
        """A factorised head can still predict a class with no training video, through its parts."""
        return self.cfg.model.head == "factorised"

    @property
    def eval_batch_size(self) -> int:
        return max(1, self.cfg.data.batch_size)


class StreamTask:
    """Streaming models trained with a target on every frame, from a streams or reps folder
    (:mod:`actkit.data.video.framelabels`): windows of ``num_frames`` consecutive frames."""

    name = "stream"
    per_frame = True
    allows_unseen_classes = False

    def __init__(self, cfg: TrainConfig) -> None:
        from ..data.video.framelabels import read_frame_labels

        self.cfg = cfg
        if not cfg.data.path:
            raise ValueError("no dataset given: pass --data DIR (a streams or reps folder; see `actkit synth streams`)")
        if cfg.data.mixup or cfg.data.cutmix or cfg.data.imbalance == "sampler":
            raise ValueError("task stream trains on per-frame targets: mixup, cutmix and the balanced sampler "
                             "do not apply (use imbalance: loss or none)")
        self.table = read_frame_labels(cfg.data.path, cfg.data.target)
        if not self.table.split("train"):
            raise ValueError(f"{cfg.data.path}: no videos in the train split")
        # A class no training frame shows cannot be learnt: its val/test frames are not scored.
        seen = {n for v in self.table.split("train") for n in v.names}
        unseen = [n for n in self.table.class_names if n not in seen]
        if unseen:
            log.warning("%s: classes with no training frames are left out (their frames are not scored): %s",
                        cfg.data.path, unseen)
        self.table.class_names = [n for n in self.table.class_names if n in seen]
        self.class_names = list(self.table.class_names)
        if not self.table.split("val"):
            raise ValueError(f"{cfg.data.path}: no videos in the val split (render more videos)")

    def model_overrides(self) -> dict[str, Any]:
        return video_overrides(self.cfg)

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.video import FrameCache
        from ..data.video.framelabels import FrameWindowDataset

        d = self.cfg.data
        cache = FrameCache(frame_cache_dir(self.cfg), short_side=None) if d.cache else None
        self._datasets = {
            s: FrameWindowDataset(self.table.split(s), self.class_names, data_cfg, train=s == "train", seed=seed,
                                  cache=cache, warmup=d.warmup_frames if s == "train" else 0, hflip=d.hflip,
                                  colour_jitter=d.colour_jitter, framing=d.box_jitter, hue_jitter=d.hue_jitter,
                                  speed_jitter=d.speed_jitter, blur=d.blur, aspect=d.aspect_jitter)
            for s in SPLITS if self.table.split(s)}
        return self._datasets

    @property
    def skipped(self) -> list[dict[str, str]]:
        seen = dict(self.table.skipped)
        for ds in getattr(self, "_datasets", {}).values():
            seen.update(dict(ds.skipped))
        return [{"path": p, "reason": r} for p, r in seen.items()]

    def train_counts(self) -> np.ndarray:
        return self.table.frame_counts("train")

    @property
    def eval_batch_size(self) -> int:
        return max(1, self.cfg.data.batch_size)


def model_kwargs(task: CropTask | ImageTask | SkeletonTask | ClipTask | StreamTask) -> dict[str, Any]:
    """Keyword arguments for ``create_model``: what the data and run config decide, then ``model.args``."""
    return {**task.model_overrides(), **task.cfg.model.args}


def make_task(cfg: TrainConfig) -> CropTask | ImageTask | SkeletonTask | ClipTask | StreamTask:
    """The task object for ``cfg.task``."""
    from ..data.video.framelabels import is_keypoint_set

    tasks = {"crop": CropTask, "image": ImageTask, "skeleton": SkeletonTask, "keypoints": KeypointTask, "clip": ClipTask,
             "stream": StreamTask}
    if cfg.task not in tasks:
        raise ValueError(f"unknown task {cfg.task!r}; known: {sorted(tasks)}")
    if cfg.task == "skeleton" and cfg.data.path and is_keypoint_set(cfg.data.path):
        return SkeletonStreamTask(cfg)  # per-frame targets of a keypoint streams / reps set
    return tasks[cfg.task](cfg)
