"""`actkit eval` on frame-labelled synthetic sets: a streaming model scored as the live pipeline runs it.

Data: a folder written by ``actkit synth streams`` (``labels/stream_NNN.json`` + ``videos/stream_NNN.mp4``)
or ``actkit synth reps`` (``labels/<exercise>/<stem>.json`` + ``videos/<exercise>/<stem>.mp4``). A reps
video is read as one person whose label is the exercise from the first frame of its first rep to the
last frame of its last rep (as a streams exercise segment is) and ``idle`` outside.

Each video of the split is decoded once, frame by frame, in order, and every frame goes through the
model's :class:`~actkit.engine.streamer.Runner` (one causal ``step`` per frame, as ``actkit stream``
does). Class names may be the label vocabulary (:data:`actkit.data.synth.streams.VOCABULARY`) or the
tag vocabulary (each exercise split into ``<exercise>_high`` / ``<exercise>_low``); a frame's label
probabilities are its class probabilities summed per label (``squat_high + squat_low -> squat``).

1. **Frame accuracy** (single-person videos, whole frame, no tracking). *Streaming*: the per-frame
   probabilities smoothed causally (``smooth`` over ``window`` frames), argmax label; *raw*: the same
   without smoothing. *Offline*: the same model run on each ground-truth segment alone (state reset at
   its first frame, all its frames), its clip prediction ``softmax(mean_t logits_t)`` given to every
   frame of the segment. Runners return probabilities, and ``mean_t log p_t`` differs from
   ``mean_t logits_t`` by a constant per class vector, so the clip prediction is computed exactly from
   them. Reported over all frames and over frames whose truth is not ``transition``, with the gap
   offline - streaming in points. Told where every segment starts and ends, this offline run is an
   oracle; ``offline_window`` adds one that is told nothing: *offline windows*, every ``hop`` frames
   the model run alone (state reset) on the ``offline_window`` frames centred there (shifted inside
   the video at its ends), its clip prediction given to the ``hop`` frames from the centre on. It sees
   half a window of the future, which no live model can (torch streaming models only).
2. **Events**: true events are the ``mocap`` and ``exercise`` segments; predicted events are what the live
   pipeline reports: per label other than idle / transition, a :class:`~.postprocess.Hysteresis` on its
   smoothed probability (on above ``event_threshold``, off below half of it, at least ``min_event_frames``
   long; a tag model's label probability is its tags' sum); matched one-to-one per label at temporal
   IoU >= ``event_iou`` (:func:`~.stream_metrics.match_events`).
3. **Repetitions** (tag models only): each exercise segment of a stream, and each whole reps video, runs
   one (relative) :class:`~.postprocess.RepetitionCounter` per exercise (position 0 ``<ex>_high``, position 1
   ``<ex>_low``) on the smoothed probabilities of its frames, all counters reset at its first frame (so
   the *segment bounds come from the truth*: this scores counting, not set detection). The predicted
   count is the counter of the *predicted* exercise: the exercise most frames of the span were labelled
   with (0 when none was).
4. **Multi-person** (videos with several people): person detection + :class:`~.tracking.IoUTracker` per
   frame, the model run on each track's box with its own state; identity switches per 100 frames
   against the true boxes (:func:`~.stream_metrics.id_switches`), and the smoothed label of each track
   matched to a true person (IoU >= 0.5) against that person's label. These videos are not in 1-3.

Videos that cannot be decoded, or decode to fewer frames than labelled, are skipped and listed.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.video.framelabels import Video, full_vocabulary, read_labelled_videos, tag_to_label

log = logging.getLogger(__name__)

LAYOUTS = ("streams", "reps")
SPLITS = ("train", "val", "test", "all")
NON_EVENTS = ("idle", "transition")
TIMELINE_VIDEOS = 3


# --------------------------------------------------------------------------- vocabulary

def tag_vocabulary() -> list[str]:
    """The stream label vocabulary with each exercise replaced by ``<exercise>_high``, ``<exercise>_low``."""
    return full_vocabulary("tags")


# --------------------------------------------------------------------------- data

def read_stream_set(root: str | Path, split: str = "test") -> tuple[str, list[Video]]:
    """The layout and the videos of one split (``all``: every split) of a streams or reps folder, by name.

    Raises:
        ValueError: no label JSON, an unknown or empty split, a malformed label file or a missing video.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"{root}: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    layout, every = read_labelled_videos(root)
    videos = [v for v in every if split in ("all", v.split)]
    if not videos:
        raise ValueError(f"{root}: no videos in the {split!r} split (splits here: {dict(Counter(v.split for v in every))})")
    for v in videos:
        if not v.path.is_file():
            raise ValueError(f"{root}: video {v.path} of {v.name} is missing")
    return layout, sorted(videos, key=lambda v: str(v.path))


