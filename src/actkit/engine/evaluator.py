"""`actkit eval`: every number a person needs to trust a crop or clip classifier, plus its plots."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data.crops import CropTable, read_crops_table
from ..data.schema import decode_image
from ..data.transforms import crop_to_input
from ..utils.io import atomic_write_json
from ..utils.progress import progress as progress_bar
from .metrics import classification_report, part_accuracy
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


DEFAULT_VIEWS = {"sampler": "dense", "stride": 2}  # a clip model whose checkpoint does not say


def predict_videos(predictor: Predictor, table: Any, clips: int = 3, stride: int | None = None, batch: int = 8,
                   flip: bool = False, progress: bool | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Video-level probabilities (``clips`` clips averaged per video, and their mirror images with
    ``flip``), labels, and skipped files. Clips are taken as the trainer took them for val and test
    (``predictor.clip_views``: dense windows at the training frame stride, or uniform views of the
    whole video); ``stride`` overrides a dense window's frame stride (default 2 when not recorded)."""
    import torch

    from ..data.video import ClipDataset, eval_sampler
    from .trainer import per_video

    views = predictor.clip_views or DEFAULT_VIEWS
    sampler = eval_sampler({**views, "stride": stride or views["stride"]}, predictor.data_cfg.num_frames)
    ds = ClipDataset(table, predictor.data_cfg, sampler, clips_per_video=clips, flip_views=flip)
    ds.validate(progress=progress)
    probs, labels, videos = [], [], []
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False)
    for b in progress_bar(loader, desc="predicting clips", unit="batch", enable=progress):
        probs.append(predictor.infer(b["input"].numpy()))
        labels.append(b["label"].numpy())
        videos.append(b["video"].numpy())
    if not probs:
        raise ValueError(f"{table.root}: no readable videos in this split")
    p, y = per_video(np.concatenate(probs), np.concatenate(labels), np.concatenate(videos))
    return p, y, ds.skipped


def _evaluate_skeletons(predictor: Any, data: str | Path, split: str, threshold: float | None) -> dict[str, Any]:
    """A skeleton model on one split of a labelled keypoint sequence file (centre windows, first person)."""
    from ..data.keypoint_sequences import load_sequences
    from .data import SkeletonDataset

    rows = [r for r in load_sequences(data) if r.get("split") == split]
    if not rows:
        raise ValueError(f"{data}: no sequences in the {split!r} split (keypoint files need label and split columns)")
    names = [str(r.get("label")) for r in rows]
    first, second = (predictor.class_names + ["", ""])[:2]
    if len(predictor.class_names) == 2 and first == f"not_{second}":  # a binary view: the rest is not_<positive>
        names = [n if n == second else first for n in names]
    unknown = sorted(set(names) - set(predictor.class_names))
    if unknown:
        raise ValueError(f"{data}: labels {unknown} are not the model's classes {predictor.class_names}")
    labels = np.array([predictor.class_names.index(n) for n in names])
    from ..models import list_models, model_entry

    causal = predictor.model_name in list_models() and model_entry(predictor.model_name).family == "skeleton_stream"
    ds = SkeletonDataset([r["keypoints"][:, 0] for r in rows], labels, predictor.data_cfg.num_frames, causal=causal)
    inputs = np.stack([ds[i]["input"].numpy() for i in range(len(ds))])
    probs = np.concatenate([predictor.infer(inputs[i:i + 256]) for i in range(0, len(inputs), 256)])
    report = classification_report(labels, probs, predictor.class_names, threshold=threshold)
    report.update({"level": "sequence", "_labels": labels, "_probs": probs})
    return report


