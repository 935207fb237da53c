"""``actkit app dives``: the dive number and its words from a clip model trained on Diving48 classes.

The clip model (any of task ``clip`` whose classes are Diving48's vocab rows, ``Back_25som_15Twis_PIKE``; a
factorised head predicts them part by part) sees the whole clip (:meth:`~actkit.engine.predictor.Predictor.predict_clip`).
The most likely class gives the dive: its FINA number (:func:`~actkit.data.dives.format_dive_number`; None for
the few Diving48 classes no number names) and its words (``back 2.5 somersaults 1.5 twists pike``). Each part's
confidence is the probability of its value summed over every class that shares it (how sure the model is of the
take-off, the somersaults, the twists and the position, whatever the rest).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

PARTS = ("takeoff", "somersaults", "twists", "position")


def dive_report(probs: np.ndarray, class_names: Sequence[str], source: str | None = None) -> dict[str, Any]:
    """The dive of one clip's class probabilities (see the module docstring).

    Raises:
        ValueError: the classes are not Diving48 vocab rows (not a dive model).
    """
    rows, labels = _vocab(class_names)
    probs = np.asarray(probs, np.float64)
    best = int(np.argmax(probs))
    label = labels[best]
    parts = {part: {"value": label.parts[i], "confidence": round(float(sum(p for p, r in zip(probs, rows)
                                                                              if r[i] == rows[best][i])), 4)}
             for i, part in enumerate(PARTS)}
    order = np.argsort(-probs)[:3]
    return {"source": source, "dive": _number(label), "words": label.words, "text": label.text,
            "confidence": round(float(probs[best]), 4),
            "parts": parts, "top": [{"class": str(class_names[k]), "probability": round(float(probs[k]), 4)}
                                    for k in order]}


def dives(source: str | Path, model: str | Path, clips: int = 2, flip: bool = False,
          progress: bool | None = None) -> list[dict[str, Any]]:
    """Every video of ``source`` (a file, or a folder of videos, sorted) through the dive model; a video that
    cannot be read is reported with its error instead of a dive.

    Each video is read as ``actkit eval`` reads it (the views the model was trained for, ``clips`` of them
    averaged, and their mirror images with ``flip``), so the app scores what the evaluation scores.
    """
    from ..data.video import VideoRecord, VideoTable
    from ..engine.predictor import VIDEO_EXTS, load

    predictor = _dive_model(model, load)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{source}: no such file or folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_EXTS) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{source}: no videos ({', '.join(sorted(VIDEO_EXTS))})")
    names = predictor.class_names
    table = VideoTable([VideoRecord(str(f), names[0], 0, str(f), "test") for f in files], list(names), root=str(source))
    return _reports(predictor, table, clips, flip, progress)


def evaluate_dives(data: str | Path, model: str | Path, split: str = "test", clips: int = 2, flip: bool = False,
                   progress: bool | None = None) -> dict[str, Any]:
    """The app on one split of a Diving48-format set (``actkit synth dives`` or Diving48 itself): how often the
    dive number is right, each part, and how well its confidence ranks right above wrong.

    Returns:
        ``{"videos", "dive_number_accuracy", "class_accuracy", "parts": {part: accuracy}, "confidence":
        {"right", "wrong"} (means), "at_confidence": [{"min", "share", "accuracy"}], "skipped", "errors"}``.
    """
    from ..data.dives import label_from_vocab
    from ..data.video import read_videos
    from ..engine.predictor import load

    predictor = _dive_model(model, load)
    videos = read_videos(data)
    if list(videos.class_names) != list(predictor.class_names):
        raise ValueError(f"{data}: its classes differ from the dive model's ({len(videos.class_names)} vs "
                         f"{len(predictor.class_names)}; first {videos.class_names[:2]} vs {predictor.class_names[:2]})")
    sub = videos if split == "all" else videos.split(split)
    if len(sub) == 0:
        raise ValueError(f"{data}: the {split!r} split is empty")
    reports = _reports(predictor, sub, clips, flip, progress)
    truth = {r.path: label_from_vocab(r.label.split("_")) for r in sub}
    done = [r for r in reports if "error" not in r]
    if not done:
        raise ValueError(f"{data}: none of the {len(sub)} {split} videos could be read")

    right = np.array([truth[r["source"]].text == r["text"] for r in done])
    right_number = np.array([(_number(truth[r["source"]]) or truth[r["source"]].text) == (r["dive"] or r["text"])
                             for r in done])
    conf = np.array([r["confidence"] for r in done])
    parts = {part: round(float(np.mean([truth[r["source"]].parts[i] == r["parts"][part]["value"] for r in done])), 4)
             for i, part in enumerate(PARTS)}
    levels = []
    for lo in (0.0, 0.5, 0.7, 0.9):
        keep = conf >= lo
        levels.append({"min": lo, "share": round(float(keep.mean()), 4),
                       "accuracy": round(float(right[keep].mean()), 4) if keep.any() else None})
    return {"data": str(data), "model": str(model), "split": split, "videos": len(done),
            "dive_number_accuracy": round(float(right_number.mean()), 4), "class_accuracy": round(float(right.mean()), 4),
            "parts": parts, "confidence": {"right": round(float(conf[right].mean()), 4) if right.any() else None,
                                           "wrong": round(float(conf[~right].mean()), 4) if (~right).any() else None},
            "at_confidence": levels, "clips": clips, "flip": flip,
            "errors": [r for r in reports if "error" in r]}


def _vocab(class_names: Sequence[str]) -> tuple[list[list[str]], list[Any]]:
    """Each class name's vocab row (``Back_25som_15Twis_PIKE`` -> 4 strings) and its :class:`DiveLabel`.

    Raises:
        ValueError: the classes are not Diving48 vocab rows (not a dive model).
    """
    from ..data.dives import label_from_vocab

    rows = [str(n).split("_") for n in class_names]
    try:
        return rows, [label_from_vocab(r) for r in rows]
    except ValueError as e:
        raise ValueError(f"not a dive model: its classes are not Diving48 vocab rows ({e})") from None


def _number(label: Any) -> str | None:
    """The dive number of ``label``; None for the few Diving48 classes no number names."""
    from ..data.dives import format_dive_number

    try:
        return format_dive_number(label)
    except ValueError:
        return None


def _dive_model(model: str | Path, load):
    """The clip model at ``model``, refused unless its classes are Diving48 vocab rows."""
    predictor = load(model)
    if not predictor.is_clip:
        raise ValueError(f"{model}: a dive model is a clip model (task clip); this one is {predictor.task}")
    _vocab(predictor.class_names)
    return predictor


def _reports(predictor, table, clips: int, flip: bool, progress: bool | None) -> list[dict[str, Any]]:
    """One report per video of ``table`` in its order; the unreadable ones with their error."""
    from ..engine.evaluator import predict_videos

    if clips < 1:
        raise ValueError(f"clips={clips}: at least one clip per video")
    try:
        probs, _, skipped = predict_videos(predictor, table, clips, flip=flip, progress=progress)
    except ValueError as e:  # not one readable video
        return [{"source": r.path, "error": str(e).splitlines()[0][:200]} for r in table]
    errors = {p: reason for p, reason in skipped}
    read = iter(probs)
    return [{"source": r.path, "error": str(errors[r.path]).splitlines()[0][:200]} if r.path in errors
            else dive_report(next(read), predictor.class_names, r.path) for r in table]


def format_dive(report: dict[str, Any]) -> str:
    """``clip.mp4: 5253B: back, 2 1/2 somersaults, 1 1/2 twists, pike (0.62; takeoff 0.91, somersaults 0.70, ...)``."""
    if "error" in report:
        return f"{report['source']}: skipped ({report['error']})"
    parts = ", ".join(f"{k} {v['confidence']:.2f}" for k, v in report["parts"].items())
    return f"{report['source']}: {report['dive'] or 'no dive number'}: {report['words']} ({report['confidence']:.2f}; {parts})"