class Unreadable(Exception):
    """A video that cannot be decoded, or decodes to fewer frames than labelled: skipped and listed."""


def _frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames of a video, one at a time."""
    from .streamer import open_source

    try:
        src = open_source(path)
    except (ValueError, OSError) as e:
        raise Unreadable(str(e)) from e
    try:
        while (img := src.read()) is not None:
            yield img
    finally:
        src.close()


# --------------------------------------------------------------------------- model

def _runner(model: Any, device: str) -> Any:
    """A runner: anything with ``class_names``, ``__call__(rgb, boxes, keys)`` and ``forget`` is used as is."""
    from .streamer import load_runner

    duck = not isinstance(model, (str, Path)) and callable(model) and hasattr(model, "class_names") \
        and hasattr(model, "forget") and not hasattr(model, "step")
    runner = model if duck else load_runner(model, device)
    if getattr(runner, "kind", "stream") != "stream":
        raise ValueError(f"{model if isinstance(model, (str, Path)) else type(model).__name__}: a crop classifier, "
                         "not a streaming model (task 'stream')")
    return runner


@dataclass
class _Classes:
    """Class -> label mapping of a model: ``to_label`` (K, L) sums class probabilities per label."""

    names: list[str]
    labels: list[str]
    to_label: np.ndarray
    reps: dict[str, tuple[int, int]]  # exercise -> (class of <ex>_high, class of <ex>_low)

    @classmethod
    def of(cls, names: Sequence[str], model: str) -> "_Classes":
        from ..data.synth.reps import EXERCISES
        from ..data.synth.streams import VOCABULARY

        names = list(names)
        unknown = [n for n in names if n not in {*VOCABULARY, *tag_vocabulary()}]
        if unknown:
            raise ValueError(f"{model}: classes {unknown[:6]} are in neither the stream label vocabulary nor its "
                             f"tag vocabulary (<exercise>_high/_low); train on a streams or reps set")
        labels = [v for v in VOCABULARY if v in {tag_to_label(n) for n in names}]
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
        from .streamer import class_groups

        return class_groups(self.names)


# --------------------------------------------------------------------------- one video

def clip_probs(log_sum: np.ndarray, frames: int) -> np.ndarray:
    """A clip's probabilities ``softmax(mean_t logits_t)`` from ``sum_t log p_t`` of its per-frame softmax outputs.

    ``log p_t = logits_t - logsumexp(logits_t)``: the mean differs from the mean logits by one constant,
    which the softmax removes.
    """
    z = np.asarray(log_sum, np.float64) / max(1, frames)
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class _Result:
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
    a CPU. ``flip``: each also averaged with the mirrored video's (as :class:`~.streamer.FlipRunner`)."""
    import torch

    from ..models import probabilities
    from .streamer import stream_input

    model = runner.model
    lowpass = runner.lowpass
    x = torch.from_numpy(np.stack([stream_input(f, None, runner.cfg, lowpass=lowpass) for f in frames], 1))[None]

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


def _single(v: Video, runner: Any, cls: _Classes, smooth: str, window: int, offline: bool,
            rep_thresholds: tuple[float, float], bar: Any, rep_relative: bool = True,
            offline_window: int = 0, offline_hop: int = 4, flip: bool = False) -> _Result:
    from .postprocess import RepetitionCounter, make_smoother
    from .streamer import FlipRunner

    person = v.people[0]
    smoother = make_smoother(smooth, window, cls.groups)
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
    frames: Any = _frames(v.path)
    whole = None
    if hasattr(getattr(runner, "model", None), "forward_frames"):  # a torch streaming model: batch over time
        frames = [f for f, _ in zip(frames, range(v.frames))]
        whole = _whole_video_probs(runner, frames, person.segments, offline, offline_window, offline_hop, flip)
    elif offline_window:
        raise ValueError(f"offline windows need a torch streaming model (.pt), not {type(runner).__name__}")
    elif flip:
        runner = FlipRunner(runner)
    try:
        for t, rgb in enumerate(frames):
            if t >= v.frames:
                log.warning("%s: more frames than its %d labels; the rest ignored", v.path, v.frames)
                break
            p = whole[0][t] if whole is not None else runner(rgb, None, [key])[0]
            s = smoother.update(p)
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
    return _Result(person.labels, raw, stream, off, reps, np.asarray(label_probs, np.float32).reshape(-1, len(cls.labels)),
                   np.asarray(class_probs, np.float32).reshape(-1, len(cls.names)), windows)


