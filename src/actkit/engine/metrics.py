"""Classification metrics for evaluation reports, in plain numpy.

Everything works on integer labels and an ``(N, C)`` probability matrix, so the evaluator, the CLI
and the studio share one definition of each number. A value that is undefined on the given data
(an AUC without positives, a threshold tuned on one class) is NaN in the array functions and
``None`` in :func:`classification_report`, whose result is JSON-serialisable as is.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable

import numpy as np

logger = logging.getLogger(__name__)

# Floor for probabilities inside log(): one confidently wrong sample should cost a lot, not inf.
_LOG_EPS = 1e-12


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Count (true, predicted) label pairs.

    Args:
        y_true: integer labels, shape ``(N,)``.
        y_pred: integer predictions, shape ``(N,)``.
        num_classes: number of classes ``C``.

    Returns:
        ``(C, C)`` int64 matrix; row = true class, column = predicted class.
    """
    t = _labels("y_true", y_true, num_classes)
    p = _labels("y_pred", y_pred, num_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def roc_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic of a binary score.

    Args:
        y_true: binary labels (bool or 0/1), shape ``(N,)``.
        scores: higher means more positive, shape ``(N,)``.

    Returns:
        ``(fpr, tpr, thresholds)`` from the strictest threshold (``inf``, nothing positive) down to
        the lowest score; predicting ``score >= threshold``. ``fpr`` (``tpr``) is all NaN when there
        are no negatives (positives).
    """
    tps, fps, thr = _binary_counts(*_binary_inputs(y_true, scores))
    tps, fps, thr = np.r_[0, tps], np.r_[0, fps], np.r_[np.inf, thr]
    return _rate(fps, fps[-1]), _rate(tps, tps[-1]), thr


def pr_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve of a binary score.

    Args:
        y_true: binary labels (bool or 0/1), shape ``(N,)``.
        scores: higher means more positive, shape ``(N,)``.

    Returns:
        ``(precision, recall, thresholds)``, one point per distinct score, from the highest score
        down (recall non-decreasing); predicting ``score >= threshold``. ``recall`` is all NaN when
        there are no positives.
    """
    tps, fps, thr = _binary_counts(*_binary_inputs(y_true, scores))
    return tps / (tps + fps), _rate(tps, tps[-1]), thr


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve by the trapezoid rule.

    Args:
        x: monotonic (increasing or decreasing) abscissae, at least two.
        y: ordinates, same length.

    Returns:
        The area, NaN if the points contain NaN.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"auc needs two 1-D arrays of equal length >= 2, got {x.shape} and {y.shape}")
    dx = np.diff(x)
    direction = 1.0
    if np.any(dx < 0):
        if np.any(dx > 0):
            raise ValueError("auc: x is neither increasing nor decreasing")
        direction = -1.0
    return direction * float(np.sum(dx * (y[1:] + y[:-1]) / 2))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of a binary score; NaN unless both classes are present."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    return auc(fpr, tpr)


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: precision at each recall step, weighted by the step (no interpolation).

    Args:
        y_true: binary labels (bool or 0/1), shape ``(N,)``.
        scores: higher means more positive, shape ``(N,)``.

    Returns:
        AP in ``[0, 1]``; NaN when there are no positives.
    """
    precision, recall, _ = pr_curve(y_true, scores)
    # Trapezoids would reward the optimistic straight line between PR points; steps do not.
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> tuple[float, dict[str, np.ndarray]]:
    """Expected calibration error over equal-width confidence bins.

    Bins are right-closed ``(lo, hi]`` (0 goes in the first), so a confidence of exactly 1.0 falls
    in the top bin.

    Args:
        confidence: confidence of each prediction in ``[0, 1]``, shape ``(N,)``.
        correct: whether each prediction was right, shape ``(N,)``.
        bins: number of bins.

    Returns:
        ``(ece, stats)``: ECE = sum over bins of ``count / N * |accuracy - confidence|``; ``stats``
        holds ``edges`` (``bins + 1``), and per bin ``count``, mean ``confidence`` and
        ``accuracy`` (NaN for empty bins).
    """
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    hit = np.asarray(correct, dtype=np.float64).ravel()
    if conf.size == 0:
        raise ValueError("expected_calibration_error: no samples")
    if conf.shape != hit.shape:
        raise ValueError(f"confidence and correct differ in length: {conf.size} vs {hit.size}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=bins)
    sum_hit = np.bincount(idx, weights=hit, minlength=bins)
    ece = float(np.abs(sum_hit - sum_conf).sum() / conf.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = {"edges": edges, "count": count, "confidence": sum_conf / count, "accuracy": sum_hit / count}
    return ece, stats


# Binary metrics from confusion counts; the arguments are arrays over candidate thresholds.
_THRESHOLD_METRICS: dict[str, Callable[..., np.ndarray]] = {
    "f1": lambda tp, fp, fn, tn: _div0(2 * tp, 2 * tp + fp + fn),
    "accuracy": lambda tp, fp, fn, tn: (tp + tn) / (tp + fp + fn + tn),
    "balanced_accuracy": lambda tp, fp, fn, tn: (_div0(tp, tp + fn) + _div0(tn, tn + fp)) / 2,
}


def tune_threshold(y_true: np.ndarray, scores: np.ndarray, metric: str = "f1") -> tuple[float, float]:
    """Threshold on ``scores`` that maximises a binary metric on these data.

    Candidates are the distinct scores (predicting ``score >= threshold``). When several
    consecutive candidates reach the best value, the midpoint of the longest such run is returned:
    every threshold inside the run gives the same predictions here, and the middle is the one
    least likely to flip when scores drift on new data.

    Args:
        y_true: binary labels (bool or 0/1), shape ``(N,)``.
        scores: higher means more positive, shape ``(N,)``.
        metric: ``"f1"`` (of the positive class), ``"accuracy"`` or ``"balanced_accuracy"``.

    Returns:
        ``(threshold, value)``; ``(nan, nan)`` when only one class is present.
    """
    if metric not in _THRESHOLD_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(_THRESHOLD_METRICS)}")
    tp, fp, thr = _binary_counts(*_binary_inputs(y_true, scores))
    pos, neg = tp[-1], fp[-1]
    if pos == 0 or neg == 0:
        logger.warning("tune_threshold: y_true holds one class only; threshold is undefined")
        return math.nan, math.nan
    values = _THRESHOLD_METRICS[metric](tp, fp, pos - tp, neg - fp)
    best = values.max()
    # Exact float ties are what make a plateau; a tolerance absorbs rounding in the divisions.
    on_best = np.r_[False, values >= best - 1e-12, False].astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(on_best) == 1), np.flatnonzero(np.diff(on_best) == -1) - 1
    k = int(np.argmax(ends - starts))
    return float((thr[starts[k]] + thr[ends[k]]) / 2), float(best)


def _checked(y_true: np.ndarray, probs: np.ndarray, class_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(probs, labels)`` as float64 and int64 arrays, after checking their shapes and values."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must have shape (N, C) with C >= 2, got {p.shape}")
    n, c = p.shape
    if n == 0:
        raise ValueError("classification_report: no samples")
    if len(class_names) != c or len(set(class_names)) != c:
        raise ValueError(f"need {c} distinct class names, got {list(class_names)}")
    y = _labels("y_true", y_true, c)
    if y.size != n:
        raise ValueError(f"y_true has {y.size} labels but probs has {n} rows")
    if not np.isfinite(p).all() or p.min() < -1e-6 or p.max() > 1 + 1e-6:
        raise ValueError("probs must be finite probabilities in [0, 1]; apply softmax to logits first")
    if np.abs(p.sum(1) - 1).max() > 1e-3:
        logger.warning("probs rows do not sum to 1; calibration metrics will be off")
    return p, y


def _ranking_scores(y: np.ndarray, p: np.ndarray, support: np.ndarray) -> tuple[float, float, float]:
    """ROC AUC, average precision and Brier score: of class 1 for a binary problem, else macro one-vs-rest
    over the classes with both positives and negatives (and the multi-class Brier score)."""
    n, c = p.shape
    if c == 2:
        return roc_auc(y == 1, p[:, 1]), average_precision(y == 1, p[:, 1]), np.mean((p[:, 1] - y) ** 2)
    # A class present in every sample has no negatives, so its one-vs-rest AUC is undefined too.
    scored = [k for k in range(c) if 0 < support[k] < n]
    roc = np.mean([roc_auc(y == k, p[:, k]) for k in scored]) if scored else math.nan
    ap = np.mean([average_precision(y == k, p[:, k]) for k in scored]) if scored else math.nan
    return roc, ap, np.mean(np.sum((p - np.eye(c)[y]) ** 2, axis=1))


def classification_report(
    y_true: np.ndarray,
    probs: np.ndarray,
    class_names: list[str],
    threshold: float | None = None,
) -> dict[str, Any]:
    """All evaluation numbers of a classifier, as a JSON-serialisable dict.

    Conventions: precision/recall/F1 of a class that makes the ratio 0/0 are 0. ``macro_f1``
    averages the F1 of every class that occurs in ``y_true`` or in the predictions (a class in
    neither has no defined F1); for binary problems that is the mean of both classes' F1, while
    ``f1`` is the positive class's alone. ``balanced_accuracy`` is the mean recall over classes
    present in ``y_true``. ``roc_auc``/``pr_auc`` are of class 1 for binary problems and macro
    one-vs-rest otherwise, over classes that have both positives and negatives in ``y_true``.
    ``ece`` uses the top-1 (argmax) confidence. ``brier`` is ``mean((p1 - y)^2)`` for binary
    problems and the multi-class ``mean(sum_c (p_c - onehot_c)^2)`` otherwise.

    Args:
        y_true: integer labels in ``[0, C)``, shape ``(N,)``.
        probs: class probabilities, shape ``(N, C)``.
        class_names: ``C`` distinct names.
        threshold: binary only: predict class 1 when ``probs[:, 1] >= threshold`` (default 0.5).

    Returns:
        Dict with ``num_samples``, ``accuracy``, ``macro_f1``, ``balanced_accuracy``, ``roc_auc``,
        ``pr_auc``, ``ece``, ``brier``, ``nll``, ``per_class`` (name -> ``precision``, ``recall``,
        ``f1``, ``support``) and ``confusion`` (rows = true); binary adds ``f1``, ``threshold``,
        ``tuned_threshold`` and ``f1_at_tuned``. Undefined values are ``None``.
    """
    p, y = _checked(y_true, probs, class_names)
    n, c = p.shape

    binary = c == 2
    if binary:
        threshold = 0.5 if threshold is None else float(threshold)
        pred = (p[:, 1] >= threshold).astype(np.int64)
    elif threshold is not None:
        raise ValueError("threshold applies to binary (2-class) problems only")
    else:
        pred = p.argmax(1)

    cm = confusion_matrix(y, pred, c)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    precision, recall, f1 = _div0(tp, predicted), _div0(tp, support), _div0(2 * tp, support + predicted)

    roc, ap, brier = _ranking_scores(y, p, support)
    ece, _ = expected_calibration_error(p.max(1), p.argmax(1) == y)
    nll = -np.mean(np.log(np.clip(p[np.arange(n), y], _LOG_EPS, 1.0)))

    report: dict[str, Any] = {
        "num_samples": int(n),
        "accuracy": _num(np.trace(cm) / n),
        "macro_f1": _num(f1[(support > 0) | (predicted > 0)].mean()),
        "balanced_accuracy": _num(recall[support > 0].mean()),
        "roc_auc": _num(roc),
        "pr_auc": _num(ap),
        "ece": _num(ece),
        "brier": _num(brier),
        "nll": _num(nll),
        "per_class": {
            name: {"precision": _num(precision[k]), "recall": _num(recall[k]), "f1": _num(f1[k]),
                   "support": int(support[k])}
            for k, name in enumerate(class_names)
        },
        "confusion": cm.tolist(),
    }
    if binary:
        tuned, f1_tuned = tune_threshold(y == 1, p[:, 1], metric="f1")
        report.update(f1=_num(f1[1]), threshold=threshold, tuned_threshold=_num(tuned), f1_at_tuned=_num(f1_tuned))
    return report


def part_accuracy(y_true: np.ndarray, y_pred: np.ndarray, class_parts: list[tuple[str, ...]],
                  part_names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Accuracy of each part of multi-part labels (a dive's take-off, somersaults, twists, position).

    A prediction gets a part right when the predicted class has the true class's value for that
    part, so it shows which part a model confuses whatever head it has (flat or factorised).

    Args:
        y_true, y_pred: integer class labels, shape ``(N,)``.
        class_parts: each class's parts, all of one length.
        part_names: one name per part (default ``part1``, ``part2``, ...).

    Returns:
        ``{part name: {"accuracy": float, "values": {value: recall of that value}}}`` plus
        ``"all": accuracy`` (every part right: the class accuracy).
    """
    parts = np.asarray([tuple(map(str, p)) for p in class_parts], dtype=object)
    if parts.ndim != 2:
        raise ValueError(f"class_parts must give every class the same number of parts, got {list(class_parts)}")
    c, k = parts.shape
    names = tuple(part_names) if part_names else tuple(f"part{i + 1}" for i in range(k))
    if len(names) != k:
        raise ValueError(f"{k} parts per class but {len(names)} part names: {names}")
    y, pred = _labels("y_true", y_true, c), _labels("y_pred", y_pred, c)
    if y.size != pred.size:
        raise ValueError(f"y_true has {y.size} labels but y_pred has {pred.size}")
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        right = parts[y, i] == parts[pred, i]
        values = {v: _num(right[parts[y, i] == v].mean()) for v in dict.fromkeys(parts[y, i])}
        out[name] = {"accuracy": _num(right.mean()), "values": values}
    out["all"] = _num(np.mean(y == pred))
    return out


