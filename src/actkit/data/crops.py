"""Crop datasets: build one from images (``actkit data crops``), read one, re-split one.

The format is the Parquet table described in :mod:`actkit.data.schema`. The reader also takes
the reference crop-classifier family's files unchanged (``image_path`` instead of
``image_bytes``, no ``group``), and :func:`resplit` replaces their leaky per-row random split
with a grouped, stratified one.
"""
from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import logging
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from actkit.data.schema import SPLITS, encode_png
from actkit.data.splits import check_no_leakage, grouped_stratified_split, infer_group, straddling_groups
from actkit.utils import atomic_write, atomic_write_json, atomic_write_parquet
from actkit.utils.io import atomic_path
from actkit.utils.progress import progress as progress_bar

logger = logging.getLogger(__name__)

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
# Spreadsheet exports write these for "no label"; treating them as a class would invent one.
_NO_LABEL = frozenset({"", "?", "nan", "none", "null", "n/a", "na", "-"})
_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
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
    table = _read_parquet(path)
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
    groups = _groups_for(table, group_regex)

    nulls = {i for i in range(n) if None in (labels[i], ids[i], splits[i])}
    skipped = [(paths[i] or f"row {i}", "null label, class_id or split") for i in sorted(nulls)]
    todo = [i for i in range(n) if not images[i] and i not in nulls]
    for i in progress_bar(todo, desc="images", unit="img", enable=progress if todo else False):
        if not paths[i]:
            skipped.append((f"row {i}", "no image_bytes and no image_path"))
            continue
        file = Path(paths[i]) if Path(paths[i]).is_absolute() else path.parent / paths[i]
        try:
            images[i] = _load_image(file)[0]
        except _Skip as e:
            skipped.append((paths[i], str(e)))
    keep = np.array([i for i in range(n) if images[i] and i not in nulls], dtype=np.int64)
    _warn_skipped(skipped, str(path))

    names, remap = _class_names(path, [labels[i] for i in keep], [ids[i] for i in keep])
    splits = np.array([_SPLIT_ALIASES.get(str(splits[i]).strip().lower(), splits[i]) for i in keep], dtype=str)
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


def _read_parquet(path: Path):
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


def _groups_for(table, regex: str | None, prefer_column: bool = True) -> np.ndarray:
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


class _Skip(Exception):
    """An input that is left out of the dataset; the message is the reason."""


@dataclass
class _Candidate:
    source: str  # as written to the ``source`` column: relative to the tree root / CSV folder
    file: Path
    label: str
    group: str
    split: str | None = None


