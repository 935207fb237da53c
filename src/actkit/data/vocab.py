"""Labels and tags of the built-in synthetic sets, and how a model's class names map onto them.

* :data:`CLIP_NAMES`: pybullet's 15 motion-capture clips, the action classes of ``actkit synth actions``.
* :data:`EXERCISES`: the exercises of ``actkit synth reps``; a model trained on their per-frame tags has
  two classes per exercise, ``<exercise>_high`` and ``<exercise>_low`` (its two positions).
* :data:`VOCABULARY`: the per-frame labels of ``actkit synth streams`` (idle, transition, the clips,
  the exercises).

Plain data: importing this module needs nothing beyond the standard library.
"""
from __future__ import annotations

from typing import Sequence

CLIP_NAMES = ("backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup",
              "jump", "kick", "punch", "roll", "run", "spin", "spinkick", "walk")
EXERCISES = ("squat", "jumping_jack", "lunge", "arm_raise")
VOCABULARY = ("idle", "transition", *CLIP_NAMES, *EXERCISES)
NON_EVENTS = ("idle", "transition")  # stream labels that are never events


def full_vocabulary(target: str) -> list[str]:
    """Every class name the synthetic sets can produce, in their order (``tags`` splits exercises in two)."""
    if target == "labels":
        return list(VOCABULARY)
    out = []
    for name in VOCABULARY:
        out.extend([f"{name}_high", f"{name}_low"] if name in EXERCISES else [name])
    return out


def tag_vocabulary() -> list[str]:
    """The stream label vocabulary with each exercise replaced by ``<exercise>_high``, ``<exercise>_low``."""
    return full_vocabulary("tags")


def tag_to_label(name: str) -> str:
    """``squat_low`` -> ``squat``; other names unchanged."""
    for suffix in ("_high", "_low"):
        if name.endswith(suffix) and name[: -len(suffix)] in EXERCISES:
            return name[: -len(suffix)]
    return name


def label_names(names: Sequence[str]) -> list[str]:
    """Event names of a model's classes: exercise positions (``squat_high`` / ``squat_low``) become their
    exercise (``squat``); other names stay; first-seen order, each once."""
    return list(dict.fromkeys(tag_to_label(n) for n in names))


def class_groups(names: Sequence[str]) -> list[str]:
    """Each class's event name (:func:`label_names`), which the HMM smoother treats as one label."""
    return [tag_to_label(n) for n in names]


def event_columns(name: str, names: Sequence[str]) -> list[int]:
    """The class columns whose probabilities make the score of event ``name``: the class itself, or an
    exercise's two positions.

    Raises:
        ValueError: ``name`` is neither a class nor an exercise whose positions are classes.
    """
    if name in names:
        return [list(names).index(name)]
    cols = [i for i, n in enumerate(names) if n in (f"{name}_high", f"{name}_low")]
    if len(cols) != 2:
        raise ValueError(f"class {name!r} is not one of the model's classes {list(names)}")
    return cols
