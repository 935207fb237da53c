"""Event and repetition scores of evaluated streams, and the sweep that picks the event rule on val."""
from __future__ import annotations

import itertools
import logging
from typing import Any, Sequence

import numpy as np

from ..data.video.framelabels import Video
from ..data.vocab import NON_EVENTS

log = logging.getLogger(__name__)

from .postprocess import hysteresis_events
from .replay import StreamClasses, VideoResult

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


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 from counts, as :func:`~.metrics.match_events` scores (all 1 for no events)."""
    if not tp + fp + fn:
        return {"tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _stat(fn: Any, x: list[float]) -> float | None:
    return float(fn(x)) if x else None


EVENT_KINDS = ("mocap", "exercise", "action")  # segments that are events (not idle, not transitions)


def event_scores(videos: list[Video], label_probs: list[np.ndarray], labels: list[str], threshold: float, min_frames: int,
            iou: float, hold: int = 0, lag: int = 0) -> dict[str, Any]:
    from .metrics import match_events

    per_label: dict[str, list[int]] = {}
    delays, delays_ms = [], []
    for v, lp in zip(videos, label_probs):
        true = [(s["label"], s["start"], s["end"]) for s in v.people[0].segments if s["kind"] in EVENT_KINDS]
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


def tune_events(videos: list[Video], results: list[VideoResult], cls: StreamClasses, iou: float = 0.5,
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
                e = event_scores(videos, lps, cls.labels, th, mf, iou, hold, lag)
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


def rep_scores(items: list[dict[str, Any]], cls: StreamClasses) -> dict[str, Any]:
    from .metrics import count_mae

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


def accuracy_scores(results: list[VideoResult], offline: bool) -> dict[str, Any]:
    from .metrics import frame_accuracy

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


