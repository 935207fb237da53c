"""Videos labelled frame by frame, for training streaming models with a target on every frame.

Streaming models (:mod:`actkit.models.stream_tsm`) predict on every frame, so they train best
with a label on every frame too, as the reference engine does ("one tag per model output step").
This module reads the two frame-labelled layouts the synthetic suite writes and samples
windows of consecutive frames with their per-frame targets:

* **streams** (``actkit synth streams``): ``labels/<name>.json`` with ``people``, each with
  per-frame ``labels``, ``tags`` and ``boxes``; the video is ``videos/<name>.mp4``;
* **reps** (``actkit synth reps``): ``labels/<exercise>/<stem>.json`` with per-frame ``tags``
  and ``boxes``; the video is ``videos/<exercise>/<stem>.mp4``.

``target="tags"`` trains on the tags (an exercise set becomes ``<exercise>_high`` /
``<exercise>_low`` frames, so a repetition counter can run on the outputs); ``target="labels"``
on the plain labels (a reps video: the exercise over its repetitions, ``idle`` outside). Class names follow the synthetic vocabulary's order,
restricted to the names that occur in the data.

Each (video, person) pair is a sample source. A video with one person is seen whole, as the
live pipeline sees a frame without tracking; with several people, each person's box (enlarged
by 10 %, as the live pipeline crops a track) is cut out of every frame. Preprocessing is
:func:`actkit.streaming.runners.stream_input`'s exactly (letterbox with black bars, colour
conversion, normalisation), with training augmentation drawn once per window (framing jitter,
flip, colour jitter), so the model trains on what it will see live.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...models._base import DataConfig
from ..transforms import check_hue_jitter, normalise_u8
from ..vocab import full_vocabulary, tag_to_label  # noqa: F401 - re-exported
from .cache import FrameCache
from .decode import VideoDecodeError, VideoReader
from .table import VIDEO_EXTS, inside
from .transforms import aspect_draw, blur_draw, check_blur_aspect, clip_colour_jitter_u8

logger = logging.getLogger(__name__)

TARGETS = ("tags", "labels")
IGNORE = -100  # target of frames that do not count in the loss (torch's default ignore_index)
MARGIN = 0.1  # person boxes are enlarged by this fraction, as the live pipeline's track crops


@dataclass
class LabelledVideo:
    """One person's per-frame truth in one video."""

    path: str
    label_file: str
    split: str
    fps: float
    names: list[str]  # per frame, in the chosen target vocabulary
    boxes: list | None  # per frame [x0, y0, x1, y1] or None; None for the whole list: use the whole frame
    person: int = 0
    group: str = ""

    @property
    def frames(self) -> int:
        return len(self.names)


@dataclass
class FrameLabelTable:
    """The videos of a frame-labelled set and its class names."""

    root: str
    target: str
    videos: list[LabelledVideo]
    class_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def split(self, name: str) -> list[LabelledVideo]:
        return [v for v in self.videos if v.split == name]

    def frame_counts(self, split: str = "train") -> np.ndarray:
        """Frames per class in ``split`` (for class weights)."""
        index = {n: i for i, n in enumerate(self.class_names)}
        counts = np.zeros(len(self.class_names), np.int64)
        for v in self.split(split):
            for n in v.names:
                if n in index:
                    counts[index[n]] += 1
        return counts