def build_crops(source: str | os.PathLike, out: str | os.PathLike, *, val: float = 0.1, test: float = 0.1,
                seed: int = 0, group_regex: str | None = None, classes: Sequence[str] | None = None,
                plots: bool = True, progress: bool | None = None) -> dict:
    """Build a crop Parquet from a folder-per-class tree or a CSV, with a grouped split.

    ``source`` is either ``<root>/<class>/**/<image>`` or a CSV with header
    ``path,label[,group][,split]`` (paths relative to the CSV's folder). Every image is decoded
    to validate it and read its size; PNG and JPEG bytes are kept as they are, other formats
    are re-encoded to PNG. Missing, empty, corrupt or unsafe inputs (absolute or ``..`` paths
    in a CSV, symlinks leaving the root) and rows without a usable label are left out, logged,
    and listed in the summary and in ``<out stem>_skipped.csv``.

    Groups come from the CSV ``group`` column, else :func:`~actkit.data.splits.infer_group`
    (``group_regex`` is searched in the path relative to the root / CSV folder). A CSV
    ``split`` column is kept after checking that no group straddles splits; otherwise splits
    come from :func:`~actkit.data.splits.grouped_stratified_split`.

    Args:
        source: dataset root folder or CSV file.
        out: the Parquet file to write.
        val: validation fraction.
        test: test fraction.
        seed: split seed.
        group_regex: pattern whose first capture group names the group of a path.
        classes: the allowed labels: other CSV labels are skipped as unknown, other class
            folders are ignored. Default: all.
        plots: also write ``<out stem>_classes.png`` and ``<out stem>_sizes.png``.
        progress: show a progress bar (None: only on a terminal).

    Returns:
        The summary written to ``<out stem>_summary.json``, plus ``skipped``: a list of
        ``{"path", "reason"}``.

    Raises:
        ValueError: naming the path, if ``source`` does not exist, has no class folders or no
            usable rows, or a given split puts one group on two sides.
    """
    import pyarrow as pa

    source, out = Path(source), Path(out)
    fractions = _fractions(val, test)
    if not source.exists():
        raise ValueError(f"{source}: no such folder or CSV file")
    if source.is_dir():
        cands, skipped, ignored = _scan_tree(source, group_regex, classes)
    else:
        (cands, skipped), ignored = _scan_csv(source, group_regex, classes), 0

    rows, sizes, images = [], [], []
    for c in progress_bar(cands, desc="images", unit="img", enable=progress):
        try:
            data, w, h = _load_image(c.file)
        except _Skip as e:
            skipped.append((c.source, str(e)))
            continue
        rows.append(c)
        images.append(data)
        sizes.append((w, h))
    _warn_skipped(skipped, str(_sidecar(out, "skipped.csv")))
    if not rows:
        raise ValueError(f"{source}: no usable images ({len(skipped)} skipped; first: "
                         f"{skipped[0] if skipped else 'none found'})")

    class_names = sorted({r.label for r in rows})
    labels = [r.label for r in rows]
    groups = [r.group for r in rows]
    if rows[0].split is not None:
        splits = np.array([r.split for r in rows], dtype=str)
        try:
            check_no_leakage(splits, groups)
        except ValueError as e:
            raise ValueError(f"{source}: the given split column leaks: {e}; drop the split column "
                             "to get a grouped split") from None
    else:
        splits = grouped_stratified_split(labels, groups, fractions, seed)
    _warn_coarse_groups(labels, groups, splits, fractions)

    ids = {c: k for k, c in enumerate(class_names)}
    n = len(rows)
    table = pa.table({
        "split": pa.array(splits.tolist(), pa.string()),
        "label": pa.array(labels, pa.string()),
        "class_id": pa.array([ids[x] for x in labels], pa.int64()),
        "image_bytes": pa.array(images, pa.binary()),
        "group": pa.array(groups, pa.string()),
        "width": pa.array([w for w, _ in sizes], pa.int32()),
        "height": pa.array([h for _, h in sizes], pa.int32()),
        "source": pa.array([r.source for r in rows], pa.string()),
        "box": pa.nulls(n, pa.list_(pa.float32())),
    })
    atomic_write_parquet(out, table)
    _write_skipped(_sidecar(out, "skipped.csv"), skipped)
    if plots:
        _plot_classes(_sidecar(out, "classes.png"), splits, labels, class_names)
        _plot_sizes(_sidecar(out, "sizes.png"), np.array(sizes))

    summary = {
        "source": str(source), "output": str(out), "rows": n, "classes": class_names,
        **_split_report(splits, labels, groups, class_names),
        "n_skipped": len(skipped), "skipped_csv": str(_sidecar(out, "skipped.csv")),
        "ignored_files": ignored, "seed": seed, "fractions": fractions,
        "split_from": "csv" if rows[0].split is not None else "grouped_stratified",
        "group_regex": group_regex,
    }
    atomic_write_json(_sidecar(out, "summary.json"), summary)
    logger.info("wrote %s: %d crops, %d classes, %d skipped", out, n, len(class_names), len(skipped))
    return {**summary, "skipped": [{"path": p, "reason": r} for p, r in skipped]}


def resplit(path_in: str | os.PathLike, out: str | os.PathLike, *, val: float = 0.1, test: float = 0.1,
            seed: int = 0, group_regex: str | None = None) -> dict:
    """Rewrite a crop Parquet with a grouped, stratified split (e.g. a leaky reference file).

    Every column is kept; ``split`` is replaced and ``group`` is added or, when ``group_regex``
    is given, re-inferred from ``source``/``image_path``. Relative ``image_path`` values are
    rewritten so they still resolve from ``out``'s folder.

    Args:
        path_in: the Parquet to re-split.
        out: the Parquet to write (may equal ``path_in``).
        val: validation fraction.
        test: test fraction.
        seed: split seed.
        group_regex: pattern whose first capture group names the group of a source path.

    Returns:
        A report, also written to ``<out stem>_summary.json``: counts per split and class,
        groups per split, and ``straddling_before``, the number of groups the old split put
        on more than one side.

    Raises:
        ValueError: naming the file, if it has no ``label`` column or nothing to group by.
    """
    import pyarrow as pa

    path_in, out = Path(path_in), Path(out)
    fractions = _fractions(val, test)
    table = _read_parquet(path_in)
    cols = table.column_names
    if "label" not in cols:
        raise ValueError(f"{path_in}: missing required column(s): label")
    if not {"group", "source", "image_path"} & set(cols):
        raise ValueError(f"{path_in}: no group, source or image_path column to group rows by; "
                         "a per-row split is all that is possible, and it leaks")
    labels = [str(x) for x in table.column("label").to_pylist()]
    groups = _groups_for(table, group_regex, prefer_column=group_regex is None)
    old = table.column("split").to_pylist() if "split" in cols else None
    before = straddling_groups(old, groups) if old is not None else []
    splits = grouped_stratified_split(labels, groups, fractions, seed)

    def put(t, name, values):
        arr = pa.array(values, pa.string())
        if name in t.column_names:
            return t.set_column(t.column_names.index(name), name, arr)
        return t.append_column(name, arr)

    table = put(put(table, "split", splits.tolist()), "group", groups.tolist())
    if "image_path" in cols and path_in.parent.resolve() != out.parent.resolve():
        rebased = [p if not p or Path(p).is_absolute() else
                   Path(os.path.relpath(path_in.parent.resolve() / p, out.parent.resolve())).as_posix()
                   for p in table.column("image_path").to_pylist()]
        table = put(table, "image_path", rebased)
    atomic_write_parquet(out, table)

    classes = sorted(set(labels))
    report = {
        "source": str(path_in), "output": str(out), "rows": len(labels), "classes": classes,
        **_split_report(splits, labels, groups, classes),
        "straddling_before": len(before), "straddling_examples": before[:10],
        "seed": seed, "fractions": fractions, "group_regex": group_regex,
    }
    atomic_write_json(_sidecar(out, "summary.json"), report)
    if before:
        logger.warning("%s: the old split put %d of %d groups on more than one side (e.g. %s)",
                       path_in, len(before), report["n_groups"], before[0])
    return report


