"""Crop datasets: build one from images (``actkit data crops``), read one, re-split one.

The format is the Parquet table described in :mod:`actkit.data.schema`. The reader also takes
the reference crop-classifier family's files unchanged (``image_path`` instead of
``image_bytes``, no ``group``), and :func:`resplit` replaces their leaky per-row random split
with a grouped, stratified one.
"""
from __future__ import annotations

import dataclasses
import difflib
import io
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from actkit.data.schema import SPLITS, encode_png
from actkit.data.splits import infer_group
from actkit.utils.progress import progress as progress_bar

logger = logging.getLogger(__name__)

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
# Spreadsheet exports write these for "no label"; treating them as a class would invent one.
NO_LABEL = frozenset({"", "?", "nan", "none", "null", "n/a", "na", "-"})
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                  "validation": "val", "dev": "val", "test": "test", "testing": "test"}
_WHOLE_IMAGE = (0.0, 0.0, 1.0, 1.0)
_MAX_WARNINGS = 20


# --------------------------------------------------------------------------- reading


@dataclass
class CropTable:
    """A crop dataset in memory: encoded images plus per-row arrays, all of length N.

    Attributes:
        images: encoded image bytes per row (PNG or JPEG).
        labels: class name per row.
        class_ids: int64 index into ``class_names`` per row.
        class_names: class names ordered by class id.
        splits: ``train`` / ``val`` / ``test`` per row.
        groups: what must not straddle splits (video, face) per row.
        boxes: float32 (N, 4) relative ``[x0, y0, x1, y1]`` object box; whole image if unknown.
        sources: where each crop came from (may be empty strings).
        skipped: ``(path, reason)`` for rows dropped while reading.
        path: the file this was read from.
    """

    images: list[bytes]
    labels: np.ndarray
    class_ids: np.ndarray
    class_names: list[str]
    splits: np.ndarray
    groups: np.ndarray
    boxes: np.ndarray
    sources: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)
    path: str | None = None

    def __len__(self) -> int:
        return len(self.images)

    def _take(self, idx: np.ndarray) -> "CropTable":
        return dataclasses.replace(
            self, images=[self.images[i] for i in idx], labels=self.labels[idx],
            class_ids=self.class_ids[idx], splits=self.splits[idx], groups=self.groups[idx],
            boxes=self.boxes[idx], sources=self.sources[idx], skipped=list(self.skipped))

    def select(self, split: str) -> "CropTable":
        """Return the rows of one split (``train``, ``val`` or ``test``)."""
        if split not in SPLITS and split not in self.splits:
            raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        return self._take(np.flatnonzero(self.splits == split))

    def class_counts(self) -> np.ndarray:
        """Return the number of rows per class id (int64, length ``len(class_names)``)."""
        return np.bincount(self.class_ids, minlength=len(self.class_names)).astype(np.int64)

    def binary(self, positive: str) -> "CropTable":
        """Relabel to ``not_<positive>`` (id 0) vs ``<positive>`` (id 1).

        Raises:
            ValueError: if ``positive`` is not a class, with the closest class names.
        """
        if positive not in self.class_names:
            close = difflib.get_close_matches(positive, self.class_names, n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"{positive!r} is not a class of {self.path or 'this table'} "
                             f"(classes: {self.class_names}){hint}")
        pos = self.labels == positive
        return dataclasses.replace(
            self, labels=np.where(pos, positive, f"not_{positive}"), class_ids=pos.astype(np.int64),
            class_names=[f"not_{positive}", positive], skipped=list(self.skipped))


def read_crops_table(path: str | os.PathLike, group_regex: str | None = None,
                     progress: bool | None = None) -> CropTable:
    """Read an actkit crop Parquet, or a reference-family one, into a :class:`CropTable`.

    Rows whose ``image_path`` (relative to the Parquet's folder) cannot be read or decoded are
    dropped and listed in ``table.skipped``. Without a ``group`` column, groups are inferred
    from ``source`` (or ``image_path``) with :func:`~actkit.data.splits.infer_group`.

    Args:
        path: the Parquet file.
        group_regex: pattern for group inference when the file has no ``group`` column.
        progress: show a progress bar while loading ``image_path`` files (None: on a terminal).

    Raises:
        ValueError: naming the file, when a required column is missing, there is no ``split``
            column, or labels and class ids disagree.
    """
    path = Path(path)
    table = read_parquet(path)
    cols = set(table.column_names)
    missing = [c for c in ("label", "class_id") if c not in cols]
    if not cols & {"image_bytes", "image_path"}:
        missing.append("image_bytes (or image_path)")
    if missing:
        raise ValueError(f"{path}: missing required column(s): {', '.join(missing)}")
    if "split" not in cols:
        raise ValueError(f"{path}: no 'split' column; make a grouped split with "
                         f"`actkit data resplit {path} --out <new>.parquet`")

    n = table.num_rows

    def col(name: str) -> list:
        return table.column(name).to_pylist() if name in cols else [None] * n

    labels, ids, splits, images, paths = map(col, ("label", "class_id", "split", "image_bytes", "image_path"))
    _check_classes(path, labels, ids)
    groups = groups_for(table, group_regex)

    nulls = {i for i in range(n) if None in (labels[i], ids[i], splits[i])}
    skipped = [(paths[i] or f"row {i}", "null label, class_id or split") for i in sorted(nulls)]
    todo = [i for i in range(n) if not images[i] and i not in nulls]
    for i in progress_bar(todo, desc="images", unit="img", enable=progress if todo else False):
        if not paths[i]:
            skipped.append((f"row {i}", "no image_bytes and no image_path"))
            continue
        file = Path(paths[i]) if Path(paths[i]).is_absolute() else path.parent / paths[i]
        try:
            images[i] = load_image_file(file)[0]
        except SkipInput as e:
            skipped.append((paths[i], str(e)))
    keep = np.array([i for i in range(n) if images[i] and i not in nulls], dtype=np.int64)
    warn_skipped(skipped, str(path))

    names, remap = _class_names(path, [labels[i] for i in keep], [ids[i] for i in keep])
    splits = np.array([SPLIT_ALIASES.get(str(splits[i]).strip().lower(), splits[i]) for i in keep], dtype=str)
    odd = sorted(set(splits.tolist()) - set(SPLITS))
    if odd:
        logger.warning("%s: unexpected split value(s) %s (expected %s)", path, odd, list(SPLITS))
    boxes = col("box")
    sources = col("source") if "source" in cols else paths
    return CropTable(
        images=[images[i] for i in keep],
        labels=np.array([labels[i] for i in keep], dtype=str),
        class_ids=np.array([remap[ids[i]] for i in keep], dtype=np.int64),
        class_names=names, splits=splits, groups=groups[keep],
        boxes=np.array([boxes[i] or _WHOLE_IMAGE for i in keep], dtype=np.float32).reshape(-1, 4),
        sources=np.array([sources[i] or "" for i in keep], dtype=str),
        skipped=skipped, path=str(path))