def stream_layout(root: str | os.PathLike) -> str | None:
    """``"streams"`` (``labels/*.json`` with ``people``) or ``"reps"`` (``labels/<exercise>/*.json`` with
    ``rep_boundaries``), else None."""
    labels = Path(root) / "labels"
    if not labels.is_dir():
        return None
    for layout, pattern, key in (("streams", "*.json", "people"), ("reps", "*/*.json", "rep_boundaries")):
        first = next(labels.glob(pattern), None)
        if first is not None:
            # Other formats keep per-video JSON in labels/ too (the dives' Diving48 layout): a label file
            # that reads as a dict without this layout's key is not ours. One that does not read at all
            # still is, so its reader names the broken file.
            try:
                d = json.loads(first.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return layout
            if not isinstance(d, dict):
                return layout
            ours = key in d or (layout == "streams" and "fps" in d and ("labels" in d or "segments" in d))
            return layout if ours else None
    return None


def is_frame_labelled(root: str | os.PathLike) -> bool:
    """Whether ``root`` looks like a streams or reps folder (``labels/`` JSON beside ``videos/``)."""
    return (Path(root) / "videos").is_dir() and stream_layout(root) is not None


def is_keypoint_set(root: str | os.PathLike) -> bool:
    """Whether ``root`` is a keypoint streams or reps set (``labels/`` JSON beside ``keypoints/``,
    ``actkit synth skeletons --set streams|reps``)."""
    return (Path(root) / "keypoints").is_dir() and stream_layout(root) is not None


@dataclass
class Person:
    """One person's truth: per-frame ``labels``, ``tags`` and ``boxes``, and ``segments`` (dicts)."""

    track_id: int
    labels: list[str]
    tags: list[str]
    boxes: list
    segments: list[dict]


@dataclass
class Video:
    """One labelled video of a streams or reps folder; ``rep_spans`` are ``(start, end, exercise,
    true count)``, frames inclusive."""

    name: str
    path: Path
    label_file: Path
    fps: float
    frames: int
    split: str
    people: list[Person]
    rep_spans: list[tuple[int, int, str, int]] = field(default_factory=list)
    keypoints: Path | None = None  # a keypoint set's sequence file, in place of the video


def segments_of(labels: Sequence[str]) -> list[dict]:
    """Runs of equal labels as segments ``{"label", "kind", "start", "end"}`` (frames inclusive; kind ``idle``,
    ``transition`` or ``action``)."""
    out: list[dict] = []
    for t, name in enumerate(labels):
        if out and out[-1]["label"] == name:
            out[-1]["end"] = t
        else:
            out.append({"label": name, "kind": name if name in ("idle", "transition") else "action", "start": t, "end": t})
    return out


def labels_of_segments(segments: Sequence[dict], frames: int, fill: str = "idle") -> list[str]:
    """Per-frame labels from segments (frames inclusive, clipped to the video); frames no segment covers are ``fill``."""
    labels = [fill] * frames
    for s in segments:
        a, b = max(0, int(s["start"])), min(frames - 1, int(s["end"]))
        labels[a:b + 1] = [str(s["label"])] * max(0, b - a + 1)
    return labels


def _person(p: dict, frames: int | None, track_id: int) -> Person:
    """One person of a label file: the synthetic sets' full record, or what a person labelling their own video
    writes (per-frame ``labels``, or ``segments`` with ``frames`` at the top level)."""
    if "labels" in p:
        labels = [str(x) for x in p["labels"]]
    elif "segments" in p and frames is not None:
        labels = labels_of_segments(p["segments"], frames)
    else:
        raise KeyError("labels (one per frame) or segments")
    if "labels" in p and "segments" in p:  # the synthetic sets: segments that tile the video already
        segments = p["segments"]
    else:  # runs of labels, keeping what a labelled span says of itself (an exercise's kind and count)
        given = {(int(g["start"]), int(g["end"])): g for g in p.get("segments", [])}
        segments = [{**s, **{k: v for k, v in given.get((s["start"], s["end"]), {}).items() if k in ("kind", "count")}}
                    for s in segments_of(labels)]
    return Person(int(p.get("track_id", track_id)), labels, list(p.get("tags") or labels),
                  p.get("boxes") or [None] * len(labels), segments)


def _streams_video(path: Path, d: dict) -> Video:
    frames = int(d["frames"]) if "frames" in d else None
    people = [_person(p, frames, k + 1) for k, p in enumerate(d["people"] if "people" in d else [d])]
    frames = frames if frames is not None else len(people[0].labels)
    if any(len(p.labels) != frames for p in people):
        raise ValueError(f"labels of {[len(p.labels) for p in people]} frames for a video of {frames}")
    spans = [(s["start"], s["end"], s["label"], int(s["count"])) for s in people[0].segments
             if s.get("kind") == "exercise" and "count" in s] if len(people) == 1 else []
    return Video(str(d.get("name", path.stem)), _video_file(path.parent.parent / "videos", path.stem), path,
                 float(d["fps"]), frames, str(d.get("split", "test")), people, spans)


def _video_file(folder: Path, stem: str) -> Path:
    """``folder/<stem>.mp4``, or the first other video suffix that exists (a user's own clips)."""
    for suffix in (".mp4", *sorted(VIDEO_EXTS - {".mp4"})):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return folder / f"{stem}.mp4"


def _reps_video(path: Path, d: dict) -> Video:
    """A reps video as one person labelled with the exercise from the first frame of its first rep to
    the last frame of its last rep (as a streams exercise segment is), ``idle`` outside."""
    ex, n, bounds = d["exercise"], int(d["frames"]), d["rep_boundaries"]
    lo, hi = (bounds[0][0], bounds[-1][1]) if bounds else (n, n - 1)
    labels = ["idle"] * lo + [ex] * (hi - lo + 1) + ["idle"] * (n - 1 - hi)
    segs = [{"label": "idle", "kind": "idle", "start": 0, "end": lo - 1}] if lo > 0 else []
    if bounds:
        segs.append({"label": ex, "kind": "exercise", "start": lo, "end": hi, "count": int(d["count"])})
    if hi < n - 1:
        segs.append({"label": "idle", "kind": "idle", "start": hi + 1, "end": n - 1})
    person = Person(1, labels, d["tags"], d.get("boxes") or [None] * n, segs)
    video = path.parent.parent.parent / "videos" / ex / f"{path.stem}.mp4"
    return Video(path.stem, video, path, float(d["fps"]), n, str(d["split"]), [person], [(0, n - 1, ex, int(d["count"]))])


def read_labelled_videos(root: str | os.PathLike, skipped: list[tuple[str, str]] | None = None
                         ) -> tuple[str, list[Video]]:
    """The layout (``streams`` or ``reps``) and every labelled video of a folder, sorted by label file;
    the one reader of both layouts (training and evaluation build on it). Videos may be missing on disk:
    callers decide (training skips them, evaluation refuses). A label file whose video would lie outside
    ``root`` (a name with ``..`` or ``/``, a symlink) is left out: added to ``skipped`` with the reason, or
    logged when no list is given.

    Raises:
        ValueError: no label files, or a label file that is not valid (named).
    """
    root = Path(root)
    layout = stream_layout(root)
    if layout is None:
        raise ValueError(f"{root}: no labels/*.json (streams) or labels/<exercise>/*.json (reps), "
                         "as written by `actkit synth streams` or `actkit synth reps`")
    videos = []
    for lf in sorted((root / "labels").glob("*.json" if layout == "streams" else "*/*.json")):
        try:
            d = json.loads(lf.read_text(encoding="utf-8"))
            v = _streams_video(lf, d) if layout == "streams" else _reps_video(lf, d)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            raise ValueError(f"{lf}: not a {layout} label file ({type(e).__name__}: {e})") from e
        kp = root / "keypoints" / v.path.relative_to(root / "videos").with_suffix(".parquet") \
            if inside(v.path, root / "videos") else None
        if kp is not None and kp.is_file():
            v.keypoints = kp
        if not inside(v.path, root / "videos"):
            reason = f"its video {v.path} lies outside {root / 'videos'}"
            if skipped is None:
                logger.warning("%s: skipped: %s", lf, reason)
            else:
                skipped.append((str(lf), reason))
            continue
        videos.append(v)
    return layout, videos


def read_frame_labels(root: str | os.PathLike, target: str = "tags") -> FrameLabelTable:
    """Read a streams or reps folder for training: one sample source per (video, person).

    Args:
        root: the folder (``videos/`` + ``labels/``).
        target: ``tags`` or ``labels`` (see the module docstring).

    Raises:
        ValueError: unknown target, no label files, or a label file that is not valid (named).

    Returns:
        The table; label files whose video is missing are listed in ``skipped``.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown frame target {target!r}; known: {', '.join(TARGETS)}")
    root = Path(root)
    if not is_frame_labelled(root):
        raise ValueError(f"{root}: not a frame-labelled set (needs videos/ and labels/*.json, "
                         "as written by `actkit synth streams` or `actkit synth reps`)")
    videos, skipped = [], []
    for v in read_labelled_videos(root, skipped)[1]:
        if not v.path.is_file():
            skipped.append((str(v.path), f"missing video for {v.label_file}"))
            continue
        single = len(v.people) == 1
        for k, person in enumerate(v.people):
            names = person.tags if target == "tags" else person.labels
            videos.append(LabelledVideo(str(v.path), str(v.label_file), v.split, v.fps, list(names),
                                        None if single else person.boxes, k,
                                        str(v.path.relative_to(root / "videos"))))
    if not videos:
        raise ValueError(f"{root}: no readable label files with videos ({len(skipped)} skipped)")
    vocab = full_vocabulary(target)
    seen = {n for v in videos for n in v.names}
    unknown = sorted(seen - set(vocab))
    if unknown:
        raise ValueError(f"{root}: unknown frame labels {unknown[:10]} (known: {vocab})")
    return FrameLabelTable(str(root), target, videos, [n for n in vocab if n in seen], skipped)


def _fill_boxes(boxes: list | None, n: int, width: int, height: int) -> np.ndarray:
    """(n, 4) boxes: missing (hidden) frames reuse the nearest earlier box, else the next one, else the frame."""
    out = np.tile(np.array([0, 0, width, height], np.float32), (n, 1))
    if boxes is None:
        return out
    last = None
    known = [i for i, b in enumerate(boxes[:n]) if b is not None]
    for i in range(n):
        b = boxes[i] if i < len(boxes) else None
        if b is not None:
            last = np.asarray(b, np.float32)
        elif last is None and known:
            last = np.asarray(boxes[known[0]], np.float32)
        if last is not None:
            out[i] = last
    return out


class FrameWindowDataset(torch.utils.data.Dataset):
    """Windows of ``T`` consecutive frames (at the model's frame rate) with a target per frame.

    Args:
        videos: the (video, person) sources (one split).
        class_names: class order of the targets.
        data_cfg: the model's preprocessing; ``num_frames`` is the window length and ``fps`` the
            rate the model runs at (frames are skipped when the video is faster).
        train: random windows with augmentation (``len`` = about one pass over the frames per
            epoch); otherwise windows tiling every video, deterministic.
        seed: base seed of the per-(seed, epoch, index) draws.
        cache: optional :class:`FrameCache` (decode every video once).
        warmup: training only: the first ``warmup`` frames of a window get no loss (they have
            seen too little history to be judged).
        hflip, colour_jitter, hue_jitter, framing: augmentation (flip, colour strength, hue turn as a
            fraction of a full turn, framing jitter as a
            fraction of the frame/box size: random zoom-in and shift).
        speed_jitter: training windows play at a random speed: the frame step is a factor drawn in
            ``[1 - x, 1 + x]``, rounded per frame. Unlike the clip task's random window, a factor
            below 1 repeats some frames (slow motion; the model runs at stride 1). Each frame keeps
            its own label.
        blur: Gaussian blur of half the training windows, sigma drawn in ``[0.2, blur]`` model-input pixels.
        aspect: stretch or squeeze the width of every frame of a training window by a factor drawn
            log-uniformly in ``[1 / (1 + aspect), 1 + aspect]`` before the letterbox.

    The augmentations added later (speed, aspect, blur) draw from the window's generator only when
    they are on, so a run without them draws exactly what it drew before.
    """

    def __init__(self, videos: Sequence[LabelledVideo], class_names: Sequence[str], data_cfg: DataConfig,
                 train: bool, seed: int = 0, cache: FrameCache | None = None, warmup: int = 0,
                 hflip: bool = True, colour_jitter: float = 0.2, framing: float = 0.1, hue_jitter: float = 0.0,
                 speed_jitter: float = 0.0, blur: float = 0.0, aspect: float = 0.0) -> None:
        if not videos:
            raise ValueError("no videos for this split")
        if data_cfg.num_frames < 2:
            raise ValueError(f"windows need num_frames >= 2, got {data_cfg.num_frames}")
        self.videos, self.data_cfg, self.train = list(videos), data_cfg, bool(train)
        self.class_names = list(class_names)
        self.index = {n: i for i, n in enumerate(self.class_names)}
        self.seed, self.cache, self.warmup = int(seed), cache, int(warmup)
        self.hflip, self.colour_jitter, self.framing = hflip, float(colour_jitter), float(framing)
        self.hue_jitter = check_hue_jitter(hue_jitter)
        if not 0.0 <= speed_jitter < 1.0:
            raise ValueError(f"speed_jitter must be in [0, 1), got {speed_jitter}")
        check_blur_aspect(blur, aspect)
        self.speed_jitter, self.blur, self.aspect = float(speed_jitter), float(blur), float(aspect)
        self.T = int(data_cfg.num_frames)
        self.epoch = 0
        self.steps = [max(1, round(v.fps / data_cfg.fps)) if data_cfg.fps else 1 for v in self.videos]
        self.lengths = np.array([len(range(0, v.frames, s)) for v, s in zip(self.videos, self.steps)])
        if self.train:
            self.windows: list[tuple[int, int]] = []
            self._len = max(1, int(self.lengths.sum()) // self.T)
        else:
            self.windows = []
            for v, n in enumerate(self.lengths):
                starts = list(range(0, max(1, n - self.T + 1), self.T))
                if n > self.T and starts[-1] + self.T < n:
                    starts.append(n - self.T)
                self.windows += [(v, s) for s in starts]
            self._len = len(self.windows)
        self.skipped: list[tuple[str, str]] = []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self._len

    def _frames(self, v: LabelledVideo, idx: np.ndarray) -> np.ndarray:
        if self.cache is not None:
            return np.asarray(self.cache.load(v.path)[idx])
        with VideoReader(v.path) as r:
            return r.get_frames(idx)

    def prepare(self, frames: np.ndarray, boxes: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """uint8 (T, H, W, 3) frames + (T, 4) boxes -> float32 (C, T, H, W); equals ``stream_input``
        frame by frame when ``rng`` is None (tested)."""
        from ..transforms import crop_resize, letterbox

        cfg = self.data_cfg
        h, w = frames.shape[1:3]
        zoom, dx, dy = 1.0, 0.0, 0.0
        if rng is not None and self.framing > 0:
            zoom = 1.0 - rng.uniform(0, self.framing)
            dx, dy = rng.uniform(-self.framing, self.framing, 2) / 2
        stretch = aspect_draw(rng, self.aspect) if rng is not None and self.aspect > 0 else 1.0
        out = np.empty((len(frames), *cfg.input_size, 3), np.uint8)
        for t, (img, box) in enumerate(zip(frames, boxes)):
            x0, y0, x1, y1 = (float(b) for b in box)
            whole = x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h
            if not whole:  # a person: the live pipeline's enlarged track box
                mx, my = (x1 - x0) * MARGIN / 2, (y1 - y0) * MARGIN / 2
                x0, y0, x1, y1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
            if zoom != 1.0 or dx or dy:
                bw, bh = (x1 - x0) * zoom, (y1 - y0) * zoom
                cx, cy = (x0 + x1) / 2 + dx * (x1 - x0), (y0 + y1) / 2 + dy * (y1 - y0)
                x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
                whole = False
            if not whole:
                img = crop_resize(img, np.array([x0, y0, x1, y1]),
                                  (max(1, round(y1 - y0)), max(1, round((x1 - x0) * stretch))))
            elif stretch != 1.0:
                img = crop_resize(img, None, (h, max(1, round(w * stretch))))
            out[t] = letterbox(img, cfg.input_size, value=0)[0]
        sigma = blur_draw(rng, self.blur) if rng is not None else 0.0
        if sigma > 0:
            import cv2

            for t in range(len(out)):
                cv2.GaussianBlur(out[t], (0, 0), sigma, dst=out[t])
        if rng is not None:
            if self.colour_jitter > 0 or self.hue_jitter > 0:
                clip_colour_jitter_u8(out, rng, self.colour_jitter, self.hue_jitter)
            if self.hflip and rng.random() < 0.5:
                out = out[:, :, ::-1]
        return normalise_u8(out, cfg)

    def _window(self, i: int, rng: np.random.Generator | None) -> tuple[int, int]:
        if not self.train:
            return self.windows[i]
        v = int(rng.choice(len(self.videos), p=self.lengths / self.lengths.sum()))
        return v, int(rng.integers(0, max(1, self.lengths[v] - self.T + 1)))

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range [0, {len(self)})")
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        for attempt in range(len(self.videos)):
            v, start = self._window(i, rng)
            if not self.train and attempt:
                v = (v + attempt) % len(self.videos)
                start = 0
            rec = self.videos[v]
            step = self.steps[v]
            pos = start + np.arange(self.T)
            if self.train and self.speed_jitter > 0:  # the window's frames at a random playback speed
                pos = start + np.round(np.arange(self.T) * rng.uniform(1 - self.speed_jitter,
                                                                        1 + self.speed_jitter)).astype(int)
            valid = pos < self.lengths[v]
            idx = np.minimum(pos, self.lengths[v] - 1) * step
            try:
                frames = self._frames(rec, idx)
            except (VideoDecodeError, IndexError) as e:
                if rec.path not in dict(self.skipped):
                    logger.warning("skipping unreadable video %s: %s", rec.path, e)
                    self.skipped.append((rec.path, str(e)))
                continue
            boxes = _fill_boxes(rec.boxes, rec.frames, frames.shape[2], frames.shape[1])[idx]
            x = self.prepare(frames, boxes, rng)
            y = np.array([self.index.get(rec.names[j], IGNORE) for j in idx], np.int64)  # unknown: not scored
            y[~valid] = IGNORE  # a video shorter than the window: its last frame repeated, not scored
            if self.train and self.warmup:
                y[: self.warmup] = IGNORE
            return {"input": torch.from_numpy(x), "label": torch.from_numpy(y), "index": int(i)}
        raise RuntimeError(f"no video could be read; skipped: {self.skipped[:3]}")


__all__ = ["FrameLabelTable", "FrameWindowDataset", "IGNORE", "LabelledVideo", "TARGETS", "full_vocabulary",
           "is_frame_labelled", "read_frame_labels", "stream_layout", "tag_to_label"]
