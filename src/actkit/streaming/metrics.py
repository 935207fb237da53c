"""Evaluation helpers for the live pipeline's goals.

* :func:`frame_accuracy`: per-frame label accuracy.
* :func:`match_events`: event F1 with IoU or onset-tolerance matching, plus the median onset delay.
* :func:`count_mae`: repetition / event count mean absolute error.
* :func:`id_switches`: MOT-style identity switches (per 100 frames) from per-frame boxes and ids.
* :class:`RssProbe`: memory flatness over a long run (RSS slope after warm-up).

Events are ``(label, start_frame, end_frame)`` tuples (inclusive), such as
:class:`actkit.streaming.postprocess.Event`.
"""
from __future__ import annotations

import os
import time
from typing import Any, Mapping, Sequence

import numpy as np

from .tracking.matching import iou_matrix

EventLike = Sequence[Any]  # (label, start_frame, end_frame)


def frame_accuracy(pred: Sequence[Any], true: Sequence[Any], ignore: Any = None) -> float:
    """Fraction of frames whose predicted label equals the true one (frames whose truth is ``ignore`` skipped)."""
    if len(pred) != len(true):
        raise ValueError(f"frame_accuracy: {len(pred)} predictions for {len(true)} true labels")
    pairs = [(p, t) for p, t in zip(pred, true) if ignore is None or t != ignore]
    return float(np.mean([p == t for p, t in pairs])) if pairs else float("nan")


def _event_iou(a: EventLike, b: EventLike) -> float:
    inter = min(a[2], b[2]) - max(a[1], b[1]) + 1
    union = max(a[2], b[2]) - min(a[1], b[1]) + 1
    return max(0, inter) / union if union > 0 else 0.0


def match_events(pred: Sequence[EventLike], true: Sequence[EventLike], mode: str = "iou", iou: float = 0.5,
                 tolerance: int = 8) -> dict[str, Any]:
    """Match predicted to true events one-to-one (same label only) and score them.

    Args:
        pred: predicted events ``(label, start, end)``.
        true: true events.
        mode: ``"iou"`` (temporal IoU >= ``iou``) or ``"onset"`` (|start difference| <= ``tolerance`` frames).
        iou: IoU threshold for ``mode="iou"``.
        tolerance: onset tolerance in frames for ``mode="onset"``.

    Returns:
        ``tp, fp, fn, precision, recall, f1``, ``onset_delays`` (pred start - true start of each match,
        frames; positive means late) and ``median_onset_delay`` (NaN without matches).
    """
    if mode not in ("iou", "onset"):
        raise ValueError(f"unknown event matching mode {mode!r}: iou or onset")
    cands = []
    for i, p in enumerate(pred):
        for j, t in enumerate(true):
            if p[0] != t[0]:
                continue
            if mode == "iou":
                q = _event_iou(p, t)
                if q >= iou:
                    cands.append((-q, i, j))
            elif abs(p[1] - t[1]) <= tolerance:
                cands.append((abs(p[1] - t[1]), i, j))
    cands.sort()
    used_p, used_t, delays = set(), set(), []
    for _, i, j in cands:
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        delays.append(int(pred[i][1] - true[j][1]))
    tp = len(delays)
    fp, fn = len(pred) - tp, len(true) - tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if not pred and not true:
        precision = recall = f1 = 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
            "onset_delays": delays, "median_onset_delay": float(np.median(delays)) if delays else float("nan")}


def count_mae(pred: Sequence[float], true: Sequence[float]) -> float:
    """Mean absolute error of counts (one count per video)."""
    if len(pred) != len(true):
        raise ValueError(f"count_mae: {len(pred)} predicted counts for {len(true)} true counts")
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64)))) if len(pred) else float("nan")


FrameBoxes = Mapping[Any, Sequence[float]]  # id -> (x0, y0, x1, y1)