def _fractions(val: float, test: float) -> dict[str, float]:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"need 0 <= val, test and val + test < 1, got val={val}, test={test}")
    return {"train": round(1 - val - test, 10), "val": val, "test": test}


def _sidecar(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}_{suffix}")


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _scan_tree(root: Path, regex: str | None, classes: Sequence[str] | None
               ) -> tuple[list[_Candidate], list[tuple[str, str]], int]:
    """List image files under ``<root>/<class>/``; symlinks leaving ``root`` are skipped."""
    real_root = root.resolve()
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if classes is not None:
        logger.info("%s: ignoring class folders %s", root, [d.name for d in class_dirs if d.name not in classes])
        class_dirs = [d for d in class_dirs if d.name in classes]
    if not class_dirs:
        raise ValueError(f"{root}: no class folders (expected <root>/<class>/<image>)")
    cands, skipped, ignored = [], [], 0
    for cdir in class_dirs:
        if not _inside(cdir.resolve(), real_root):
            skipped.append((cdir.name, "symlink points outside the dataset root"))
            continue
        visited = {cdir.resolve()}
        for dirpath, dirnames, filenames in os.walk(cdir, followlinks=True):
            here = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                real = (here / d).resolve()
                if d.startswith(".") or real in visited:  # hidden, or a symlink loop
                    continue
                if not _inside(real, real_root):
                    rel = (here / d).relative_to(root).as_posix()
                    skipped.append((rel, "symlink points outside the dataset root"))
                    continue
                visited.add(real)
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                f = here / name
                rel = f.relative_to(root).as_posix()
                if name.startswith(".") or f.suffix.lower() not in IMAGE_EXTS:
                    ignored += not name.startswith(".")
                elif not _inside(f.resolve(), real_root):
                    skipped.append((rel, "symlink points outside the dataset root"))
                else:
                    cands.append(_Candidate(rel, f, cdir.name, infer_group(rel, regex, class_dir=cdir.name)))
    if ignored:
        logger.info("%s: ignored %d non-image file(s)", root, ignored)
    return cands, skipped, ignored


def _scan_csv(path: Path, regex: str | None, classes: Sequence[str] | None
              ) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    """Read ``path,label[,group][,split]`` rows; unsafe paths and unusable labels are skipped."""
    base = path.parent.resolve()
    cands, skipped, seen = [], [], {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        reader.fieldnames = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in ("path", "label") if c not in reader.fieldnames]
        if missing:
            raise ValueError(f"{path}: CSV header lacks column(s) {missing}; expected path,label[,group][,split]")
        has_split = "split" in reader.fieldnames
        for row in reader:
            line = reader.line_num
            raw = (row.get("path") or "").strip().replace("\\", "/")
            label = (row.get("label") or "").strip()
            where = raw or f"{path.name}:{line}"
            file = (base / raw).resolve()
            split = _SPLIT_ALIASES.get((row.get("split") or "").strip().lower()) if has_split else None
            if not raw:
                reason = "empty path"
            elif PurePosixPath(raw).is_absolute() or re.match(r"^[A-Za-z]:", raw):
                reason = "absolute path (paths must be relative to the CSV's folder)"
            elif not _inside(file, base):
                reason = "path escapes the CSV's folder"
            elif label.lower() in _NO_LABEL:
                reason = f"empty or unknown label {label!r}"
            elif classes is not None and label not in classes:
                reason = f"unknown label {label!r}{_suggest(label, classes)}"
            elif has_split and split is None:
                reason = f"unknown split {row.get('split')!r} (expected {list(SPLITS)})"
            elif file in seen:
                reason = f"duplicate of line {seen[file]}"
            else:
                seen[file] = line
                group = (row.get("group") or "").strip() or infer_group(raw, regex)
                cands.append(_Candidate(raw, file, label, group, split))
                continue
            skipped.append((where, f"line {line}: {reason}"))
    return cands, skipped