class _TruthDetector:
    """The true visible boxes of a video, frame after frame: isolates the tracker (its id switches then
    come only from occlusions, crossings and people leaving the view), where a weak detector's misses
    would dominate."""

    def __init__(self, v: Video) -> None:
        self.v, self.t = v, 0

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = [p.boxes[self.t] for p in self.v.people if self.t < len(p.boxes) and p.boxes[self.t] is not None]
        self.t += 1
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32)


def _multi(v: Video, runner: Any, cls: _Classes, smooth: str, window: int, detector: Any, iou: float,
           bar: Any) -> dict[str, Any]:
    from .postprocess import make_smoother
    from .stream_metrics import id_switches
    from .tracking import IoUTracker, greedy_match, iou_matrix, make_detector

    det = _TruthDetector(v) if detector == "truth" else make_detector(detector)
    tracker = IoUTracker()
    smoothers: dict[Any, Any] = {}
    pred_boxes, true_boxes = [], []
    correct = matched = n_true = 0
    seen: set[Any] = set()
    t = -1
    try:
        for t, rgb in enumerate(_frames(v.path)):
            if t >= v.frames:
                break
            boxes, scores = det.detect(rgb)
            tracks = tracker.update(boxes, scores)
            ended = [(v.name, i) for i in tracker.ended]
            runner.forget(ended)
            for k in ended:
                smoothers.pop(k, None)
            keys = [(v.name, tr.id) for tr in tracks]
            tb = [tr.box.copy() for tr in tracks]
            seen.update(keys)
            probs = runner(rgb, tb, keys) if keys else []
            labels = [cls.label(smoothers.setdefault(k, make_smoother(smooth, window, cls.groups)).update(p))
                      for k, p in zip(keys, probs)]
            truth = {p.track_id: (p.boxes[t], p.labels[t]) for p in v.people if p.boxes[t] is not None}
            pred_boxes.append({tr.id: tr.box.tolist() for tr in tracks})
            true_boxes.append({i: b for i, (b, _) in truth.items()})
            tid = list(truth)
            pairs = greedy_match(iou_matrix(np.array(tb, np.float32).reshape(-1, 4),
                                            np.array([truth[i][0] for i in tid], np.float32).reshape(-1, 4)), iou)
            n_true += len(tid)
            matched += len(pairs)
            correct += sum(labels[a] == truth[tid[b]][1] for a, b in pairs)
            bar.update(1)
    finally:
        runner.forget(list(seen))
    if t + 1 < v.frames:
        raise Unreadable(f"decoded {t + 1} of {v.frames} labelled frames")
    sw = id_switches(pred_boxes, true_boxes, iou)
    return {"video": v.name, "people": len(v.people), "frames": v.frames, "id_switches": sw["switches"],
            "id_switches_per_100_frames": sw["per_100_frames"], "true_person_frames": n_true,
            "matched_person_frames": matched, "correct": correct}


# --------------------------------------------------------------------------- metrics

def lagged(p: np.ndarray, lag: int) -> np.ndarray:
    """``p`` (T, ...) with frame ``t`` given the row of frame ``min(T - 1, t + lag)``: what an event
    detector that compensates ``lag`` frames of smoothing delay judges (:class:`~.postprocess.Lookahead`)."""
    p = np.asarray(p)
    if lag <= 0 or len(p) == 0:
        return p
    return p[np.minimum(np.arange(len(p)) + int(lag), len(p) - 1)]


def predicted_events(label_probs: np.ndarray, labels: Sequence[str], threshold: float = 0.5,
                     min_frames: int = 4, hold: int = 0, lag: int = 0) -> list[tuple[str, int, int]]:
    """Events ``(label, start, end)`` by the live pipeline's rule (:class:`~.postprocess.Hysteresis`, as
    ``actkit stream`` detects them): per label other than idle / transition, on when its smoothed
    probability rises above ``threshold``, off once it has stayed below ``threshold / 2`` for more than
    ``hold`` frames, at least ``min_frames`` long, each frame judged on the score of ``lag`` frames later
    (:func:`lagged`). ``label_probs`` is ``(T, L)``, one column per name of ``labels``; sorted
    by start. Same events as :func:`~.postprocess.detect_events` (tested), computed from the runs of the
    thresholded array instead of frame by frame."""
    p = lagged(np.asarray(label_probs, np.float64).reshape(-1, len(labels)), lag)
    out = [e for k, lab in enumerate(labels) if lab not in NON_EVENTS
           for e in hysteresis_events(p[:, k], threshold, threshold / 2, min_frames, hold, lab)]
    return sorted(out, key=lambda e: (e[1], e[0]))


