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
    from ..data.dives import format_dive_number, label_from_vocab

    rows = [str(n).split("_") for n in class_names]
    try:
        labels = [label_from_vocab(r) for r in rows]
    except ValueError as e:
        raise ValueError(f"not a dive model: its classes are not Diving48 vocab rows ({e})") from None
    probs = np.asarray(probs, np.float64)
    best = int(np.argmax(probs))
    label = labels[best]
    try:
        number = format_dive_number(label)
    except ValueError:
        number = None
    parts = {part: {"value": label.parts[i], "confidence": round(float(sum(p for p, r in zip(probs, rows)
                                                                              if r[i] == rows[best][i])), 4)}
             for i, part in enumerate(PARTS)}
    order = np.argsort(-probs)[:3]
    return {"source": source, "dive": number, "words": label.text, "confidence": round(float(probs[best]), 4),
            "parts": parts, "top": [{"class": str(class_names[k]), "probability": round(float(probs[k]), 4)}
                                    for k in order]}


def dives(source: str | Path, model: str | Path) -> list[dict[str, Any]]:
    """Every video of ``source`` (a file, or a folder of videos, sorted) through the dive model; a video that
    cannot be read is reported with its error instead of a dive."""
    from ..engine.predictor import VIDEO_EXTS, load

    predictor = load(model)
    if not predictor.is_clip:
        raise ValueError(f"{model}: a dive model is a clip model (task clip); this one is {predictor.task}")
    path = Path(source)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_EXTS) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{source}: no videos ({', '.join(sorted(VIDEO_EXTS))})")
    out = []
    for f in files:
        try:
            r = predictor.predict_clip(f)
        except (OSError, ValueError) as e:
            out.append({"source": str(f), "error": str(e).splitlines()[0][:200]})
            continue
        out.append(dive_report(r.probs, predictor.class_names, str(f)))
    return out


def format_dive(report: dict[str, Any]) -> str:
    """``5253B: back 2.5 somersaults 1.5 twists pike (0.62; takeoff 0.91, somersaults 0.70, ...)``."""
    if "error" in report:
        return f"{report['source']}: skipped ({report['error']})"
    parts = ", ".join(f"{k} {v['confidence']:.2f}" for k, v in report["parts"].items())
    return f"{report['source']}: {report['dive'] or 'no dive number'}: {report['words']} ({report['confidence']:.2f}; {parts})"