def _load_image(file: Path) -> tuple[bytes, int, int]:
    """Read and fully decode an image; return (bytes, width, height). PNG/JPEG bytes are kept."""
    from PIL import Image

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise _Skip("missing file") from None
    except OSError as e:
        raise _Skip(f"unreadable file ({e.strerror or e})") from None
    if not data:
        raise _Skip("empty file")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            w, h = im.size
            if im.format not in ("PNG", "JPEG"):
                data = encode_png(np.asarray(im.convert("RGB")))
    # PIL raises many exception types for malformed files (OSError, SyntaxError, ValueError,
    # struct.error, DecompressionBombError ...); all mean "not a usable image".
    except Exception as e:  # noqa: BLE001
        raise _Skip(f"not a readable image ({type(e).__name__}: {e})") from None
    return data, w, h


def _warn_skipped(skipped: list[tuple[str, str]], listing: str) -> None:
    for p, reason in skipped[:_MAX_WARNINGS]:
        logger.warning("skipped %s: %s", p, reason)
    if len(skipped) > _MAX_WARNINGS:
        logger.warning("... and %d more skipped; see %s", len(skipped) - _MAX_WARNINGS, listing)


def _write_skipped(path: Path, skipped: list[tuple[str, str]]) -> None:
    # Written even when empty, so a stale list from an earlier run never survives.
    with atomic_write(path, "w") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "reason"])
        w.writerows(skipped)


def _warn_coarse_groups(labels: list[str], groups: list[str], splits: np.ndarray, fractions: dict) -> None:
    """Warn when grouping leaves a class out of a split: often a too-coarse default grouping."""
    wanted = [s for s, f in fractions.items() if f > 0]
    by_class: dict[str, set] = defaultdict(set)
    for label, g in zip(labels, groups):
        by_class[label].add(g)
    have = defaultdict(set)
    for label, s in zip(labels, splits):
        have[label].add(s)
    for label in sorted(by_class):
        lacking = [s for s in wanted if s not in have[label]]
        if lacking:
            logger.warning("class %r is missing from split(s) %s: its rows fall into only %d group(s) "
                           "(e.g. %r). If its images are independent, use --group-regex '^(.*)$' for "
                           "one group per file", label, lacking, len(by_class[label]), sorted(by_class[label])[0])


def _split_report(splits, labels, groups, classes: list[str]) -> dict:
    counts = Counter(zip(splits, labels))
    names = [s for s in SPLITS if s in set(splits)] + sorted(set(splits) - set(SPLITS))
    return {
        "counts": {s: {c: counts[(s, c)] for c in classes} for s in names},
        "groups": {s: len({g for g, t in zip(groups, splits) if t == s}) for s in names},
        "n_groups": len(set(groups)),
    }


# --------------------------------------------------------------------------- plots


def _plot_classes(path: Path, splits: np.ndarray, labels: list[str], classes: list[str]) -> None:
    """Bar chart of crops per class and split; each bar labelled with its share of the class."""
    from matplotlib.figure import Figure

    labels = np.asarray(labels)
    names = [s for s in SPLITS if s in set(splits)]
    totals = np.array([(labels == c).sum() for c in classes])
    x, width = np.arange(len(classes)), 0.8 / max(len(names), 1)
    fig = Figure(figsize=(min(24, 3 + 0.4 * len(classes) * max(len(names), 1)), 4), layout="constrained")
    ax = fig.add_subplot()
    for k, s in enumerate(names):
        n = np.array([((labels == c) & (splits == s)).sum() for c in classes])
        bars = ax.bar(x + (k - (len(names) - 1) / 2) * width, n, width, label=f"{s} ({n.sum()})")
        ax.bar_label(bars, labels=[f"{v / t:.0%}" for v, t in zip(n, totals)], fontsize=7)
    ax.set_xticks(x, classes, rotation=45 if len(classes) > 6 else 0, ha="right" if len(classes) > 6 else "center")
    ax.set(ylabel="crops", title="crops per class and split (label: share of the class)")
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _plot_sizes(path: Path, sizes: np.ndarray) -> None:
    """Histograms of width, height and aspect ratio (width / height)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.5), layout="constrained")
    for ax, values, name in zip(fig.subplots(1, 3), (sizes[:, 0], sizes[:, 1], sizes[:, 0] / sizes[:, 1]),
                                ("width (px)", "height (px)", "aspect ratio (w / h)")):
        ax.hist(values, bins=min(50, max(5, len(np.unique(values)))))
        ax.set(xlabel=name, ylabel="crops", title=f"{name}: median {np.median(values):.3g}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