def id_switches(pred: Sequence[FrameBoxes], true: Sequence[FrameBoxes], iou: float = 0.5) -> dict[str, Any]:
    """Identity switches as in CLEAR-MOT, from per-frame ``{id: box}`` dicts.

    Each frame, a true object keeps its previous predicted id if that id is still present with IoU
    >= ``iou``; the rest are matched greedily by IoU. A switch is a true object matched to a different
    predicted id than at its last match.

    Args:
        pred: per frame, predicted ``{track_id: box}``.
        true: per frame, true ``{object_id: box}`` (same length as ``pred``).
        iou: minimum IoU for a match.

    Returns:
        ``switches``, ``frames``, ``per_100_frames``, ``matches``, ``true_objects`` and ``misses``.
    """
    if len(pred) != len(true):
        raise ValueError(f"id_switches: {len(pred)} predicted frames for {len(true)} true frames")
    last: dict[Any, Any] = {}
    switches = matches = n_true = 0
    for pf, tf in zip(pred, true):
        n_true += len(tf)
        pid, tid = list(pf), list(tf)
        m = iou_matrix(np.array([pf[k] for k in pid], np.float32).reshape(-1, 4),
                       np.array([tf[k] for k in tid], np.float32).reshape(-1, 4))
        pairs: dict[Any, Any] = {}
        used = set()
        for j, t in enumerate(tid):  # keep last frame's correspondences where they still hold
            p = last.get(t)
            if p in pid and p not in used and m[pid.index(p), j] >= iou:
                pairs[t] = p
                used.add(p)
        order = sorted(((-m[i, j], i, j) for i in range(len(pid)) for j in range(len(tid)) if m[i, j] >= iou))
        for _, i, j in order:
            if tid[j] in pairs or pid[i] in used:
                continue
            pairs[tid[j]] = pid[i]
            used.add(pid[i])
        for t, p in pairs.items():
            if t in last and last[t] != p:
                switches += 1
            last[t] = p
        matches += len(pairs)
    frames = len(true)
    return {"switches": switches, "frames": frames, "per_100_frames": 100.0 * switches / frames if frames else float("nan"),
            "matches": matches, "true_objects": n_true, "misses": n_true - matches}


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux ``/proc``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class RssProbe:
    """Samples RSS during a long run and reports whether memory stays flat after warm-up.

    Call :meth:`sample` every step (it reads RSS every ``every`` steps), then :meth:`report`.

    Args:
        every: steps between samples.
        warmup: fraction of the samples ignored at the start (allocator and cache warm-up).
        max_slope_mb_per_1k: slope above which memory is reported as growing.
    """

    def __init__(self, every: int = 50, warmup: float = 0.2, max_slope_mb_per_1k: float = 1.0) -> None:
        self.every, self.warmup, self.max_slope = max(1, every), warmup, max_slope_mb_per_1k
        self.steps: list[int] = []
        self.rss: list[float] = []
        self._t0 = time.perf_counter()

    def sample(self, step: int) -> None:
        if step % self.every == 0:
            self.steps.append(int(step))
            self.rss.append(rss_mb())

    def report(self) -> dict[str, Any]:
        """``start_mb, end_mb, peak_mb, slope_mb_per_1k_steps`` (least squares after warm-up), ``flat``."""
        if len(self.rss) < 3:
            return {"samples": len(self.rss), "flat": None, "slope_mb_per_1k_steps": float("nan")}
        k = int(len(self.rss) * self.warmup)
        x, y = np.asarray(self.steps[k:], np.float64), np.asarray(self.rss[k:], np.float64)
        slope = float(np.polyfit(x, y, 1)[0] * 1000) if len(x) >= 2 and np.ptp(x) > 0 else 0.0
        return {"samples": len(self.rss), "start_mb": self.rss[0], "after_warmup_mb": self.rss[k], "end_mb": self.rss[-1],
                "peak_mb": max(self.rss), "slope_mb_per_1k_steps": slope, "flat": abs(slope) <= self.max_slope,
                "seconds": time.perf_counter() - self._t0}
