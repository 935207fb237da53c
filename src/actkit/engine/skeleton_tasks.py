"""The keypoint tasks: skeleton classifiers on keypoint sequences (``skeleton``), one pose per sample
(``keypoints``), and causal skeleton models trained per frame on keypoint streams / reps sets."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..models._base import DataConfig
from ..data.schema import SPLITS
from ..data.splits import carve_val

log = logging.getLogger(__name__)


class SkeletonTask:
    """Action classification from keypoint sequences (a Parquet with ``label`` and ``split`` columns; ``group``
    keeps sequences of one source together when val is carved from train)."""

    name = "skeleton"
    per_frame = False
    allows_unseen_classes = False

    def __init__(self, cfg: TrainConfig) -> None:
        from ..data.keypoint_sequences import load_sequences

        self.cfg = cfg
        if not cfg.data.path:
            raise ValueError("no dataset given: pass --data KEYPOINTS.parquet (see `actkit synth skeletons`)")
        rows = load_sequences(cfg.data.path)
        missing = [k for k in ("label", "split") if rows and k not in rows[0]]
        if not rows or missing:
            raise ValueError(f"{cfg.data.path}: keypoint sequences need label and split columns "
                             f"({'no rows' if not rows else 'missing ' + ', '.join(missing)})")
        names = [str(r["label"]) for r in rows]
        if cfg.data.positive:  # the binary view: <positive> (id 1) vs not_<positive> (id 0), as crop tables do
            if cfg.data.positive not in names:
                raise ValueError(f"{cfg.data.positive!r} is not a label of {cfg.data.path} "
                                 f"(labels: {sorted(set(names))})")
            names = [n if n == cfg.data.positive else f"not_{cfg.data.positive}" for n in names]
            self.class_names = [f"not_{cfg.data.positive}", cfg.data.positive]
        else:
            self.class_names = sorted(set(names))
        self.sequences = [r["keypoints"][:, 0] for r in rows]  # the first person of each
        self.labels = np.array([self.class_names.index(n) for n in names], np.int64)
        self.splits = np.array([r["split"] for r in rows], dtype=object)
        self.groups = np.array([r.get("group") or r["source"] for r in rows], dtype=object)
        if not np.any(self.splits == "train"):
            raise ValueError(f"{cfg.data.path}: no sequences in the train split")
        if not np.any(self.splits == "val"):
            log.warning("%s has no val split: holding out 10%% of train groups for validation", cfg.data.path)
            self.splits = carve_val(self.splits, np.array(names), self.groups, cfg.run.seed)
        self.skipped: list[dict[str, str]] = []

    def model_overrides(self) -> dict[str, Any]:
        return {"num_frames": int(self.cfg.model.num_frames)} if self.cfg.model.num_frames else {}

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.skeleton_inputs import SkeletonAugment
        from ..models import model_entry
        from .data import SkeletonDataset

        causal = model_entry(self.cfg.model.name).family == "skeleton_stream"  # normalised live from the past only
        out = {}
        for s in SPLITS:
            idx = np.flatnonzero(self.splits == s)
            if len(idx):
                out[s] = SkeletonDataset([self.sequences[i] for i in idx], self.labels[idx], data_cfg.num_frames,
                                         SkeletonAugment(mirror=0.5 if self.cfg.data.hflip else 0.0)
                                         if s == "train" else None, seed, causal)
        return out

    def train_counts(self) -> np.ndarray:
        return np.bincount(self.labels[self.splits == "train"], minlength=len(self.class_names))

    @property
    def eval_batch_size(self) -> int:
        return 256


class KeypointTask(SkeletonTask):
    """One pose per sample (``--task keypoints``): every frame with a body of every sequence of a keypoint Parquet
    is a sample of its sequence's label (a posture needs no time), for a skeleton model one frame long; the
    frames of a sequence stay in one split."""

    name = "keypoints"

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        seqs, labels, splits, groups = [], [], [], []
        for seq, y, split, group in zip(self.sequences, self.labels, self.splits, self.groups):
            for frame in seq[np.isfinite(seq).all(axis=(1, 2))]:
                seqs.append(frame[None])
                labels.append(y)
                splits.append(split)
                groups.append(group)
        if not seqs:
            raise ValueError(f"{cfg.data.path}: no frame with a body")
        self.sequences, self.labels = seqs, np.asarray(labels, np.int64)
        self.splits, self.groups = np.asarray(splits, dtype=object), np.asarray(groups, dtype=object)

    def model_overrides(self) -> dict[str, Any]:
        return {"num_frames": 1}


class SkeletonStreamTask:
    """Causal skeleton models trained per frame on a keypoint streams or reps set (``actkit synth skeletons --set
    streams|reps``): each person's whole video normalised as live
    (:func:`~actkit.data.skeleton_inputs.causal_input`), windows of ``num_frames`` frames with their tags or
    labels (``data.target``)."""

    name = "skeleton"
    per_frame = True
    allows_unseen_classes = False

    def __init__(self, cfg: TrainConfig) -> None:
        from ..data.keypoint_sequences import load_sequences
        from ..data.skeleton_inputs import causal_input
        from ..data.video.framelabels import read_labelled_videos
        from ..data.vocab import full_vocabulary

        self.cfg, self.skipped = cfg, []
        target = cfg.data.target
        if target not in ("tags", "labels"):
            raise ValueError(f"unknown frame target {target!r}; known: tags, labels")
        people = []
        for v in read_labelled_videos(cfg.data.path)[1]:
            if v.keypoints is None:
                self.skipped.append({"path": str(v.label_file), "reason": "no keypoints file"})
                continue
            kp = load_sequences(v.keypoints)[0]["keypoints"]
            for k, person in enumerate(v.people[:kp.shape[1]]):
                people.append((v.split, causal_input(kp[:, k]), person.tags if target == "tags" else person.labels))
        seen = {n for split, _, names in people if split == "train" for n in names}
        self.class_names = [n for n in full_vocabulary(target) if n in seen]
        if not self.class_names:
            raise ValueError(f"{cfg.data.path}: no training videos with keypoints")
        self.people = [(split, x, np.array([self.class_names.index(n) if n in seen else -100 for n in names], np.int64))
                       for split, x, names in people]
        if not any(split == "val" for split, _, _ in self.people):
            raise ValueError(f"{cfg.data.path}: no videos in the val split (write more videos)")

    def model_overrides(self) -> dict[str, Any]:
        return {"num_frames": int(self.cfg.model.num_frames)} if self.cfg.model.num_frames else {}

    def datasets(self, data_cfg: DataConfig, seed: int) -> dict[str, torch.utils.data.Dataset]:
        from ..data.skeleton_inputs import SkeletonAugment
        from .data import SkeletonFrameDataset

        out = {}
        for s in SPLITS:
            mine = [(x, y) for split, x, y in self.people if split == s]
            if mine:
                aug = SkeletonAugment(mirror=0.5 if self.cfg.data.hflip else 0.0) if s == "train" else None
                out[s] = SkeletonFrameDataset([x for x, _ in mine], [y for _, y in mine], data_cfg.num_frames, aug,
                                              seed, self.cfg.data.warmup_frames)
        return out

    def train_counts(self) -> np.ndarray:
        y = np.concatenate([y for split, _, y in self.people if split == "train"])
        return np.bincount(y[y >= 0], minlength=len(self.class_names))

    @property
    def eval_batch_size(self) -> int:
        return 64
