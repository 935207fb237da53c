"""One video of a frame-labelled set run through the live pipeline's objects, frame by frame.

:func:`replay_single` scores a one-person video on the whole frame (streaming, raw and offline labels, the
repetition counters of each exercise span); :func:`replay_multi` runs the live
:class:`~.step.FrameStep` (detector -> tracker -> runner per person) and scores identities and labels.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.video.framelabels import Video
from ..data.vocab import EXERCISES, VOCABULARY, tag_to_label

log = logging.getLogger(__name__)


class Unreadable(Exception):
    """A video that cannot be decoded, or decodes to fewer frames than labelled: skipped and listed."""


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames of a video, one at a time (:func:`~actkit.data.video.sources.iter_video`); a video that
    cannot be opened is :class:`Unreadable`."""
    from ..data.video.sources import iter_video

    try:
        for _, img in iter_video(path):
            yield img
    except (ValueError, OSError) as e:
        raise Unreadable(str(e)) from e


def frames_of(v: Video, runner: Any) -> Iterator[np.ndarray]:
    """What ``runner`` takes per frame: the video's RGB frames, or for a keypoint model given a keypoint set, the
    first person's keypoints (33, 4) per frame."""
    if getattr(runner, "inputs", "rgb") != "keypoints":
        return video_frames(v.path)
    if v.keypoints is None:
        raise Unreadable(f"no keypoints for {v.name} (a keypoint model on a set of videos runs behind a pose model)")
    from ..data.keypoint_sequences import load_sequences

    try:
        kp = load_sequences(v.keypoints)[0]["keypoints"]
    except (OSError, ValueError, KeyError, IndexError) as e:
        raise Unreadable(f"{v.keypoints}: {e}") from e
    return iter(kp[:, 0])


# --------------------------------------------------------------------------- model

def stream_runner(model: Any, device: str) -> Any:
    """A runner: anything with ``class_names``, ``__call__(rgb, boxes, keys)`` and ``forget`` is used as is."""
    from .runners import load_runner

    from .keypoint_runner import is_keypoint_model, keypoint_runner

    duck = not isinstance(model, (str, Path)) and callable(model) and hasattr(model, "class_names") \
        and hasattr(model, "forget") and not hasattr(model, "step")
    runner = model if duck else keypoint_runner(model) if is_keypoint_model(model) else load_runner(model, device)
    if getattr(runner, "kind", "stream") != "stream":
        raise ValueError(f"{model if isinstance(model, (str, Path)) else type(model).__name__}: a crop classifier, "
                         "not a streaming model (task 'stream')")
    return runner


@dataclass
class StreamClasses:
    """Class -> label mapping of a model: ``to_label`` (K, L) sums class probabilities per label."""

    names: list[str]
    labels: list[str]
    to_label: np.ndarray
    reps: dict[str, tuple[int, int]]  # exercise -> (class of <ex>_high, class of <ex>_low)

    @classmethod
    def of(cls, names: Sequence[str], model: str) -> "StreamClasses":

        names = list(names)
        if not names:
            raise ValueError(f"{model}: the model names no classes")
        # The synthetic vocabulary's order first, then any other labels (a user's own, a posture model's) as named.
        mine = list(dict.fromkeys(tag_to_label(n) for n in names))
        labels = [v for v in VOCABULARY if v in mine] + [n for n in mine if n not in VOCABULARY]
        m = np.zeros((len(names), len(labels)), np.float32)
        for k, n in enumerate(names):
            m[k, labels.index(tag_to_label(n))] = 1
        reps = {e: (names.index(f"{e}_high"), names.index(f"{e}_low")) for e in EXERCISES
                if f"{e}_high" in names and f"{e}_low" in names}
        return cls(names, labels, m, reps)

    def label(self, p: np.ndarray) -> str:
        return self.labels[int(np.argmax(p @ self.to_label))]

    @property
    def groups(self) -> list[str]:
        """Each class's label (an exercise's positions share one), for the HMM smoother."""
        from ..data.vocab import class_groups

        return class_groups(self.names)


# --------------------------------------------------------------------------- the entry point

def clip_probs(log_sum: np.ndarray, frames: int) -> np.ndarray:
    """A clip's probabilities ``softmax(mean_t logits_t)`` from ``sum_t log p_t`` of its per-frame softmax outputs.

    ``log p_t = logits_t - logsumexp(logits_t)``: the mean differs from the mean logits by one constant,
    which the softmax removes.
    """
    z = np.asarray(log_sum, np.float64) / max(1, frames)
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class VideoResult:
    """Per-frame outcome of one single-person video (label names, and the smoothed label probabilities
    ``(T, L)`` the events come from), and its rep counts."""

    truth: list[str]
    raw: list[str]
    stream: list[str]
    offline: list[str]
    reps: list[dict[str, Any]]
    label_probs: np.ndarray
    class_probs: np.ndarray  # (T, K) unsmoothed, for tuning the post-processing
    windows: list[str] = field(default_factory=list)  # offline windows (empty unless asked)


