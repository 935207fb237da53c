"""Diagnostic plots for evaluation and training reports.

Each function draws on a bare :class:`matplotlib.figure.Figure` rather than through ``pyplot``:
that needs no GUI backend and keeps no global figure state, so plotting is safe on headless
machines, in studio worker threads and under whatever backend the user configured. Every function
writes a PNG atomically and returns its path.
"""
from __future__ import annotations

import logging
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

from actkit.engine.metrics import auc, average_precision, expected_calibration_error, pr_curve, roc_curve
from actkit.utils.io import atomic_path

logger = logging.getLogger(__name__)

_DPI = 110
_MAX_CURVES = 10  # more one-vs-rest curves than this is a tangle nobody can read
_MAX_ANNOTATED = 20  # beyond this many classes, cell text no longer fits in a cell


def plot_confusion(
    cm: np.ndarray, class_names: list[str], path: str | os.PathLike, title: str = "", normalize: bool = True
) -> Path:
    """Confusion-matrix heatmap; cells show the count and the row-normalised percentage.

    Args:
        cm: ``(C, C)`` counts, row = true class.
        class_names: ``C`` names.
        path: PNG destination.
        title: figure title.
        normalize: colour by row-normalised fraction (recall per cell) instead of raw count.

    Returns:
        ``path`` as a :class:`Path`.
    """
    cm = np.asarray(cm)
    c = cm.shape[0]
    if cm.shape != (c, c) or len(class_names) != c:
        raise ValueError(f"cm must be square and match {len(class_names)} class names, got {cm.shape}")
    rows = cm.sum(1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    side = min(4.0 + 0.3 * c, 20.0)
    fig, ax = new_figure((side + 1.2, side))
    annotate = c <= _MAX_ANNOTATED
    # Without cell text, a square-root colour scale keeps small confusions visible next to the diagonal.
    from matplotlib.colors import Normalize, PowerNorm

    vmax = 1 if normalize else max(cm.max(), 1)
    norm = Normalize(0, vmax) if annotate else PowerNorm(0.5, 0, vmax)
    im = ax.imshow(frac if normalize else cm, cmap="Blues", norm=norm)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    fontsize = float(np.clip(200 / c, 6.5, 10))
    ticks = np.arange(c)
    ax.set_xticks(ticks, labels=class_names, rotation=45 if c <= 10 else 90, ha="right" if c <= 10 else "center",
                  rotation_mode="anchor" if c <= 10 else "default", fontsize=fontsize)
    ax.set_yticks(ticks, labels=class_names, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if annotate:
        shade = frac if normalize else cm / max(cm.max(), 1)
        for i in range(c):
            for j in range(c):
                text = f"{cm[i, j]}\n{frac[i, j]:.0%}" if cm[i, j] else "0"
                ax.text(j, i, text, ha="center", va="center", fontsize=min(fontsize, 9) * 0.85,
                        color="white" if shade[i, j] > 0.5 else "black")
    ax.set_title(title or f"confusion ({cm.sum()} samples, accuracy {np.trace(cm) / max(cm.sum(), 1):.1%})")
    return save_figure(fig, path)


def plot_roc(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], path: str | os.PathLike,
             title: str = "") -> Path:
    """ROC curves: class 1 for binary problems, one-vs-rest per class otherwise.

    Args:
        y_true: integer labels, shape ``(N,)``.
        probs: class probabilities, shape ``(N, C)``.
        class_names: ``C`` names.
        path: PNG destination.
        title: figure title.

    Returns:
        ``path`` as a :class:`Path`.
    """
    y, p = np.asarray(y_true).ravel(), np.asarray(probs, dtype=np.float64)
    fig, ax = new_figure((6, 5.5))
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="grey", label="chance")
    classes, note = _curve_classes(y, p.shape[1])
    for k in classes:
        fpr, tpr, _ = roc_curve(y == k, p[:, k])
        ax.plot(fpr, tpr, lw=1.6, label=f"{class_names[k]} (AUC {auc(fpr, tpr):.3f})")
    _finish_curves(ax, classes, "false positive rate", "true positive rate", "lower right")
    ax.set_title(title or f"ROC{note}")
    return save_figure(fig, path)


