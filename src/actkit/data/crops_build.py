"""Building crop datasets: ``actkit data crops`` (a folder-per-class tree or a CSV into one Parquet,
with a grouped split) and ``actkit data resplit`` (regroup a Parquet's split)."""
from __future__ import annotations

import csv
import difflib
import logging
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from ..utils import atomic_write, atomic_write_json, atomic_write_parquet
from ..utils.io import atomic_path
from ..utils.progress import progress as progress_bar
from .schema import SPLITS
from .splits import check_no_leakage, grouped_stratified_split, infer_group, straddling_groups
from .crops import IMAGE_EXTS, SkipInput, NO_LABEL, SPLIT_ALIASES, groups_for, load_image_file, read_parquet, warn_skipped

logger = logging.getLogger(__name__)


@dataclass
class _Candidate:
    source: str  # as written to the ``source`` column: relative to the tree root / CSV folder
    file: Path
    label: str
    group: str
    split: str | None = None


def _decode(cands: list[_Candidate], skipped: list[tuple[str, str]], progress: bool | None, min_size: int = 0
            ) -> tuple[list[_Candidate], list[bytes], list[tuple[int, int]]]:
    """Decode every candidate (validating it and reading its size); the unusable ones, and images with a side
    under ``min_size`` pixels, go to ``skipped``."""
    rows, sizes, images = [], [], []
    for c in progress_bar(cands, desc="images", unit="img", enable=progress):
        try:
            data, w, h = load_image_file(c.file)
            if min(w, h) < min_size:
                raise SkipInput(f"{w}x{h} pixels: a side under --min-size {min_size} (pass a smaller --min-size to "
                                "keep it)")
        except SkipInput as e:
            skipped.append((c.source, str(e)))
            continue
        rows.append(c)
        images.append(data)
        sizes.append((w, h))
    return rows, images, sizes


def _crops_table(rows: list[_Candidate], images: list[bytes], sizes: list[tuple[int, int]], splits: np.ndarray,
                 class_names: list[str]):
    """The crop Parquet table (:mod:`actkit.data.schema`) of the decoded rows, whole images (no box)."""
    import pyarrow as pa

    labels = [r.label for r in rows]
    ids = {c: k for k, c in enumerate(class_names)}
    return pa.table({
        "split": pa.array(splits.tolist(), pa.string()),
        "label": pa.array(labels, pa.string()),
        "class_id": pa.array([ids[x] for x in labels], pa.int64()),
        "image_bytes": pa.array(images, pa.binary()),
        "group": pa.array([r.group for r in rows], pa.string()),
        "width": pa.array([w for w, _ in sizes], pa.int32()),
        "height": pa.array([h for _, h in sizes], pa.int32()),
        "source": pa.array([r.source for r in rows], pa.string()),
        "box": pa.nulls(len(rows), pa.list_(pa.float32())),
    })


def _splits_of(rows: list[_Candidate], source: Path, fractions: dict[str, float], seed: int) -> np.ndarray:
    """The CSV's own split column after a leakage check, else a grouped stratified split."""
    labels, groups = [r.label for r in rows], [r.group for r in rows]
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
    return splits


def build_crops(source: str | os.PathLike, out: str | os.PathLike, *, val: float = 0.1, test: float = 0.1,
                seed: int = 0, group_regex: str | None = None, classes: Sequence[str] | None = None,
                plots: bool = True, progress: bool | None = None, min_size: int = 8) -> dict:
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
        min_size: images with a side under this many pixels are skipped and listed (0: keep every size).

    Returns:
        The summary written to ``<out stem>_summary.json``, plus ``skipped``: a list of
        ``{"path", "reason"}``.

    Raises:
        ValueError: naming the path, if ``source`` does not exist, has no class folders or no
            usable rows, or a given split puts one group on two sides.
    """
    source, out = Path(source), Path(out)
    fractions = _fractions(val, test)
    if not source.exists():
        raise ValueError(f"{source}: no such folder or CSV file")
    if source.is_dir():
        cands, skipped, ignored = _scan_tree(source, group_regex, classes)
    else:
        (cands, skipped), ignored = _scan_csv(source, group_regex, classes), 0

    rows, images, sizes = _decode(cands, skipped, progress, min_size)
    warn_skipped(skipped, str(_sidecar(out, "skipped.csv")))
    if not rows:
        raise ValueError(f"{source}: no usable images ({len(skipped)} skipped; first: "
                         f"{skipped[0] if skipped else 'none found'})")

    class_names = sorted({r.label for r in rows})
    labels, groups = [r.label for r in rows], [r.group for r in rows]
    splits = _splits_of(rows, source, fractions, seed)

    n = len(rows)
    table = _crops_table(rows, images, sizes, splits, class_names)
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
    table = read_parquet(path_in)
    cols = table.column_names
    if "label" not in cols:
        raise ValueError(f"{path_in}: missing required column(s): label")
    if not {"group", "source", "image_path"} & set(cols):
        raise ValueError(f"{path_in}: no group, source or image_path column to group rows by; "
                         "a per-row split is all that is possible, and it leaks")
    labels = [str(x) for x in table.column("label").to_pylist()]
    groups = groups_for(table, group_regex, prefer_column=group_regex is None)
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
            split = SPLIT_ALIASES.get((row.get("split") or "").strip().lower()) if has_split else None
            if not raw:
                reason = "empty path"
            elif PurePosixPath(raw).is_absolute() or re.match(r"^[A-Za-z]:", raw):
                reason = "absolute path (paths must be relative to the CSV's folder)"
            elif not _inside(file, base):
                reason = "path escapes the CSV's folder"
            elif label.lower() in NO_LABEL:
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
