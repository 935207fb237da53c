"""The two per-frame steps of the live pipeline, shared by ``actkit stream`` and ``actkit eval``.

* :class:`FrameStep`: one frame in, per-person probabilities out: optional person detection and
  tracking, then the runner on each track (one recurrent state per track id) or on the whole frame.
  It can step the model at a lower rate than the source (``model_fps``), reusing the last output.
* :class:`KeyPost`: the post-processing of one key (the whole frame, or one track): smoothing,
  event detectors, event counters, the repetition counter and the k-of-n vote.

The live :class:`~.pipeline.Stream` runs :class:`FrameStep` in its inference thread and
:class:`KeyPost` in its main thread; the evaluation (:mod:`.replay`) drives the same objects.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..data.vocab import class_groups
from .postprocess import Event, EventCounter, Hysteresis, KofNVote, Lookahead, RepetitionCounter, make_smoother


@dataclass
class StepOutput:
    """What :class:`FrameStep` returns for one frame."""

    keys: list[Any]  # None (whole frame) or the track ids
    boxes: list[np.ndarray] | None  # the tracks' boxes (None without tracking)
    probs: np.ndarray  # (len(keys), K) class probabilities
    ended: list[Any]  # track ids that ended on this frame (their state is forgotten)
    timings: dict[str, float]


class FrameStep:
    """Detector -> tracker -> runner for one frame.

    Args:
        runner: a :class:`~.runners.Runner` (``class_names``, ``__call__(rgb, boxes, keys)``, ``forget``).
        detector: a person detector (``detect(rgb) -> (boxes, scores)``), or None for the whole frame.
        tracker: an :class:`~.tracking.IoUTracker` (needed with a detector).
        model_fps: step the runner at this rate of the frames' ``pts`` (0: every frame).
    """

    def __init__(self, runner: Any, detector: Any = None, tracker: Any = None, model_fps: float = 0.0) -> None:
        if (detector is None) != (tracker is None):
            raise ValueError("a detector and a tracker go together: give both or neither")
        self.runner, self.detector, self.tracker, self.model_fps = runner, detector, tracker, model_fps
        self._cache: dict[Any, np.ndarray] = {}
        self._next_t = 0.0
        self.seen: set[Any] = set()

    def __call__(self, image: np.ndarray, pts: float = 0.0) -> StepOutput:
        t0 = time.perf_counter()
        ended: list[Any] = []
        if self.tracker is not None:
            boxes, scores = self.detector.detect(image)
            tracks = self.tracker.update(boxes, scores)
            ended = list(self.tracker.ended)
            keys, tboxes = [t.id for t in tracks], [t.box.copy() for t in tracks]
            self.runner.forget(ended)
            for e in ended:
                self._cache.pop(e, None)
        else:
            keys, tboxes = [None], None
        self.seen.update(keys)
        t1 = time.perf_counter()
        step = not self.model_fps or pts + 1e-6 >= self._next_t
        if step and self.model_fps:
            self._next_t = max(self._next_t + 1 / self.model_fps, pts)
        todo = [i for i, key in enumerate(keys) if step or key not in self._cache]
        if todo:
            probs = self.runner(image, None if tboxes is None else [tboxes[i] for i in todo], [keys[i] for i in todo])
            for i, p in zip(todo, probs):
                self._cache[keys[i]] = p
        k = len(self.runner.class_names)
        probs = np.stack([self._cache[key] for key in keys]) if keys else np.zeros((0, k), np.float32)
        timings = {"inference": (time.perf_counter() - t1) * 1e3}
        if self.tracker is not None:
            timings["detect"] = (t1 - t0) * 1e3
        return StepOutput(keys, tboxes, probs, ended, timings)

    def close(self) -> None:
        """Forget every state this step created in the runner (the runner may be shared)."""
        self.runner.forget(list(self.seen))
        self.seen.clear()
        self._cache.clear()


@dataclass
class PostOptions:
    """The post-processing options of :class:`KeyPost` (see :class:`actkit.config.StreamConfig`)."""

    smooth: str | None = "ema"
    window: int = 5
    threshold: float = 0.5
    min_event_frames: int = 4
    event_hold: int = 0
    event_lag: int = 0
    reps: tuple[str, str] | None = None
    rep_thresholds: tuple[float, float] = (0.5, 0.5)
    vote: Any = None

    def detector(self, label: str) -> Hysteresis | Lookahead:
        """The event rule of one label: a :class:`Hysteresis`, behind a :class:`Lookahead` when lagged."""
        h = Hysteresis(label, self.threshold, None, self.min_event_frames, self.event_hold)
        return Lookahead(h, self.event_lag) if self.event_lag else h


@dataclass
class KeyPost:
    """Post-processing state of one key (the whole frame, or one track) over a model's classes."""

    names: list[str]
    opts: PostOptions
    event_cols: dict[str, list[int]]
    smoother: Any = None
    events: dict[str, Hysteresis | Lookahead] = field(default_factory=dict)
    counters: dict[str, EventCounter] = field(default_factory=dict)
    reps: RepetitionCounter | None = None
    vote: KofNVote | None = None

    def __post_init__(self) -> None:
        o = self.opts
        self.smoother = make_smoother(o.smooth, o.window, class_groups(self.names))
        self.events = {c: o.detector(c) for c in self.event_cols}
        self.counters = {c: EventCounter(o.threshold) for c in self.event_cols}
        auto = o.reps == AUTO_REPS
        self.reps = RepetitionCounter(o.rep_thresholds[1], o.rep_thresholds[0]) if o.reps and not auto else None
        self.vote = KofNVote(o.vote) if o.vote is not None else None
        self._rep_idx = tuple(self.names.index(c) for c in o.reps) if o.reps and not auto else None
        # --reps auto: a counter per exercise the model knows (<ex>_high, <ex>_low); a repetition counts for the
        # exercise whose positions hold the most probability on the frame it completes
        self.exercise_reps = {ex: (RepetitionCounter(o.rep_thresholds[1], o.rep_thresholds[0]), hi, lo)
                              for ex, (hi, lo) in exercise_positions(self.names).items()} if auto else {}

    def update(self, probs: np.ndarray, frame: int, threshold: float | None = None
               ) -> tuple[np.ndarray, list[Event], list[str], bool | None]:
        """One frame: (smoothed probabilities, events that ended, names counted (``reps`` for a repetition),
        the vote or None). ``threshold``: the binary model's tuned threshold for the vote (default 0.5)."""
        p = self.smoother.update(probs)
        ended, counted = [], []
        for c, h in self.events.items():
            score = float(p[self.event_cols[c]].sum())
            ev = h.update(score, frame)
            if ev is not None:
                ended.append(ev)
            if self.counters[c].update(score):
                counted.append(c)
        if self.reps is not None and self.reps.update(float(p[self._rep_idx[0]]), float(p[self._rep_idx[1]])):
            counted.append("reps")
        if self.exercise_reps:
            mass = {ex: float(p[hi] + p[lo]) for ex, (_, hi, lo) in self.exercise_reps.items()}
            for ex, (counter, hi, lo) in self.exercise_reps.items():
                if counter.update(float(p[hi]), float(p[lo])) and mass[ex] == max(mass.values()) \
                        and mass[ex] >= float(np.max(p)):
                    counted += ["reps", f"reps_{ex}"]
        voted = None
        if self.vote is not None:
            voted = self.vote.update(bool(p[1] >= (threshold if threshold is not None else 0.5)))
        return p, ended, counted, voted

    def flush(self) -> list[Event]:
        """Close the events still open (end of the stream, or the track ended)."""
        return [ev for h in self.events.values() if (ev := h.flush()) is not None]