def plot_pr(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], path: str | os.PathLike,
            title: str = "") -> Path:
    """Precision-recall curves with average precision: class 1 for binary, one-vs-rest otherwise.

    Args:
        y_true: integer labels, shape ``(N,)``.
        probs: class probabilities, shape ``(N, C)``.
        class_names: ``C`` names.
        path: PNG destination.
        title: figure title.

    Returns:
        ``path`` as a :class:`Path`.
    """
    y, p = np.asarray(y_true).ravel(), np.asarray(probs, dtype=np.float64)
    fig, ax = new_figure((6, 5.5))
    classes, note = _curve_classes(y, p.shape[1])
    for k in classes:
        precision, recall, _ = pr_curve(y == k, p[:, k])
        ap = average_precision(y == k, p[:, k])
        # steps-pre draws precision P_n over (R_{n-1}, R_n], the same step function AP integrates.
        ax.plot(np.r_[0.0, recall], np.r_[precision[0], precision], drawstyle="steps-pre", lw=1.6,
                label=f"{class_names[k]} (AP {ap:.3f})")
    if p.shape[1] == 2 and classes:
        ax.axhline(np.mean(y == 1), ls="--", lw=1, color="grey", label="chance (prevalence)")
    _finish_curves(ax, classes, "recall", "precision", "lower left")
    ax.set_title(title or f"precision-recall{note}")
    return save_figure(fig, path)