def hysteresis_events(p: np.ndarray, on: float, off: float, min_frames: int = 1, hold: int = 0,
                      label: str = "event") -> list[tuple[str, int, int]]:
    """:func:`~.postprocess.detect_events` (a :class:`~.postprocess.Hysteresis` run over ``p``) computed
    per event instead of per frame, for sweeping its parameters: an event starts at a frame with
    ``p > on`` and ends before the first run of ``p < off`` that starts after it and lasts more than
    ``hold`` frames (or reaches the end of ``p``)."""
    p = np.asarray(p, np.float64).ravel()
    n = len(p)
    above = np.flatnonzero(p > on)
    low = np.concatenate([[False], p < off, [False]])
    edges = np.flatnonzero(np.diff(low.astype(np.int8)))
    run_start, run_end = edges[0::2], edges[1::2]  # runs of p < off: [start, end)
    ends_here = (run_end - run_start > hold) | (run_end == n)
    run_start = run_start[ends_here]
    events, frm = [], 0
    min_frames = max(1, int(min_frames))
    while True:
        i = np.searchsorted(above, frm)
        if i == len(above):
            break
        start = int(above[i])
        j = np.searchsorted(run_start, start, side="right")
        if j == len(run_start):
            end, frm = n - 1, n
        else:
            end, frm = int(run_start[j]) - 1, int(run_start[j]) + hold + 1
        if end - start + 1 >= min_frames:
            events.append((label, start, end))
    return events


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 from counts, as :func:`~.stream_metrics.match_events` scores (all 1 for no events)."""
    if not tp + fp + fn:
        return {"tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _stat(fn: Any, x: list[float]) -> float | None:
    return float(fn(x)) if x else None


def _events(videos: list[Video], label_probs: list[np.ndarray], labels: list[str], threshold: float, min_frames: int,
            iou: float, hold: int = 0, lag: int = 0) -> dict[str, Any]:
    from .stream_metrics import match_events

    per_label: dict[str, list[int]] = {}
    delays, delays_ms = [], []
    for v, lp in zip(videos, label_probs):
        true = [(s["label"], s["start"], s["end"]) for s in v.people[0].segments if s["kind"] in ("mocap", "exercise")]
        pred = predicted_events(lp, labels, threshold, min_frames, hold, lag)
        for lab in sorted({e[0] for e in true} | {e[0] for e in pred}):
            m = match_events([e for e in pred if e[0] == lab], [e for e in true if e[0] == lab], iou=iou)
            acc = per_label.setdefault(lab, [0, 0, 0])
            acc[0], acc[1], acc[2] = acc[0] + m["tp"], acc[1] + m["fp"], acc[2] + m["fn"]
            delays += m["onset_delays"]
            delays_ms += [d * 1000.0 / v.fps for d in m["onset_delays"]]
    tp, fp, fn = (sum(c[i] for c in per_label.values()) for i in range(3))
    known = [d + lag for d in delays]  # a start placed lag frames back is known lag frames after it
    return {**_prf(tp, fp, fn), "iou": iou, "threshold": threshold, "min_event_frames": min_frames, "event_hold": hold,
            "event_lag": lag,
            "onset_delay_frames_median": _stat(np.median, delays), "onset_delay_frames_mean": _stat(np.mean, delays),
            "onset_known_frames_median": _stat(np.median, known),
            "onset_delay_ms_median": _stat(np.median, delays_ms), "onset_delay_ms_mean": _stat(np.mean, delays_ms),
            "per_label": {lab: _prf(*c) for lab, c in per_label.items()}}


EVENT_GRID: dict[str, tuple[Any, ...]] = {
    "smooth": ("ema", "mean", "hmm"), "window": (1, 5, 9, 15, 25), "threshold": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    "min_event_frames": (4, 8, 16, 24, 32), "event_hold": (0, 4, 8, 16), "event_lag": (0,),
}


def tune_events(videos: list[Video], results: list[_Result], cls: _Classes, iou: float = 0.5,
                grid: dict[str, Sequence[Any]] | None = None, top: int = 10) -> dict[str, Any]:
    """Sweep the event post-processing (smoothing, threshold, minimum length, hold) on scored videos and
    return the rule with the best event F1 (ties: the first in grid order) and the ``top`` rules.

    Choose on a validation split and report a test split with the chosen rule (``actkit eval --split
    test --smooth .. --window .. --event-threshold .. --min-event-frames .. --event-hold ..``): the
    F1 of the chosen rule on the split it was chosen on is optimistic.
    """
    from .postprocess import make_smoother

    g = {**EVENT_GRID, **(grid or {})}
    unknown = set(g) - set(EVENT_GRID)
    if unknown:
        raise ValueError(f"unknown event grid keys {sorted(unknown)}: use {sorted(EVENT_GRID)}")
    raw = [r.class_probs @ cls.to_label for r in results]  # smoothing is linear: label sums commute with it
    rows = []
    for smooth in g["smooth"]:
        for window in g["window"]:
            if window <= 1 and smooth != g["smooth"][0]:
                continue  # no smoothing: one row, not one per smoother
            lps = []
            for x, r in zip(raw, results):  # the live pipeline's smoother, run causally over each video
                smoother = make_smoother(smooth, window, cls.groups)
                if smooth == "hmm":  # not linear: filter the classes, as live, then sum per label
                    x = r.class_probs
                y = np.stack([smoother.update(v) for v in x]) if len(x) else x
                lps.append(y @ cls.to_label if smooth == "hmm" and len(x) else y)
            for lag, th, mf, hold in itertools.product(g["event_lag"], g["threshold"], g["min_event_frames"],
                                                       g["event_hold"]):
                e = _events(videos, lps, cls.labels, th, mf, iou, hold, lag)
                rows.append({"smooth": smooth if window > 1 else "none", "window": window, "event_threshold": th,
                             "min_event_frames": mf, "event_hold": hold, "event_lag": lag, "f1": e["f1"],
                             "precision": e["precision"], "recall": e["recall"],
                             "onset_delay_frames_median": e["onset_delay_frames_median"],
                             "onset_known_frames_median": e["onset_known_frames_median"]})
    order = sorted(range(len(rows)), key=lambda i: (-rows[i]["f1"], i))
    best = rows[order[0]]
    flags = (f"--smooth {best['smooth']} --window {best['window']} --event-threshold {best['event_threshold']} "
             f"--min-event-frames {best['min_event_frames']} --event-hold {best['event_hold']}"
             + (f" --event-lag {best['event_lag']}" if best["event_lag"] else ""))
    return {"rules": len(rows), "iou": iou, "best": best, "flags": flags, "top": [rows[i] for i in order[:top]]}


def _reps(items: list[dict[str, Any]], cls: _Classes) -> dict[str, Any]:
    from .stream_metrics import count_mae

    if not cls.reps:
        return {"skipped": "the model has no <exercise>_high / <exercise>_low classes: repetitions cannot be counted "
                           "(train on tags to count them)"}

    def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
        pred, true = [r["pred"] for r in rows], [r["true"] for r in rows]
        return {"sets": len(rows), "mae": count_mae(pred, true) if rows else None,
                "exact": float(np.mean([p == t for p, t in zip(pred, true)])) if rows else None}

    exercises = sorted({r["exercise"] for r in items})
    return {**score(items), "counted_exercises": sorted(cls.reps),
            "per_exercise": {e: score([r for r in items if r["exercise"] == e]) for e in exercises}, "items": items}


def _accuracy(results: list[_Result], offline: bool) -> dict[str, Any]:
    from .stream_metrics import frame_accuracy

    truth = [x for r in results for x in r.truth]
    out: dict[str, Any] = {"frames": len(truth), "frames_not_transition": sum(x != "transition" for x in truth)}
    windows = all(r.windows for r in results)
    kinds = ("stream", "raw") + (("offline",) if offline else ()) + (("windows",) if windows else ())
    for kind in kinds:
        pred = [x for r in results for x in getattr(r, kind)]
        name = {"stream": "streaming", "raw": "streaming_raw", "offline": "offline", "windows": "offline_windows"}[kind]
        out[name] = frame_accuracy(pred, truth)
        out[f"{name}_no_transition"] = frame_accuracy(pred, truth, ignore="transition")
    for name, gap in (("offline", "gap_points"), ("offline_windows", "gap_points_windows")):
        if name in out:
            out[gap] = 100 * (out[name] - out["streaming"])
            out[f"{gap}_no_transition"] = 100 * (out[f"{name}_no_transition"] - out["streaming_no_transition"])
    return out


# --------------------------------------------------------------------------- the entry point

def evaluate_streams(model: Any, root: str | Path, split: str = "test", smooth: str | None = "ema", window: int = 5,
                     min_event_frames: int = 4, event_iou: float = 0.5, event_threshold: float = 0.5,
                     event_hold: int = 0, event_lag: int = 0, tune: bool = False,
                     tune_grid: dict[str, Sequence[Any]] | None = None,
                     rep_thresholds: tuple[float, float] = (0.5, 0.5), rep_relative: bool = True,
                     detector: Any = "hog", track_iou: float = 0.5,
                     offline: bool = True, offline_window: int = 0, offline_hop: int = 4, flip: bool = False,
                     lowpass: float = 0.0,
                     max_videos: int | None = None, plots: bool = True, device: str = "cpu",
                     out: str | Path | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Score a streaming model on a frame-labelled streams or reps folder (see the module docstring).

    Args:
        model: ``.pt`` / ``.onnx`` streaming model, a loaded module with ``init_state`` / ``step`` (its
            ``class_names`` attribute names the classes), or a runner (``class_names``,
            ``__call__(rgb, boxes, keys)``, ``forget(keys)``).
        root: folder written by ``actkit synth streams`` or ``actkit synth reps``.
        split: ``train``, ``val``, ``test`` or ``all``.
        smooth: causal smoothing of the streaming probabilities: ``ema``, ``mean`` or ``none``.
        window: smoothing window in frames.
        min_event_frames: shortest predicted event.
        event_iou: temporal IoU for an event match.
        event_threshold: hysteresis "on" threshold of the events (off: half of it), as ``actkit stream``.
        event_hold: frames a dip below the off threshold must last to end an event (0: at once).
        event_lag: frames of smoothing delay the event detector compensates: events placed that many
            frames earlier, each start known that many frames after it (per-frame labels unchanged; see
            :class:`~.postprocess.Lookahead`). Tuning keeps it unless ``tune_grid`` sweeps ``event_lag``.
        tune: also sweep the event post-processing on this split (:func:`tune_events`, report key
            ``event_tuning``): run it on a validation split, then score the test split with its rule.
        tune_grid: values to sweep per parameter, over :data:`EVENT_GRID`'s defaults.
        rep_thresholds: ``(t0, t1)`` of the repetition counters.
        rep_relative: the counters follow the two positions divided by their sum (the default), or each
            position's own probability (see :class:`~.postprocess.RepetitionCounter`).
        detector: person detector for multi-person videos (``hog``, ``motion``, ``.onnx``, an object, or
            ``truth``: the true visible boxes, to measure the tracker alone).
        track_iou: box IoU for matching tracks to true people.
        offline: also run each true segment as a clip (doubles the model's work).
        offline_window: also run the model on clips of this many frames centred every ``offline_hop``
            frames (told nothing of the segments; ``offline_window / offline_hop`` times the model's work;
            torch streaming models only). 0: not run.
        offline_hop: frames between the centres of those clips.
        flip: test-time flip: every frame (and offline clip) also run mirrored left-right, with its own
            state, the two views' probabilities averaged (:class:`~.streamer.FlipRunner`, as
            ``actkit stream --flip``).
        lowpass: Gaussian blur of every input frame, sigma in model-input pixels (``actkit stream
            --lowpass``; actkit streaming models only).
        max_videos: evaluate only the first videos of the split (by name).
        plots: write timeline and confusion plots with the JSON.
        device: torch device.
        out: folder for ``stream_eval.json`` and plots (default: ``stream_eval_<set>_<split>/`` next to a
            model file; nothing is written for a model object without ``out``).
        progress: show a progress bar (default: when stderr is a terminal).

    Returns:
        The report (also in ``<out>/stream_eval.json``).

    Raises:
        ValueError: no label JSON, an unknown or empty split, a missing video, or a model whose classes
            match neither vocabulary.
    """
    from ..utils.io import atomic_write_json
    from ..utils.progress import progress as bar_of
    from .postprocess import Hysteresis, Lookahead, make_smoother
    from .streamer import FlipRunner, check_lowpass, set_lowpass

    make_smoother(smooth, window)  # fail on a bad option before any work
    check_lowpass(lowpass)
    if offline_window < 0 or offline_hop < 1:
        raise ValueError(f"offline_window must be >= 0 and offline_hop >= 1, got {offline_window} and {offline_hop}")
    Lookahead(Hysteresis("check", event_threshold, None, min_event_frames, event_hold), event_lag)
    layout, videos = read_stream_set(root, split)
    videos = videos[:max_videos] if max_videos else videos
    name = str(model) if isinstance(model, (str, Path)) else type(model).__name__
    runner = _runner(model, device)
    if lowpass:
        set_lowpass(runner, lowpass, name)
    cls = _Classes.of(runner.class_names, name)
    if out is None and isinstance(model, (str, Path)) and Path(model).is_file():
        out = Path(model).parent / f"stream_eval_{Path(root).resolve().name}_{split}"
    single, results, multi, skipped = [], [], [], []
    total = sum(v.frames for v in videos)
    with bar_of(total=total, desc=f"eval {Path(root).name}", unit="frame", enable=progress) as bar:
        for v in videos:
            try:
                if len(v.people) == 1:
                    results.append(_single(v, runner, cls, smooth, window, offline, tuple(rep_thresholds), bar,
                                           rep_relative, offline_window, offline_hop, flip))
                    single.append(v)
                else:
                    multi.append(_multi(v, FlipRunner(runner) if flip else runner, cls, smooth, window, detector,
                                        track_iou, bar))
            except Unreadable as e:
                log.warning("%s: skipped (%s)", v.path, e)
                skipped.append({"path": str(v.path), "reason": str(e)})
    report: dict[str, Any] = {
        "model": name, "data": str(root),
        "layout": layout, "split": split, "videos": len(single) + len(multi), "single_person_videos": len(single),
        "multi_person_videos": len(multi), "frames": sum(v.frames for v in single) + sum(m["frames"] for m in multi),
        "classes": cls.names, "class_vocabulary": "tags" if cls.reps else "labels",
        "options": {"smooth": smooth or "none", "window": window, "min_event_frames": min_event_frames,
                    "event_threshold": event_threshold, "event_hold": event_hold, "event_lag": event_lag,
                    "event_iou": event_iou, "rep_thresholds": list(rep_thresholds), "rep_relative": rep_relative,
                    "offline": offline, "offline_window": offline_window, "offline_hop": offline_hop, "flip": flip,
                    "lowpass": lowpass,
                    "detector": detector if isinstance(detector, str) else type(detector).__name__,
                    "track_iou": track_iou},
        "skipped": skipped,
    }
    if single:
        report["frame_accuracy"] = _accuracy(results, offline)
        report["events"] = _events(single, [r.label_probs for r in results], cls.labels, event_threshold,
                                   min_event_frames, event_iou, event_hold, event_lag)
        if tune:
            report["event_tuning"] = tune_events(single, results, cls, event_iou,
                                                 {"event_lag": (event_lag,), **(tune_grid or {})})
        report["reps"] = _reps([x for r in results for x in r.reps], cls)
        report["per_video"] = [{"video": v.name, "frames": v.frames, **_accuracy([r], offline)}
                               for v, r in zip(single, results)]
    if multi:
        n_true = sum(m["true_person_frames"] for m in multi)
        matched = sum(m["matched_person_frames"] for m in multi)
        frames, switches = sum(m["frames"] for m in multi), sum(m["id_switches"] for m in multi)
        report["multi_person"] = {
            "videos": len(multi), "frames": frames, "id_switches": switches,
            "id_switches_per_100_frames": 100.0 * switches / max(1, frames),
            "track_accuracy": sum(m["correct"] for m in multi) / matched if matched else None,
            "coverage": matched / n_true if n_true else None, "per_video": multi}
    report = _finite(report)
    if out is not None:
        out = Path(out)
        if plots and single:
            report["plots"] = _plots(out, single, results, cls, report["frame_accuracy"])
        atomic_write_json(out / "stream_eval.json", report)
        report["out"] = str(out)
    return report


