"""Group-aware train/val/test splits: frames of one video never land on two sides.

The reference crop classifiers split at random per row, so neighbouring frames of one clip (or
the two eyes of one face) sit in both train and test and the test score measures memory, not
generalisation. Here whole groups go to one split, and the split is stratified per class.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}

# UCF-101 style "v_Class_g08_c01": gNN is the actor/scene, shared by every clip of that group.
_UCF_GROUP = re.compile(r"(?:^|_)(g\d+)_c\d+", re.IGNORECASE)
# One trailing frame/crop counter ("_frame0003", "-000123", "_crop2") or eye side ("_left").
# Each is stripped at most once: "video_12_frame_3" keeps its id "video_12".
_COUNTER = re.compile(r"(?:^|[_\-. ])(?:frame|frm|crop|img|image|idx|f|t)?[_\-]?\d+$", re.IGNORECASE)
_SIDE = re.compile(r"(?:^|[_\-. ])(?:left|right|l|r)$", re.IGNORECASE)


def infer_group(path: str, regex: str | None = None, *, class_dir: str | None = None) -> str:
    """Guess what must not straddle splits (the video, face or actor) from an image path.

    Rules, first match wins:

    1. ``regex``: its first capture group, or the whole match if it has none.
    2. A UCF-style ``_gNN_cNN`` token: ``v_Walk_g08_c01.png`` -> ``g08``.
    3. With ``class_dir`` (folder-per-class trees), an image inside a subfolder of the class
       folder takes that subfolder as its group: ``<class>/<video>/<frame>.png`` -> ``<video>``.
    4. The file stem with one trailing frame/crop counter and eye side stripped:
       ``clip12_frame0003.png`` and ``clip12_000123.jpg`` -> ``clip12``,
       ``face7_left.png`` -> ``face7``. A stem that is only a counter (``frame0003.png``) takes
       its parent folder's name.

    Groups are not scoped by class on purpose: one video labelled "sitting" then "standing"
    is still one video.

    Args:
        path: the image path (relative to the dataset root when known).
        regex: optional user pattern, searched in the POSIX form of ``path``.
        class_dir: the class folder ``path`` sits under, for rule 3.

    Returns:
        The group name.
    """
    posix = str(path).replace("\\", "/")
    if regex:
        m = re.search(regex, posix)
        if m:
            return m.group(1) if m.re.groups else m.group(0)
    p = PurePosixPath(posix)
    m = _UCF_GROUP.search(p.stem)
    if m:
        return m.group(1).lower()
    if class_dir is not None:
        rel = PurePosixPath(posix).relative_to(str(class_dir).replace("\\", "/"))
        if len(rel.parts) > 1:
            return rel.parts[0]
    stem = _SIDE.sub("", p.stem, count=1)
    stem = _COUNTER.sub("", stem, count=1)
    stem = _SIDE.sub("", stem, count=1)
    return stem or p.parent.name or p.stem


def straddling_groups(splits: Sequence[str], groups: Sequence[str]) -> list[str]:
    """Return the groups that occur in more than one split, sorted."""
    seen: dict[str, set] = defaultdict(set)
    for s, g in zip(splits, groups):
        seen[g].add(s)
    return sorted(g for g, ss in seen.items() if len(ss) > 1)


def check_no_leakage(splits: Sequence[str], groups: Sequence[str]) -> None:
    """Raise if any group occurs in more than one split.

    Raises:
        ValueError: naming the first offending group and how many groups straddle splits.
    """
    bad = straddling_groups(splits, groups)
    if bad:
        where = sorted({s for s, g in zip(splits, groups) if g == bad[0]})
        raise ValueError(f"group {bad[0]!r} is in splits {where}; {len(bad)} group(s) straddle "
                         "splits, so frames of one video/face would be both trained and tested on")


def grouped_stratified_split(labels: Sequence[str], groups: Sequence[str],
                             fractions: Mapping[str, float] | None = None, seed: int = 0) -> np.ndarray:
    """Assign whole groups to splits, keeping each class's share per split close to ``fractions``.

    Greedy: groups are shuffled with ``seed`` and taken largest first; each goes to the split
    whose remaining per-class deficit, weighted by the group's own class counts, is largest.
    A repair pass then makes every class that has at least as many groups as there are
    (non-empty) splits appear in every one of them, moving its smallest spare group.

    Args:
        labels: class name per row.
        groups: group name per row.
        fractions: split name -> fraction; normalised to sum 1. Defaults to 0.8/0.1/0.1.
        seed: the shuffle seed; the result is a pure function of the inputs and the seed.

    Returns:
        Split name per row.
    """
    fractions = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
    if len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels but {len(groups)} groups")
    if any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"fractions must be >= 0 and sum to > 0, got {fractions}")
    names = list(fractions)
    frac = np.array([fractions[n] for n in names], dtype=np.float64)
    frac /= frac.sum()
    if len(labels) == 0:
        return np.array([], dtype=str)

    classes, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    gnames, g = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    counts = np.zeros((len(gnames), len(classes)), dtype=np.int64)  # group x class
    np.add.at(counts, (g, y), 1)
    target = frac[:, None] * counts.sum(0)[None, :]  # split x class
    assigned = np.zeros_like(target)
    live = np.flatnonzero(frac > 0)
    # Ties between splits go to the larger split (argmax takes the first of equals).
    live = live[np.argsort(-frac[live], kind="stable")]

    order = np.random.default_rng(seed).permutation(len(gnames))
    order = order[np.argsort(-counts[order].sum(1), kind="stable")]
    where = np.full(len(gnames), -1)
    for gi in order:
        deficit = (target[live] - assigned[live]) @ counts[gi]
        s = live[int(np.argmax(deficit))]
        where[gi] = s
        assigned[s] += counts[gi]

    _ensure_every_class_everywhere(counts, where, live, classes, names)
    return np.asarray(names)[where[g]]


def _ensure_every_class_everywhere(counts: np.ndarray, where: np.ndarray, live: np.ndarray,
                                   classes: np.ndarray, names: list[str]) -> None:
    """Move small groups so classes with enough groups reach every live split (in place)."""
    has = counts > 0  # group x class
    for c in np.argsort(has.sum(0), kind="stable"):  # rarest class first: fewest spare groups
        if has[:, c].sum() < len(live):
            continue
        for s in live:
            per_split = {t: has[where == t].sum(0) for t in live}  # groups of each class per split
            if per_split[s][c]:
                continue
            # A donor group must not be the last group of any of its classes in its split.
            cand = [gi for gi in np.flatnonzero(has[:, c])
                    if np.all(per_split[where[gi]][has[gi]] >= 2)]
            if not cand:
                logger.warning("class %r has no group that can move to split %r without emptying "
                               "another class there", str(classes[c]), names[s])
                continue
            gi = min(cand, key=lambda i: (counts[i].sum(), i))
            where[gi] = s


def carve_val(splits: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """``splits`` with 10% of the train groups moved to ``val`` (stratified, grouped)."""
    tr = np.flatnonzero(splits == "train")
    sub = grouped_stratified_split(labels[tr], groups[tr], {"train": 0.9, "val": 0.1}, seed=seed)
    out = np.asarray(splits, dtype=object).copy()
    out[tr] = sub
    return out