AUTO_REPS = ("auto",)


def exercise_positions(names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{exercise: (class of <exercise>_high, class of <exercise>_low)}`` for every exercise with both positions."""
    from ..data.vocab import EXERCISES

    names = list(names)
    return {e: (names.index(f"{e}_high"), names.index(f"{e}_low")) for e in EXERCISES
            if f"{e}_high" in names and f"{e}_low" in names}


def post_options(names: Sequence[str], config: Any) -> PostOptions:
    """:class:`PostOptions` from a :class:`~actkit.config.StreamConfig`, checking the classes it names
    (``reps`` ``auto``: a counter per exercise whose two positions the model has)."""
    reps = tuple(split_names(config.reps)) or None
    if reps == AUTO_REPS:
        if names and not exercise_positions(names):
            raise ValueError(f"--reps auto counts exercises a model knows as <exercise>_high / <exercise>_low; "
                             f"this model's classes are {list(names)[:8]}")
        reps, auto = None, True
    else:
        auto = False
    for c in reps or ():
        if c not in names:
            raise ValueError(f"class {c!r} is not one of the model's classes {list(names)}")
    if reps is not None and len(reps) != 2:
        raise ValueError(f"reps needs two class names (position 0, position 1), got {reps}")
    vote = config.vote or None
    if vote is not None:
        KofNVote(vote)
        if len(names) != 2:
            raise ValueError("a k-of-n vote needs a binary model (positive class = class 1)")
    smooth = None if config.smooth in (None, "none") else config.smooth
    opts = PostOptions(smooth, config.window, config.event_threshold, config.min_event_frames, config.event_hold,
                       int(config.event_lag), AUTO_REPS if auto else reps, tuple(config.rep_thresholds), vote)
    opts.detector("check")  # validate the rule before anything opens
    return opts


def split_names(value: str | Sequence[str] | None) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``; empty for None or ``""``."""
    if not value:
        return []
    return [v for v in value.split(",") if v] if isinstance(value, str) else list(value)