def window_starts(frames: int, window: int, hop: int) -> list[tuple[int, int, int]]:
    """The offline windows of a ``frames``-long video: ``(centre, start, end)`` (end exclusive) every ``hop``
    frames, each ``min(window, frames)`` long, centred on ``centre`` and shifted inside the video at its ends."""
    w = min(window, frames)
    return [(c, s, s + w) for c in range(0, frames, hop) for s in [min(max(0, c - w // 2), frames - w)]]


def _window_probs(model: Any, x: Any, window: int, hop: int, batch: int = 32) -> np.ndarray:
    """Per-frame probabilities of the offline windows (:func:`window_starts`) of ``x`` ``(1, C, T, H, W)``."""
    import torch

    from ..models import probabilities

    wins = window_starts(x.shape[2], window, hop)
    probs = np.concatenate([
        probabilities(model.forward_frames(torch.cat([x[:, :, s:e] for _, s, e in wins[i:i + batch]])).float().mean(1))
        .cpu().numpy() for i in range(0, len(wins), batch)])
    return np.repeat(probs, hop, axis=0)[:x.shape[2]]  # window k (centre k * hop) labels frames k*hop .. k*hop+hop-1


def _whole_video_probs(runner: Any, frames: list[np.ndarray], segments: list[dict[str, Any]], offline: bool,
                       window: int = 0, hop: int = 4,
                       flip: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per-frame streaming probabilities, each segment's offline clip probabilities per frame, and the
    offline windows' per frame (``window`` > 0), of a torch streaming model, from ``forward_frames`` over
    the whole video (equal to stepping frame by frame from a zero state, to 1e-4: tested for every
    streaming model) instead of one ``step`` per frame: the same numbers, an order of magnitude faster on
    a CPU. ``flip``: each also averaged with the mirrored video's (as :class:`~.runners.FlipRunner`)."""
    import torch

    from ..models import probabilities

    model = runner.model
    x = runner.clip_input(frames)

    def run(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        logits = model.forward_frames(x)[0].float()
        stream = probabilities(logits).cpu().numpy()
        off = None
        if offline:
            off = np.zeros_like(stream)
            for seg in segments:
                a, b = seg["start"], min(seg["end"], len(frames) - 1)
                if a > b:
                    continue
                clip_logits = model.forward_frames(x[:, :, a:b + 1])[0].float().mean(0, keepdim=True)
                off[a:b + 1] = probabilities(clip_logits).cpu().numpy()
        win = _window_probs(model, x, window, hop) if window > 0 else None
        return stream, off, win

    with torch.inference_mode():
        x = x.to(runner.device)
        views = [run(x)] + ([run(x.flip(-1))] if flip else [])
    return tuple(None if v[0] is None else sum(v) / len(v) for v in zip(*views))  # type: ignore[return-value]


def _frame_source(v: Video, runner: Any, offline: bool, offline_window: int, offline_hop: int,
                  flip: bool) -> tuple[Any, Any, Any]:
    """The frames to feed, the whole-video probabilities of a torch streaming model (None for the others), and the
    runner (wrapped for ``flip``)."""
    from .runners import FlipRunner

    if flip and getattr(runner, "inputs", "rgb") == "keypoints":
        raise ValueError("--flip mirrors images; a keypoint model's inputs are mirrored in training instead")
    frames: Any = frames_of(v, runner)
    if hasattr(getattr(runner, "model", None), "forward_frames"):  # a torch streaming model: batch over time
        frames = [f for f, _ in zip(frames, range(v.frames))]
        return frames, _whole_video_probs(runner, frames, v.people[0].segments, offline, offline_window,
                                          offline_hop, flip), runner
    if offline_window:
        raise ValueError(f"offline windows need a torch streaming model (.pt), not {type(runner).__name__}")
    return frames, None, FlipRunner(runner) if flip else runner


def replay_single(v: Video, runner: Any, cls: StreamClasses, smooth: str, window: int, offline: bool,
            rep_thresholds: tuple[float, float], bar: Any, rep_relative: bool = True,
            offline_window: int = 0, offline_hop: int = 4, flip: bool = False) -> VideoResult:
    from .postprocess import RepetitionCounter
    from .step import KeyPost, PostOptions

    person = v.people[0]
    post = KeyPost(cls.names, PostOptions(smooth, window), {})  # the live smoothing of one key
    raw, stream, off, label_probs, class_probs = [], [], ([""] * v.frames if offline else []), [], []
    starts = {s["start"]: s for s in person.segments}
    spans = {s[0]: s for s in v.rep_spans}
    seg = span = None
    log_sum = np.zeros(len(cls.names), np.float64)
    counters: dict[str, RepetitionCounter] = {}
    votes: Counter = Counter()
    reps: list[dict[str, Any]] = []
    key, okey = ("stream", v.name), ("offline", v.name)
    t = -1
    frames, whole, runner = _frame_source(v, runner, offline, offline_window, offline_hop, flip)
    # a model trained at a lower frame rate steps at its own rate (as actkit stream does), its output held between
    fps = getattr(runner, "fps", 0.0)
    every = 1.0 / fps if whole is None and fps and v.fps > fps * 1.2 else 0.0
    due, p = 0.0, None
    try:
        for t, rgb in enumerate(frames):
            if t >= v.frames:
                log.warning("%s: more frames than its %d labels; the rest ignored", v.path, v.frames)
                break
            if whole is not None:
                p = whole[0][t]
            elif p is None or t / v.fps + 1e-9 >= due:
                p = runner(rgb, None, [key])[0]
                due += every
            s = post.update(p, t)[0]
            class_probs.append(np.asarray(p, np.float32))
            raw.append(cls.label(p))
            label_probs.append(s @ cls.to_label)
            stream.append(cls.labels[int(np.argmax(label_probs[-1]))])
            if offline:
                seg = starts.get(t, seg)
                if whole is not None:
                    off[t] = cls.label(whole[1][t])
                else:
                    q = runner(rgb, None, [okey])[0]
                    log_sum += np.log(np.maximum(q, 1e-30))
                    if t == seg["end"]:
                        n = t + 1 - seg["start"]
                        off[seg["start"]:t + 1] = [cls.label(clip_probs(log_sum, n))] * n
                        log_sum[:] = 0
                        runner.forget([okey])
            if t in spans:
                span, votes = spans[t], Counter()
                counters = {ex: RepetitionCounter(rep_thresholds[1], rep_thresholds[0], rep_relative) for ex in cls.reps}
            if span is not None:
                for ex, (hi, lo) in cls.reps.items():
                    counters[ex].update(float(s[hi]), float(s[lo]))
                if stream[-1] in cls.reps:
                    votes[stream[-1]] += 1
                if t == span[1]:
                    ex = votes.most_common(1)[0][0] if votes else None
                    reps.append({"video": v.name, "start": span[0], "end": span[1], "exercise": span[2],
                                 "true": span[3], "pred": counters[ex].count if ex else 0, "pred_exercise": ex})
                    span = None
            bar.update(1)
    finally:
        runner.forget([key, okey])
    if t + 1 < v.frames:
        raise Unreadable(f"decoded {t + 1} of {v.frames} labelled frames")
    windows = [cls.label(p) for p in whole[2]] if whole is not None and whole[2] is not None else []
    return VideoResult(person.labels, raw, stream, off, reps, np.asarray(label_probs, np.float32).reshape(-1, len(cls.labels)),
                   np.asarray(class_probs, np.float32).reshape(-1, len(cls.names)), windows)


class TruthDetector:
    """The true visible boxes of a video, frame after frame: isolates the tracker (its id switches then
    come only from occlusions, crossings and people leaving the view), where a weak detector's misses
    would dominate."""

    def __init__(self, v: Video) -> None:
        self.v, self.t = v, 0

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = [p.boxes[self.t] for p in self.v.people if self.t < len(p.boxes) and p.boxes[self.t] is not None]
        self.t += 1
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32)


def replay_multi(v: Video, runner: Any, cls: StreamClasses, smooth: str | None, window: int, detector: Any,
                 iou: float, bar: Any) -> dict[str, Any]:
    """A multi-person video through the live objects: :class:`~.step.FrameStep` (detector -> tracker ->
    runner per track) and a :class:`~.step.KeyPost` per track for its smoothed label; scored against
    the true boxes (identity switches, coverage) and labels."""
    from .metrics import id_switches
    from .step import FrameStep, KeyPost, PostOptions
    from .tracking import IoUTracker, greedy_match, iou_matrix, make_detector

    step = FrameStep(runner, TruthDetector(v) if detector == "truth" else make_detector(detector), IoUTracker())
    post_opts = PostOptions(smooth, window)
    posts: dict[Any, KeyPost] = {}
    pred_boxes, true_boxes = [], []
    correct = matched = n_true = 0
    t = -1
    try:
        for t, rgb in enumerate(video_frames(v.path)):
            if t >= v.frames:
                break
            o = step(rgb)
            for k in o.ended:
                posts.pop(k, None)
            labels = [cls.label(posts.setdefault(k, KeyPost(cls.names, post_opts, {})).update(p, t)[0])
                      for k, p in zip(o.keys, o.probs)]
            truth = {p.track_id: (p.boxes[t], p.labels[t]) for p in v.people if p.boxes[t] is not None}
            pred_boxes.append({k: b.tolist() for k, b in zip(o.keys, o.boxes)})
            true_boxes.append({i: b for i, (b, _) in truth.items()})
            tid = list(truth)
            pairs = greedy_match(iou_matrix(np.array(o.boxes, np.float32).reshape(-1, 4),
                                            np.array([truth[i][0] for i in tid], np.float32).reshape(-1, 4)), iou)
            n_true += len(tid)
            matched += len(pairs)
            correct += sum(labels[a] == truth[tid[b]][1] for a, b in pairs)
            bar.update(1)
    finally:
        step.close()
    if t + 1 < v.frames:
        raise Unreadable(f"decoded {t + 1} of {v.frames} labelled frames")
    sw = id_switches(pred_boxes, true_boxes, iou)
    return {"video": v.name, "people": len(v.people), "frames": v.frames, "id_switches": sw["switches"],
            "id_switches_per_100_frames": sw["per_100_frames"], "true_person_frames": n_true,
            "matched_person_frames": matched, "correct": correct}
