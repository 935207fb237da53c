"""The video table every reader returns (:class:`VideoTable` of :class:`VideoRecord` rows) and the
helpers the readers share: split names, list files, carving a validation split by groups, leakage
repair and the missing-file check."""
from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..splits import check_no_leakage, grouped_stratified_split, straddling_groups

logger = logging.getLogger(__name__)


VIDEO_EXTS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".flv",
                        ".wmv", ".3gp", ".ogv"})


SPLITS = ("train", "val", "test")


SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
                  "validation": "val", "dev": "val", "test": "test", "testing": "test"}


UCF_GROUP = re.compile(r"_(g\d+)_c\d+", re.IGNORECASE)


@dataclass
class VideoRecord:
    """One labelled video (or a segment of one).

    Attributes:
        path: absolute path of the file.
        label: class name.
        class_id: index into the table's ``class_names``.
        group: what must not straddle splits (actor, scene, source video).
        split: ``train``, ``val`` or ``test``.
        start_frame: first frame of the segment; None = from the start.
        end_frame: frame after the last one (exclusive); None = to the end.
        start_sec: segment start in seconds (turned into frames at decode); None = not given.
        end_sec: segment end in seconds; None = not given.
        label_parts: the label's parts when the format has them (Diving48's 4-tuple).
    """

    path: str
    label: str
    class_id: int
    group: str
    split: str
    start_frame: int | None = None
    end_frame: int | None = None
    start_sec: float | None = None
    end_sec: float | None = None
    label_parts: tuple[str, ...] | None = None

    def frame_range(self, num_frames: int, fps: float) -> tuple[int, int]:
        """The segment as ``[start, end)`` frame numbers of a file with ``num_frames`` at ``fps``."""
        start, end = 0, num_frames
        if self.start_sec is not None:
            start = int(round(self.start_sec * fps))
        if self.end_sec is not None:
            end = int(round(self.end_sec * fps))
        if self.start_frame is not None:
            start = self.start_frame
        if self.end_frame is not None:
            end = self.end_frame
        start = min(max(0, start), num_frames - 1)
        return start, max(start + 1, min(end, num_frames))


@dataclass
class VideoTable:
    """A video dataset in memory: records plus the class list.

    Attributes:
        records: one :class:`VideoRecord` per video (or segment).
        class_names: class names ordered by class id.
        skipped: ``(path, reason)`` for rows dropped while reading (missing files ...) or by
            :meth:`actkit.data.video.ClipDataset.validate`.
        root: the dataset folder (or file) this was read from.
        format: the reader that made it.
        class_parts: each class's label parts when the format defines them for every class
            (Diving48's vocab), including classes with no video here.
    """

    records: list[VideoRecord]
    class_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    root: str | None = None
    format: str = ""
    class_parts: list[tuple[str, ...]] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> VideoRecord:
        return self.records[i]

    def __iter__(self) -> Iterator[VideoRecord]:
        return iter(self.records)

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.records]

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.records], dtype=str)

    @property
    def class_ids(self) -> np.ndarray:
        return np.array([r.class_id for r in self.records], dtype=np.int64)

    @property
    def groups(self) -> np.ndarray:
        return np.array([r.group for r in self.records], dtype=str)

    @property
    def splits(self) -> np.ndarray:
        return np.array([r.split for r in self.records], dtype=str)

    def select(self, indices: Sequence[int]) -> "VideoTable":
        """A table of the rows at ``indices`` (same classes, same skipped list)."""
        return dataclasses.replace(self, records=[self.records[i] for i in indices], skipped=list(self.skipped))

    def split(self, name: str) -> "VideoTable":
        """The rows of split ``name`` (``train``, ``val`` or ``test``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
        return self.select([i for i, r in enumerate(self.records) if r.split == name])

    def check_leakage(self) -> None:
        """Raise ValueError if a group occurs in more than one split."""
        check_no_leakage([r.split for r in self.records], [r.group for r in self.records])

    def summary(self) -> dict[str, Any]:
        """Counts per split and class, groups per split, and the skipped files."""
        return {"format": self.format, "root": self.root, "videos": len(self), "classes": len(self.class_names),
                "splits": dict(Counter(r.split for r in self.records)),
                "groups": {s: len({r.group for r in self.records if r.split == s}) for s in SPLITS},
                "skipped": len(self.skipped)}


def split_name(value: str, where: str) -> str:
    s = SPLIT_ALIASES.get(str(value).strip().lower())
    if s is None:
        raise ValueError(f"{where}: unknown split {value!r}; use one of {sorted(SPLIT_ALIASES)}")
    return s


def read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as f:
        return [ln.strip() for ln in f if ln.strip()]


def carve_val(records: list[VideoRecord], fraction: float, seed: int, source: str = "train",
           into: str = "val") -> None:
    """Move whole groups holding about ``fraction`` of ``source`` rows into split ``into`` (in place)."""
    rows = [r for r in records if r.split == source]
    if fraction <= 0 or len({r.group for r in rows}) < 2:
        return
    assigned = grouped_stratified_split([r.label for r in rows], [r.group for r in rows],
                                        {source: 1 - fraction, into: fraction}, seed=seed)
    for r, s in zip(rows, assigned):
        r.split = str(s)


def regroup_leaks(records: list[VideoRecord]) -> None:
    bad = set(straddling_groups([r.split for r in records], [r.group for r in records]))
    for g in sorted(bad):
        members = [r for r in records if r.group == g]
        counts = Counter(r.split for r in members)
        # Most rows win; ties go to train, then val (keeps the test set clean).
        keep = max(counts, key=lambda s: (counts[s], -SPLITS.index(s)))
        for r in members:
            r.split = keep
    if bad:
        logger.warning("moved %d group(s) that straddled splits wholly into one split each", len(bad))


def finish_table(records: list[VideoRecord], class_names: list[str], skipped: list[tuple[str, str]], root,
            fmt: str, fix_leakage: bool = False) -> VideoTable:
    if fix_leakage:
        regroup_leaks(records)
    try:
        check_no_leakage([r.split for r in records], [r.group for r in records])
    except ValueError as e:
        raise ValueError(f"{fmt} dataset {str(root)!r}: {e}. Fix the split lists or pass fix_leakage=True "
                         "to move each such group wholly into one split") from None
    if skipped:
        logger.warning("%s dataset %s: %d video(s) skipped (first: %s: %s)", fmt, root, len(skipped), *skipped[0])
    if not records:
        raise ValueError(f"{fmt} dataset {str(root)!r} has no usable videos"
                         + (f" ({len(skipped)} skipped, first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""))
    return VideoTable(records, list(class_names), skipped, str(root), fmt)


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path``, with symlinks resolved, lies inside ``root`` (resolved too)."""
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def check_exists(records: list[VideoRecord], skipped: list[tuple[str, str]],
                 root: str | os.PathLike) -> list[VideoRecord]:
    """The records whose file exists inside the dataset ``root``; the others go to ``skipped`` with the reason
    (a manifest, list or annotation cannot point outside its dataset: ``..``, absolute paths, symlinks)."""
    kept = []
    for r in records:
        if not inside(r.path, root):
            skipped.append((r.path, f"outside the dataset root {root}"))
        elif os.path.isfile(r.path):
            kept.append(r)
        else:
            skipped.append((r.path, "missing file"))
    return kept


def is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_EXTS and not p.name.startswith(".")