def plot_reliability(y_true: np.ndarray, probs: np.ndarray, path: str | os.PathLike, title: str = "") -> Path:
    """Reliability diagram of the top-1 confidence, with a histogram of confidences below.

    Args:
        y_true: integer labels, shape ``(N,)``.
        probs: class probabilities, shape ``(N, C)``.
        path: PNG destination.
        title: figure title; the ECE is appended.

    Returns:
        ``path`` as a :class:`Path`.
    """
    y, p = np.asarray(y_true).ravel(), np.asarray(probs, dtype=np.float64)
    conf, correct = p.max(1), p.argmax(1) == y
    ece, st = expected_calibration_error(conf, correct)
    fig, (ax, axh) = new_figure((5.5, 6.5), nrows=2, sharex=True, height_ratios=[3, 1])
    left, width, ok = st["edges"][:-1], np.diff(st["edges"]), st["count"] > 0
    acc, mean_conf = st["accuracy"][ok], st["confidence"][ok]
    ax.bar(left[ok], acc, width=width[ok], align="edge", color="tab:blue", edgecolor="black", lw=0.5,
           label="accuracy")
    ax.bar(left[ok], mean_conf - acc, bottom=acc, width=width[ok], align="edge", facecolor="none",
           edgecolor="tab:red", hatch="//", lw=0.8, label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{title + ' - ' if title else ''}ECE {ece:.3f} (N={conf.size})")
    axh.bar(left, st["count"], width=width, align="edge", color="tab:gray", edgecolor="black", lw=0.5)
    axh.axvline(conf.mean(), color="tab:red", lw=1.2, label=f"mean confidence {conf.mean():.2f}")
    axh.axvline(correct.mean(), color="tab:blue", ls="--", lw=1.2, label=f"accuracy {correct.mean():.2f}")
    axh.set(xlabel="top-1 confidence", ylabel="samples")
    axh.legend(loc="upper left", fontsize=7)
    return save_figure(fig, path)


def plot_history(history: list[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Training curves from per-epoch records: a loss, a metric and a learning-rate panel.

    Keys containing ``loss`` go to the loss panel, ``lr`` / ``lr_*`` to the learning-rate panel,
    and other numeric keys whose values all lie in ``[0, 1]`` (accuracy, F1, AUC, ...) to the
    metric panel; timings and counts are left out because they would flatten that axis. Panels
    without keys are dropped; epochs missing a key leave a gap.

    Args:
        history: one dict per epoch, e.g. ``{"epoch": 3, "train_loss": .4, "val_macro_f1": .8, "lr": 1e-3}``.
        path: PNG destination.
        title: figure title.

    Returns:
        ``path`` as a :class:`Path`.
    """
    keys = list(dict.fromkeys(k for rec in history for k in rec))
    series = {k: np.array([_as_float(rec.get(k)) for rec in history]) for k in keys}
    series = {k: v for k, v in series.items() if np.isfinite(v).any()}
    epoch = series.pop("epoch", None)
    x = epoch if epoch is not None and np.isfinite(epoch).all() else np.arange(1, len(history) + 1)
    loss = [k for k in series if "loss" in k]
    lr = [k for k in series if k == "lr" or k.startswith("lr_")]
    metric = [k for k in series if k not in loss and k not in lr
              and np.nanmin(series[k]) >= 0 and np.nanmax(series[k]) <= 1]
    panels = [(n, ks) for n, ks in (("loss", loss), ("metric", metric), ("learning rate", lr)) if ks]
    if not panels:
        fig, ax = new_figure((6, 2))
        ax.text(0.5, 0.5, "no numeric history to plot", ha="center", va="center")
        ax.set_axis_off()
        return save_figure(fig, path)
    fig, axes = new_figure((7.5, 2.6 * len(panels) + 0.6), nrows=len(panels), sharex=True, squeeze=False)
    for ax, (name, ks) in zip(axes[:, 0], panels):
        for k in ks:
            v = series[k]
            m = np.isfinite(v)
            ax.plot(x[m], v[m], marker="o" if len(x) <= 40 else None, ms=3, lw=1.4, label=k)
        values = np.concatenate([series[k][np.isfinite(series[k])] for k in ks])
        # Schedules decay by orders of magnitude; a log axis shows warm-up and tail alike.
        if name == "learning rate" and values.min() > 0 and values.max() / values.min() > 20:
            ax.set_yscale("log")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_bars(values: dict[str, float], path: str | os.PathLike, title: str = "", xlabel: str = "") -> Path:
    """Horizontal bar chart with the value printed at each bar, top to bottom in dict order.

    Args:
        values: label -> value, e.g. latency in ms per backend.
        path: PNG destination.
        title: figure title.
        xlabel: x-axis label (the unit).

    Returns:
        ``path`` as a :class:`Path`.
    """
    names, vals = list(values), np.array([_as_float(v) for v in values.values()])
    fig, ax = new_figure((7, max(2.0, 0.4 * len(names) + 1.2)))
    if not names:
        ax.text(0.5, 0.5, "no data", ha="center", va="center")
        ax.set_axis_off()
    else:
        bars = ax.barh(np.arange(len(names)), np.nan_to_num(vals), color="tab:blue")
        ax.set_yticks(np.arange(len(names)), labels=names)
        ax.invert_yaxis()
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in vals], padding=3, fontsize=8)
        ax.margins(x=0.15)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_seeds(values: dict[str, list[float]], path: str | os.PathLike, title: str = "", xlabel: str = "",
               reference: str = "") -> Path:
    """One row per run: a dot per seed and a bar at the mean, top to bottom in dict order, so the
    spread between seeds is seen beside the differences between runs.

    Args:
        values: run name -> one value per seed (e.g. test macro-F1).
        path: PNG destination.
        title: figure title.
        xlabel: x-axis label.
        reference: a run whose mean is drawn as a dashed line across every row ("" for none).

    Returns:
        ``path`` as a :class:`Path`.
    """
    names = list(values)
    fig, ax = new_figure((7, max(2.0, 0.35 * len(names) + 1.2)))
    if not names:
        ax.text(0.5, 0.5, "no data", ha="center", va="center")
        ax.set_axis_off()
    else:
        for i, name in enumerate(names):
            v = np.array([_as_float(x) for x in values[name]])
            ax.scatter(v, np.full(len(v), i), s=18, color="tab:blue", alpha=0.7, zorder=3)
            if len(v):
                ax.plot([np.nanmean(v)] * 2, [i - 0.3, i + 0.3], color="black", lw=2, zorder=4)
        if reference in values and len(values[reference]):
            ax.axvline(float(np.nanmean(values[reference])), color="tab:red", ls="--", lw=1, label=f"{reference} mean")
            ax.legend(loc="lower left", fontsize=8)
        ax.set_yticks(np.arange(len(names)), labels=names)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return save_figure(fig, path)


def new_figure(figsize: tuple[float, float], nrows: int = 1, **subplots_kw: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, 1, **subplots_kw)


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    logger.debug("wrote %s", path)
    return path


def _curve_classes(y: np.ndarray, num_classes: int) -> tuple[list[int], str]:
    """Classes to draw a curve for, and a title note when some were left out."""
    if num_classes == 2:
        return ([1] if 0 < np.sum(y == 1) < y.size else []), ""
    support = np.bincount(y, minlength=num_classes)
    drawable = [k for k in np.argsort(-support, kind="stable") if 0 < support[k] < y.size]
    if len(drawable) <= _MAX_CURVES:
        return [int(k) for k in drawable], ""
    return [int(k) for k in drawable[:_MAX_CURVES]], f" (top {_MAX_CURVES} of {len(drawable)} classes by support)"


def _finish_curves(ax: Any, classes: list[int], xlabel: str, ylabel: str, legend_loc: str) -> None:
    if not classes:
        ax.text(0.5, 0.5, "undefined: y_true lacks positives or negatives", ha="center", va="center")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=xlabel, ylabel=ylabel, aspect="equal")
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_loc, fontsize=8)


def _as_float(v: Any) -> float:
    """A number as float; anything else (missing, text, bool) as NaN so the plot leaves a gap."""
    return float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else math.nan


def epoch_plots(folder: Path, stem: str, report: dict[str, Any], probs: np.ndarray, labels: np.ndarray,
                 class_names: list[str], reliability: bool = False) -> None:
    """An epoch's (or the test split's) confusion, ROC and PR plots, and optionally the reliability diagram."""
    folder.mkdir(parents=True, exist_ok=True)
    plot_confusion(np.asarray(report["confusion"]), class_names, folder / f"{stem}_confusion.png", title=stem)
    plot_roc(labels, probs, class_names, folder / f"{stem}_roc.png", title=stem)
    plot_pr(labels, probs, class_names, folder / f"{stem}_pr.png", title=stem)
    if reliability:
        plot_reliability(labels, probs, folder / f"{stem}_reliability.png", title=stem)