def _labels(name: str, a: np.ndarray, num_classes: int) -> np.ndarray:
    """Validate integer labels in ``[0, num_classes)`` and return them as a flat int64 array."""
    a = np.asarray(a)
    if a.size == 0:
        raise ValueError(f"{name} is empty: need at least one sample")
    if a.dtype.kind not in "biu":
        if a.dtype.kind != "f" or not np.all(a == np.round(a)):
            raise ValueError(f"{name} must hold integer class labels, got dtype {a.dtype}")
    a = a.astype(np.int64).ravel()
    if a.min() < 0 or a.max() >= num_classes:
        raise ValueError(f"{name} has labels outside [0, {num_classes}): min {a.min()}, max {a.max()}")
    return a


def _binary_inputs(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(y_true).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError("empty input: need at least one sample")
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores differ in length: {y.size} vs {s.size}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must be binary (bool or 0/1); for multi-class pass y_true == k")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y.astype(bool), s


def _binary_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true/false positives at each distinct score, highest first.

    Equal scores form one threshold: moving a threshold past a tie flips every tied sample at
    once, so counting them one at a time would invent operating points no threshold can reach.
    """
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last]
    return tps, last + 1 - tps, s[last]


def _rate(counts: np.ndarray, total: int) -> np.ndarray:
    return counts / total if total else np.full(counts.shape, np.nan)


def _div0(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (sklearn's ``zero_division=0``)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _num(x: Any) -> float | None:
    """A plain float for JSON, or None where the value is undefined."""
    x = float(x)
    return None if math.isnan(x) else x
