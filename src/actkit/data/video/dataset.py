"""``ClipDataset``: a torch Dataset of clips over a :class:`~actkit.data.video.table.VideoTable`.

Samples are dicts with fixed keys::

    {"input": float32 tensor (C, T, H, W), "label": int, "index": int, "video": int}

``index`` is the sample index, ``video`` the table row the clip came from: with
``clips_per_video=K`` sample ``i`` is clip ``i % K`` of video ``i // K``, so the scores of a
video's clips can be averaged for video-level accuracy. With ``flip_views`` (evaluation) each
video has ``2K`` samples: its ``K`` clips, then the same clips mirrored left-right.

Randomness for sample ``i`` in epoch ``e`` comes from ``default_rng([seed, e, i])`` (as
:class:`actkit.engine.data.CropDataset`), so a run is reproducible for any number of workers.

**Bad videos never stop a run.** :meth:`ClipDataset.validate` probes every file up front and
drops the unreadable ones. A video that still fails at read time is logged, listed in
:attr:`ClipDataset.skipped` and replaced by the next readable video (deterministically), and a
``skip_log`` file (JSON lines, appended by every DataLoader worker) lets the main process list
what the workers skipped.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from typing import Callable

import numpy as np
import torch

from ...models._base import DataConfig
from ...utils.progress import progress as progress_bar
from .cache import FrameCache
from .decode import VideoDecodeError, VideoReader
from .table import VideoRecord, VideoTable
from .samplers import make_sampler
from .transforms import ClipTransform

logger = logging.getLogger(__name__)


class ClipDataset(torch.utils.data.Dataset):
    """Clips of the videos in ``table``, transformed for a clip model.

    Args:
        table: the videos (one split of it, usually: ``table.split("train")``).
        data_cfg: the model's preprocessing; ``num_frames`` is the clip length.
        sampler: a sampler name (``uniform``, ``random_window``, ``dense``) or object (see
            :mod:`actkit.data.video.samplers`).
        transform: a :class:`ClipTransform`; default: evaluation (centre crop, no augmentation).
        seed: base seed of the per-(seed, epoch, index) random draws.
        cache: optional :class:`FrameCache` (decode each video once, then read arrays).
        clips_per_video: clips per video; sample ``i`` is clip ``i % K`` of video ``i // K``.
        flip_views: evaluation only: also every clip mirrored left-right (test-time flip), as
            samples ``K .. 2K-1`` of each video.
        random: draw frames and augmentation at random; default True exactly when ``transform``
            has augmentation (training), False gives deterministic evaluation clips.
        skip_log: JSON-lines file where skipped videos are appended (shared by workers);
            default: a fresh file name in the temp folder, created on the first skip.
    """

    def __init__(self, table: VideoTable, data_cfg: DataConfig,
                 sampler: str | Callable[..., np.ndarray] = "uniform", transform: ClipTransform | None = None,
                 seed: int = 0, cache: FrameCache | None = None, clips_per_video: int = 1,
                 random: bool | None = None, skip_log: str | os.PathLike | None = None,
                 flip_views: bool = False) -> None:
        if clips_per_video < 1:
            raise ValueError(f"clips_per_video must be >= 1, got {clips_per_video}")
        if data_cfg.num_frames < 1:
            raise ValueError(f"data_cfg.num_frames must be >= 1 for clips, got {data_cfg.num_frames}")
        if len(table) == 0:
            raise ValueError(f"video table {table.root!r} has no videos")
        self.table, self.data_cfg, self.seed, self.cache = table, data_cfg, int(seed), cache
        self.sampler = make_sampler(sampler, data_cfg.num_frames) if isinstance(sampler, str) else sampler
        self.transform = transform if transform is not None else ClipTransform(data_cfg)
        self.random = bool(getattr(self.transform, "aug", None) is not None) if random is None else bool(random)
        self.clips_per_video = int(clips_per_video)
        if flip_views and self.random:
            raise ValueError("flip_views is for evaluation; training flips at random (ClipAugment.hflip)")
        self.flip_views = bool(flip_views)
        self.views = self.clips_per_video * (2 if self.flip_views else 1)  # samples per video
        self.epoch = 0
        self.skip_log = str(skip_log) if skip_log is not None else os.path.join(
            tempfile.gettempdir(), f"actkit-skipped-{uuid.uuid4().hex[:12]}.jsonl")
        self._dropped: list[tuple[str, str]] = []  # by validate()
        self._bad: dict[str, str] = {}  # found at read time, in this process
        self._counts: dict[str, int] = {}  # frame counts already probed, in this process

    # ----------------------------------------------------------------------- bookkeeping

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws (call at the start of every epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.table) * self.views

    @property
    def num_classes(self) -> int:
        return len(self.table.class_names)

    @property
    def labels(self) -> np.ndarray:
        """Class id per sample (for samplers and class weights)."""
        return np.repeat(self.table.class_ids, self.views)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Every video left out: by the reader, by :meth:`validate`, and at read time in any worker."""
        out = list(self.table.skipped) + list(self._dropped) + list(self._bad.items())
        if os.path.isfile(self.skip_log):
            with open(self.skip_log, encoding="utf-8") as f:
                for line in f:
                    try:
                        d = json.loads(line)
                        out.append((d["path"], d["reason"]))
                    except (ValueError, KeyError):  # a line cut short by a killed worker
                        continue
        seen, unique = set(), []
        for p, r in out:
            if p not in seen:
                seen.add(p)
                unique.append((p, r))
        return unique

    def _report(self, path: str, reason: str) -> None:
        if path in self._bad:
            return
        self._bad[path] = reason
        logger.warning("skipping unreadable video %s: %s", path, reason)
        try:
            with open(self.skip_log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": path, "reason": reason}) + "\n")  # one short append: atomic
        except OSError as e:
            logger.warning("cannot write skip log %s: %s", self.skip_log, e)

    # ----------------------------------------------------------------------- validation

    def validate(self, decode_first: bool = True, progress: bool | None = None) -> list[tuple[str, str]]:
        """Probe every video cheaply (header, and the first frame) and drop those that fail.

        Args:
            decode_first: also decode frame 0 (catches files with a good header and bad data).
            progress: show a progress bar (default: when stderr is a terminal).

        Returns:
            ``(path, reason)`` of the videos dropped now (also added to :attr:`skipped`).
        """
        keep, dropped = [], []
        for i, rec in enumerate(progress_bar(self.table.records, desc="checking videos", unit="video",
                                             enable=progress)):
            try:
                with VideoReader(rec.path, num_frames=self._counts.get(rec.path)) as r:
                    if decode_first:
                        r.get_frames([0])
                    self._counts[rec.path] = r.num_frames
                keep.append(i)
            except VideoDecodeError as e:
                dropped.append((rec.path, str(e)))
        if dropped:
            logger.warning("validate: dropped %d of %d videos (first: %s)", len(dropped), len(self.table),
                           dropped[0][0])
            if not keep:
                raise ValueError(f"none of the {len(self.table)} videos of {self.table.root!r} can be read "
                                 f"(first: {dropped[0][0]}: {dropped[0][1]})")
            self.table = self.table.select(keep)
            self._dropped.extend(dropped)
        return dropped

    # ----------------------------------------------------------------------- reading

    def load_clip(self, video: int, clip: int = 0, rng: np.random.Generator | None = None) -> np.ndarray:
        """uint8 frames ``(T, H, W, 3)`` of clip ``clip`` of table row ``video``.

        Raises:
            VideoDecodeError: the video cannot be read.
        """
        rec: VideoRecord = self.table.records[video]
        if self.cache is not None:
            frames_all = self.cache.load(rec.path)
            n = len(frames_all)
            fps = 0.0
            if rec.start_sec is not None or rec.end_sec is not None:  # seconds need the frame rate
                with VideoReader(rec.path, num_frames=n) as probe:
                    fps = probe.fps
            reader = None
        else:
            reader = VideoReader(rec.path, num_frames=self._counts.get(rec.path))
            n, fps = reader.num_frames, reader.fps
            self._counts[rec.path] = n
        try:
            start, end = rec.frame_range(n, fps)
            idx = np.asarray(self.sampler(end - start, rng, clip, self.clips_per_video), np.int64)
            valid = idx >= 0
            wanted = idx[valid] + start
            if reader is not None:
                got = reader.get_frames(wanted)
            else:
                got = np.asarray(frames_all[wanted])
        finally:
            if reader is not None:
                reader.close()
        if valid.all():
            return got
        out = np.zeros((len(idx),) + got.shape[1:], np.uint8)  # black padding frames
        out[valid] = got
        return out

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range [0, {len(self)})")
        v0, view = divmod(i, self.views)
        clip, mirrored = view % self.clips_per_video, view >= self.clips_per_video
        n = len(self.table)
        for offset in range(n):
            v = (v0 + offset) % n
            rec = self.table.records[v]
            if rec.path in self._bad:
                continue
            # The draw depends on (seed, epoch, index, offset) only, not on what failed before
            # in this process, so every worker count gives the same substitute clip.
            key = [self.seed, self.epoch, i] + ([offset] if offset else [])
            rng = np.random.default_rng(key) if self.random else None
            try:
                frames = self.load_clip(v, clip, rng)
                x = self.transform(frames, rng)
                if mirrored:
                    x = np.ascontiguousarray(x[..., ::-1])
            except (VideoDecodeError, IndexError) as e:
                self._report(rec.path, str(e))
                continue
            return {"input": torch.from_numpy(x), "label": int(rec.class_id), "index": int(i), "video": int(v)}
        raise RuntimeError(f"no video of {self.table.root!r} could be read; see dataset.skipped "
                           f"({len(self._bad)} unreadable)")


def average_clips(scores, videos) -> tuple[np.ndarray, np.ndarray]:
    """Average clip scores per video (video-level evaluation with ``clips_per_video`` > 1).

    Args:
        scores: ``(N, K)`` per-clip probabilities (or logits), tensor or array.
        videos: ``(N,)`` the samples' ``"video"`` values.

    Returns:
        ``(video ids sorted, (V, K) mean scores)``.
    """
    scores = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64)
    videos = np.asarray(videos.cpu() if hasattr(videos, "cpu") else videos, dtype=np.int64)
    ids, inv = np.unique(videos, return_inverse=True)
    sums = np.zeros((len(ids), scores.shape[1]))
    np.add.at(sums, inv, scores)
    return ids, sums / np.bincount(inv)[:, None]


__all__ = ["ClipDataset", "average_clips"]