def _finite(x: Any) -> Any:
    """NaN / inf -> None, so the JSON is standard."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# --------------------------------------------------------------------------- plots and table

def _plots(out: Path, videos: list[Video], results: list[_Result], cls: _Classes, acc: dict[str, Any]) -> list[str]:
    from ..data.synth.streams import VOCABULARY
    from .metrics import confusion_matrix
    from .plots import plot_confusion

    paths = [str(_plot_timeline(out / f"timeline_{v.name}.png", v, r))
             for v, r in list(zip(videos, results))[:TIMELINE_VIDEOS]]
    truth = [x for r in results for x in r.truth]
    pred = [x for r in results for x in r.stream]
    names = [n for n in VOCABULARY if n in set(truth) | set(pred)]
    idx = {n: i for i, n in enumerate(names)}
    cm = confusion_matrix(np.array([idx[x] for x in truth]), np.array([idx[x] for x in pred]), len(names))
    title = f"streaming labels per frame (accuracy {acc['streaming']:.1%})"
    paths.append(str(plot_confusion(cm, names, out / "confusion_streaming.png", title=title)))
    return paths


def _plot_timeline(path: Path, v: Video, r: _Result) -> Path:
    import matplotlib
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..data.synth.streams import VOCABULARY
    from .plots import _figure, _save

    colours = [*matplotlib.colormaps["tab20"].colors, *matplotlib.colormaps["tab20b"].colors][:len(VOCABULARY)]
    rows = [("truth", r.truth), ("streaming", r.stream), ("raw", r.raw)]
    rows += [("offline", r.offline)] if r.offline else []
    fig, axes = _figure((11, 0.55 * len(rows) + 1.6), nrows=len(rows), sharex=True)
    secs = v.frames / v.fps
    for ax, (name, labels) in zip(axes, rows):
        ax.imshow(np.array([[VOCABULARY.index(x) for x in labels]]), aspect="auto", cmap=ListedColormap(colours),
                  vmin=-0.5, vmax=len(VOCABULARY) - 0.5, extent=(0, secs, 0, 1), interpolation="nearest")
        ax.set_yticks([0.5], labels=[name])
    for rep in r.reps:  # true / predicted count over each counted span
        axes[0].text((rep["start"] + rep["end"] + 1) / 2 / v.fps, 0.5, f"{rep['true']} / {rep['pred']} reps",
                     ha="center", va="center", fontsize=7, color="black")
    axes[-1].set_xlabel("seconds")
    present = [n for n in VOCABULARY if n in set(r.truth) | set(r.stream) | set(r.offline) | set(r.raw)]
    fig.legend(handles=[Patch(color=colours[VOCABULARY.index(n)], label=n) for n in present],
               loc="outside lower center", ncol=min(len(present), 7), fontsize=7)
    axes[0].set_title(f"{v.name}: truth vs streaming (smoothed), raw and offline labels" +
                      (" (rep counts: true / predicted)" if r.reps else ""))
    return _save(fig, path)


def format_stream_report(report: dict[str, Any]) -> str:
    """A short table of an :func:`evaluate_streams` report."""
    def f(v: Any, fmt: str = ".3f") -> str:
        return "n/a" if v is None else format(v, fmt)

    lines = [f"{report['layout']} {report['data']} ({report['split']}): {report['videos']} videos, "
             f"{report['frames']} frames, {len(report['skipped'])} skipped"]
    a = report.get("frame_accuracy")
    if a:
        lines.append(f"{'frame accuracy':<24}{'streaming':>10}{'raw':>8}{'offline':>9}{'gap (pts)':>11}")
        for tag, suffix in (("all frames", ""), ("without transition", "_no_transition")):
            lines.append(f"  {tag:<22}{f(a['streaming' + suffix]):>10}{f(a['streaming_raw' + suffix]):>8}"
                         f"{f(a.get('offline' + suffix)):>9}{f(a.get('gap_points' + suffix), '+.1f'):>11}")
        if "offline_windows" in a:
            o = report["options"]
            lines.append(f"  offline windows of {o['offline_window']} frames every {o['offline_hop']} (told no segment "
                         f"bounds): {f(a['offline_windows'])}, gap {f(a['gap_points_windows'], '+.1f')} pts "
                         f"({f(a['gap_points_windows_no_transition'], '+.1f')} without transition)")
        e = report["events"]
        lines.append(f"{'events':<24}F1 {f(e['f1'])} (P {f(e['precision'])}, R {f(e['recall'])}); onset delay median "
                     f"{f(e['onset_delay_frames_median'], '.1f')} frames ({f(e['onset_delay_ms_median'], '.0f')} ms), "
                     f"mean {f(e['onset_delay_frames_mean'], '.1f')}" +
                     (f"; lag {e['event_lag']}: starts known {f(e['onset_known_frames_median'], '.1f')} frames "
                      "after the true start (median)" if e.get("event_lag") else ""))
        t = report.get("event_tuning")
        if t:
            b = t["best"]
            lines.append(f"{'event rule tuned here':<24}F1 {f(b['f1'])} (P {f(b['precision'])}, R {f(b['recall'])}) of "
                         f"{t['rules']} rules, with: {t['flags']}")
        r = report["reps"]
        lines.append(f"{'repetitions':<24}" + (r["skipped"] if "skipped" in r else
                     f"MAE {f(r['mae'], '.2f')} over {r['sets']} sets, exact {f(r['exact'], '.0%')}"))
    m = report.get("multi_person")
    if m:
        lines.append(f"{'multi-person':<24}id switches {m['id_switches_per_100_frames']:.2f} / 100 frames, "
                     f"track accuracy {f(m['track_accuracy'])} (coverage {f(m['coverage'])})")
    if report["skipped"]:
        lines.append("skipped: " + ", ".join(s["path"] for s in report["skipped"][:5]))
    if report.get("out"):
        lines.append(f"-> {report['out']}/stream_eval.json")
    return "\n".join(lines)