def read_parquet(path: Path):
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValueError(f"{path}: no such Parquet file")
    return pq.read_table(path)


def _check_classes(path: Path, labels: list, ids: list) -> None:
    """Raise if one label has two class ids or one class id two labels."""
    by_id, by_label = defaultdict(set), defaultdict(set)
    for label, cid in zip(labels, ids):
        if label is not None and cid is not None:
            by_id[int(cid)].add(label)
            by_label[label].add(int(cid))
    for cid, ls in by_id.items():
        if len(ls) > 1:
            raise ValueError(f"{path}: inconsistent classes: class_id {cid} is used for labels {sorted(ls)}")
    for label, cs in by_label.items():
        if len(cs) > 1:
            raise ValueError(f"{path}: inconsistent classes: label {label!r} has class_ids {sorted(cs)}")


def _class_names(path: Path, labels: list, ids: list) -> tuple[list[str], dict[int, int]]:
    """Class names ordered by id, and a map to contiguous ids (a filtered file may skip some)."""
    first = {}
    for label, cid in zip(labels, ids):
        first.setdefault(int(cid), label)
    order = sorted(first)
    if order != list(range(len(order))):
        logger.warning("%s: class ids %s are not 0..%d; renumbering in id order", path, order, len(order) - 1)
    return [first[c] for c in order], {c: k for k, c in enumerate(order)}


def groups_for(table, regex: str | None, prefer_column: bool = True) -> np.ndarray:
    """Per-row groups: the ``group`` column, else inferred from ``source``/``image_path``, else row index."""
    n, cols = table.num_rows, set(table.column_names)
    given = table.column("group").to_pylist() if prefer_column and "group" in cols else [None] * n
    hint = next((table.column(c).to_pylist() for c in ("source", "image_path") if c in cols), [None] * n)
    groups, by_index = [], 0
    for i in range(n):
        if given[i] not in (None, ""):
            groups.append(str(given[i]))
        elif hint[i]:
            groups.append(infer_group(str(hint[i]), regex))
        else:
            groups.append(f"row{i}")
            by_index += 1
    if by_index:
        logger.warning("%d row(s) have no group, source or image_path: each is its own group, so "
                       "leakage between splits cannot be checked for them", by_index)
    elif not prefer_column or "group" not in cols:
        logger.info("groups inferred from %s paths", "source" if "source" in cols else "image_path")
    return np.array(groups, dtype=str)


# --------------------------------------------------------------------------- building


# --------------------------------------------------------------------------- plots


class SkipInput(Exception):
    """An input that is left out of the dataset; the message is the reason."""


def load_image_file(file: Path) -> tuple[bytes, int, int]:
    """Read and fully decode an image; return (bytes, width, height). PNG/JPEG bytes are kept."""
    from PIL import Image

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise SkipInput("missing file") from None
    except OSError as e:
        raise SkipInput(f"unreadable file ({e.strerror or e})") from None
    if not data:
        raise SkipInput("empty file")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            w, h = im.size
            if im.format not in ("PNG", "JPEG"):
                data = encode_png(np.asarray(im.convert("RGB")))
    # PIL raises many exception types for malformed files (OSError, SyntaxError, ValueError,
    # struct.error, DecompressionBombError ...); all mean "not a usable image".
    except Exception as e:  # noqa: BLE001
        raise SkipInput(f"not a readable image ({type(e).__name__}: {e})") from None
    return data, w, h


def warn_skipped(skipped: list[tuple[str, str]], listing: str) -> None:
    for p, reason in skipped[:_MAX_WARNINGS]:
        logger.warning("skipped %s: %s", p, reason)
    if len(skipped) > _MAX_WARNINGS:
        logger.warning("... and %d more skipped; see %s", len(skipped) - _MAX_WARNINGS, listing)