def evaluate_file(model: str | Path, data: str | Path, split: str = "test", out: str | Path | None = None,
                  threshold: float | None = None, plots: bool = True, format: str = "auto", split_index: int = 1,
                  clips: int = 3, flip: bool = False) -> dict[str, Any]:
    """Evaluate a ``.pt`` / ``.onnx`` model on one split of a crop Parquet, an image dataset (Stanford40 or class
    folders) or a video dataset.

    For binary models the report is given at the model's stored threshold (or ``threshold``),
    and a threshold is tuned on the ``val`` split (never on the split being reported) and
    the split is scored at it too. Clip models are scored per video: ``clips`` evenly spaced
    clips of each video (and each clip mirrored left-right too with ``flip``), probabilities averaged.

    Returns:
        The report dict (also written to ``<out>/eval_<split>.json`` with plots when ``out``).
    """
    predictor = load(model)
    names = predictor.class_names
    binary = len(names) == 2
    thr = threshold if threshold is not None else predictor.threshold
    if predictor.task == "skeleton":
        report = _evaluate_skeletons(predictor, data, split, thr if binary else None)
        report.update({"model": str(model), "data": str(data), "split": split})
        if out:
            _write(Path(out), report, report.pop("_labels"), report.pop("_probs"), names, model, split, plots)
        else:
            report.pop("_labels"), report.pop("_probs")
        return report
    if predictor.is_clip:
        from ..data.video import read_videos

        videos = read_videos(data, format=format, split=split_index)
        if videos.class_names != names:
            raise ValueError(f"{data}: dataset classes {videos.class_names} differ from the model's {names}")
        sub = videos.split(split)
        if len(sub) == 0:
            raise ValueError(f"{data}: the {split!r} split is empty")
        probs, labels, skipped = predict_videos(predictor, sub, clips, flip=flip)
        report = classification_report(labels, probs, names, threshold=thr if binary else None)
        if videos.class_parts is not None:
            report["parts"] = part_accuracy(labels, probs.argmax(1), videos.class_parts, _part_names(videos))
        report.update({"model": str(model), "data": str(data), "split": split, "level": "video",
                       "clips_per_video": clips, "flip": flip, "views": dict(predictor.clip_views or DEFAULT_VIEWS),
                       "skipped": [{"path": str(p), "reason": r} for p, r in skipped]})
        if out:
            _write(Path(out), report, labels, probs, names, model, split, plots)
        return report
    if Path(data).is_dir():  # photos in place: Stanford40 or class folders (the image task's data)
        from ..data.images import read_images

        source = read_images(data)
    else:
        source = read_crops_table(data)
    table = table_for_model(source, predictor.class_names, data)
    sub = table.select(split)
    if len(sub) == 0:
        raise ValueError(f"{data}: the {split!r} split is empty")
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
        _write(Path(out), report, sub.class_ids, probs, names, model, split, plots)
    return report


def _part_names(videos: Any) -> tuple[str, ...] | None:
    """Diving48's parts are named; other multi-part formats get part1, part2, ..."""
    if videos.format == "diving48":
        from ..data.dives import PART_NAMES

        return PART_NAMES
    return None


def _write(out: Path, report: dict[str, Any], labels: np.ndarray, probs: np.ndarray, names: list[str],
           model: str | Path, split: str, plots: bool) -> None:
    atomic_write_json(out / f"eval_{split}.json", report)
    if plots:
        from .plots import plot_confusion, plot_pr, plot_reliability, plot_roc

        plot_confusion(np.asarray(report["confusion"]), names, out / f"eval_{split}_confusion.png", title=f"{Path(model).name} on {split}")
        plot_roc(labels, probs, names, out / f"eval_{split}_roc.png", title=split)
        plot_pr(labels, probs, names, out / f"eval_{split}_pr.png", title=split)
        plot_reliability(labels, probs, out / f"eval_{split}_reliability.png", title=split)


def format_report(report: dict[str, Any]) -> str:
    """Human-readable summary of an evaluation report."""
    unit = {"video": "videos", "sequence": "sequences"}.get(report.get("level"), "crops")
    lines = [f"{report.get('split', '')}: {report['num_samples']} {unit}  accuracy {report['accuracy']:.4f}  "
             f"macro-F1 {report['macro_f1']:.4f}  ROC-AUC {_f(report.get('roc_auc'))}  ECE {_f(report.get('ece'))}"]
    if "threshold" in report:
        lines.append(f"threshold {_f(report['threshold'])}  F1(positive) {_f(report.get('f1'))}")
    if "threshold_tuned_on_val" in report:
        t = report["at_tuned_threshold"]
        lines.append(f"threshold tuned on val {_f(report['threshold_tuned_on_val'])}: macro-F1 {t['macro_f1']:.4f} accuracy {t['accuracy']:.4f}")
    if report.get("skipped"):
        lines.append(f"skipped {len(report['skipped'])} unreadable videos: " + ", ".join(s["path"] for s in report["skipped"][:5]))
    if report.get("parts"):
        lines.append("per part: " + "  ".join(f"{k} {v['accuracy']:.4f}" for k, v in report["parts"].items() if k != "all"))
    lines.append(f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, c in report["per_class"].items():
        lines.append(f"{name:<20}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}{c['support']:>10d}")
    return "\n".join(lines)


def _f(v: Any) -> str:
    return "n/a" if v is None else f"{v:.4f}"
