"""`actkit eval`: every number a person needs to trust a crop classifier, plus its plots."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data.crops import CropTable, read_crops_table
from ..data.schema import decode_image
from ..data.transforms import crop_to_input
from ..utils.io import atomic_write_json
from .metrics import classification_report
from .predictor import Predictor, load

log = logging.getLogger(__name__)


def table_for_model(table: CropTable, class_names: list[str], path: str | Path) -> CropTable:
    """Apply the binary view a model was trained with (``not_X`` / ``X``) and check classes match."""
    if len(class_names) == 2 and class_names[0] == f"not_{class_names[1]}" and class_names != table.class_names:
        table = table.binary(class_names[1])
    if table.class_names != class_names:
        raise ValueError(f"{path}: dataset classes {table.class_names} differ from the model's {class_names}")
    return table


def predict_table(predictor: Predictor, table: CropTable, batch: int = 512) -> np.ndarray:
    """Probabilities (N, C>=2) for every row of ``table``."""
    out = []
    for s in range(0, len(table), batch):
        x = np.stack([crop_to_input(decode_image(table.images[i]), table.boxes[i], predictor.data_cfg)
                      for i in range(s, min(s + batch, len(table)))])
        out.append(predictor.infer(x))
    return np.concatenate(out) if out else np.zeros((0, len(predictor.class_names)))


def evaluate_file(model: str | Path, data: str | Path, split: str = "test", out: str | Path | None = None,
                  threshold: float | None = None, plots: bool = True) -> dict[str, Any]:
    """Evaluate a ``.pt`` / ``.onnx`` model on one split of a crop Parquet.

    For binary models the report is given at the model's stored threshold (or ``threshold``),
    and a threshold is tuned on the ``val`` split (never on the split being reported) and
    the split is scored at it too.

    Returns:
        The report dict (also written to ``<out>/eval_<split>.json`` with plots when ``out``).
    """
    predictor = load(model)
    table = table_for_model(read_crops_table(data), predictor.class_names, data)
    sub = table.select(split)
    if len(sub) == 0:
        raise ValueError(f"{data}: the {split!r} split is empty")
    names = predictor.class_names
    binary = len(names) == 2
    thr = threshold if threshold is not None else predictor.threshold
    probs = predict_table(predictor, sub)
    report = classification_report(sub.class_ids, probs, names, threshold=thr if binary else None)
    report.update({"model": str(model), "data": str(data), "split": split})
    if binary and split != "val" and np.any(table.splits == "val"):
        val = table.select("val")
        vr = classification_report(val.class_ids, predict_table(predictor, val), names)
        tuned = vr["tuned_threshold"]
        at = classification_report(sub.class_ids, probs, names, threshold=tuned)
        report["threshold_tuned_on_val"] = tuned
        report["at_tuned_threshold"] = {k: at[k] for k in ("accuracy", "macro_f1", "f1", "balanced_accuracy")}
    if out:
        out = Path(out)
        atomic_write_json(out / f"eval_{split}.json", report)
        if plots:
            from .plots import plot_confusion, plot_pr, plot_reliability, plot_roc

            plot_confusion(np.asarray(report["confusion"]), names, out / f"eval_{split}_confusion.png", title=f"{Path(model).name} on {split}")
            plot_roc(sub.class_ids, probs, names, out / f"eval_{split}_roc.png", title=split)
            plot_pr(sub.class_ids, probs, names, out / f"eval_{split}_pr.png", title=split)
            plot_reliability(sub.class_ids, probs, out / f"eval_{split}_reliability.png", title=split)
    return report


def format_report(report: dict[str, Any]) -> str:
    """Human-readable summary of an evaluation report."""
    lines = [f"{report.get('split', '')}: {report['num_samples']} crops  accuracy {report['accuracy']:.4f}  "
             f"macro-F1 {report['macro_f1']:.4f}  ROC-AUC {_f(report.get('roc_auc'))}  ECE {_f(report.get('ece'))}"]
    if "threshold" in report:
        lines.append(f"threshold {_f(report['threshold'])}  F1(positive) {_f(report.get('f1'))}")
    if "threshold_tuned_on_val" in report:
        t = report["at_tuned_threshold"]
        lines.append(f"threshold tuned on val {_f(report['threshold_tuned_on_val'])}: macro-F1 {t['macro_f1']:.4f} accuracy {t['accuracy']:.4f}")
    lines.append(f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, c in report["per_class"].items():
        lines.append(f"{name:<20}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}{c['support']:>10d}")
    return "\n".join(lines)


def _f(v: Any) -> str:
    return "n/a" if v is None else f"{v:.4f}"
