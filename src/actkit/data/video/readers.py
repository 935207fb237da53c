"""Video dataset readers: every supported layout becomes one :class:`VideoTable`.

Formats (``read_videos(path, format=...)`` picks one, ``"auto"`` detects it):

* ``folder``: ``<root>/<class>/<file>`` (or ``<root>/{train,val,test}/<class>/<file>``); splits
  drawn by group (``group_regex``, the UCF ``gNN`` token, else one group per video).
* ``ucf101``: ``classInd.txt`` + ``trainlist0N.txt`` / ``testlist0N.txt`` (N = split 1-3), in
  the root or ``ucfTrainTestlist/``; videos under the root, ``videos/`` or ``UCF-101/``. Group =
  the ``gNN`` token. ``vallist0N.txt`` (written by ``actkit synth actions``) is used when present,
  else a validation split is carved from train by groups. A ``manifest.csv`` with a ``group``
  column (the synthetic set's per-class scene groups) overrides the ``gNN`` groups.
* ``hmdb51``: ``<class>_test_split{1,2,3}.txt`` with lines ``video.avi 0|1|2`` (1 train,
  2 test, 0 unused), videos in ``<root>/<class>/``. Group = the source film (the name before
  ``_<class>_``) within its class; validation carved from train by groups.
* ``kinetics``: CSV(s) ``label,youtube_id,time_start,time_end,split``. Videos are looked for as
  trimmed clips ``<root>/<split>/<label>/<id>_<start:06d>_<end:06d>.<ext>`` (also without the
  split or label folder, and with ``_`` for spaces in the label), else as the full video
  ``<root>[/<split>]/<id>.<ext>``, in which case ``start_sec`` / ``end_sec`` mark the segment
  (turned into frames at decode). Group = the YouTube id.
* ``diving48``: ``Diving48[_V2]_{train,val,test}.json`` rows ``vid_name,label,start_frame,end_frame``
  + ``Diving48_vocab.json`` (label -> 4 parts, kept as ``label_parts``); videos
  ``rgb/<vid_name>.mp4`` (or ``videos/``, or the root). Group = the source video (the name before
  its last ``_``), so the carved validation split is not the leaky random one.
* ``csv``: ``path,label[,start,end,group,split]`` (start/end in frames, end exclusive; paths
  relative to the CSV).

Rows whose file is missing are dropped and listed in ``table.skipped`` as ``(path, reason)``.
Groups never straddle splits: :func:`actkit.data.splits.check_no_leakage` runs on every table
(``fix_leakage=True`` moves each offending group wholly to the split holding most of it).
"""
from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping


from ..splits import grouped_stratified_split, infer_group
from .formats import find_first, read_diving48, read_hmdb51, read_kinetics, read_ucf101
from .table import SPLIT_ALIASES, UCF_GROUP, VIDEO_EXTS, VideoRecord, VideoTable, check_exists, finish_table, is_video, split_name

logger = logging.getLogger(__name__)

FORMATS = ("folder", "ucf101", "hmdb51", "kinetics", "diving48", "csv")


# --------------------------------------------------------------------------- shared helpers


# --------------------------------------------------------------------------- folder-per-class


def _folder_group(rel: str, group_regex: str | None) -> str:
    if group_regex:
        m = re.search(group_regex, rel)
        if m:
            return m.group(1) if m.re.groups else m.group(0)
    if UCF_GROUP.search(Path(rel).stem):
        return infer_group(rel)
    return rel  # one group per video


def read_folder(root: str | os.PathLike, group_regex: str | None = None,
                fractions: Mapping[str, float] | None = None, seed: int = 0, fix_leakage: bool = False) -> VideoTable:
    """Read ``<root>/<class>/<file>`` videos (or ``<root>/<split>/<class>/<file>``).

    Args:
        root: the dataset folder.
        group_regex: pattern searched in ``<class>/<file>``; its first capture group (or the whole
            match) is the group. Default: the UCF ``gNN`` token if the name has one, else one
            group per video.
        fractions: split fractions for a tree without split folders (default 0.8/0.1/0.1).
        seed: split seed.
        fix_leakage: move groups that straddle given split folders into one split.

    Raises:
        ValueError: ``root`` is not a folder or holds no videos.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"video folder {str(root)!r} does not exist or is not a folder")
    split_dirs = {SPLIT_ALIASES[d.name.lower()]: d for d in root.iterdir()
                  if d.is_dir() and d.name.lower() in SPLIT_ALIASES}
    has_split_dirs = "train" in split_dirs and len(split_dirs) >= 2
    bases = list(split_dirs.items()) if has_split_dirs else [(None, root)]
    rows: list[tuple[str, str, str, str | None]] = []  # path, rel, class, split
    for split, base in bases:
        for cdir in sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")):
            for f in sorted(p for p in cdir.rglob("*") if is_video(p)):
                rows.append((str(f.resolve()), f.relative_to(base).as_posix(), cdir.name, split))
    if not rows:
        raise ValueError(f"video folder {str(root)!r} holds no videos ({', '.join(sorted(VIDEO_EXTS))}) in "
                         "<root>/<class>/ or <root>/<split>/<class>/ subfolders")
    class_names = sorted({c for _, _, c, _ in rows})
    cid = {c: i for i, c in enumerate(class_names)}
    records = [VideoRecord(p, c, cid[c], _folder_group(rel, group_regex), s or "train") for p, rel, c, s in rows]
    if not has_split_dirs:
        assigned = grouped_stratified_split([r.label for r in records], [r.group for r in records], fractions, seed)
        for r, s in zip(records, assigned):
            r.split = str(s)
    skipped: list[tuple[str, str]] = []
    records = check_exists(records, skipped, root)  # a symlink out of the tree is refused too
    return finish_table(records, class_names, skipped, root, "folder", fix_leakage)


# --------------------------------------------------------------------------- generic CSV


def read_csv(path: str | os.PathLike, root: str | os.PathLike | None = None,
             fractions: Mapping[str, float] | None = None, seed: int = 0, fix_leakage: bool = False) -> VideoTable:
    """Read a CSV ``path,label[,start,end,group,split]`` (header required).

    ``start``/``end`` are frame numbers (end exclusive; empty = whole video); ``group`` empty or
    absent = one group per video; without a ``split`` column, splits are drawn by group with
    ``fractions``. Relative paths are relative to ``root`` (default: the CSV's folder).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"video CSV {str(path)!r} does not exist")
    root = Path(root) if root is not None else path.parent
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if not {"path", "label"} <= cols:
            raise ValueError(f"video CSV {str(path)!r} needs columns path,label[,start,end,group,split]; "
                             f"has {sorted(cols)}")
        rows = list(enumerate(reader, start=2))
    has_split = "split" in cols and all((r.get("split") or "").strip() for _, r in rows)
    recs, skipped = [], []
    for n, row in rows:
        label = (row.get("label") or "").strip()
        p = Path(row["path"].strip())
        p = p if p.is_absolute() else root / p
        if not label:
            skipped.append((str(p), f"no label (line {n})"))
            continue

        def frame(key: str) -> int | None:
            v = (row.get(key) or "").strip()
            if not v:
                return None
            try:
                return int(v)
            except ValueError:
                raise ValueError(f"video CSV {path}, line {n}: {key} must be a frame number, got {v!r}") from None

        group = (row.get("group") or "").strip() or str(p)
        split = split_name(row["split"], f"{path}:{n}") if has_split else "train"
        recs.append(VideoRecord(str(p.resolve()), label, -1, group, split, frame("start"), frame("end")))
    class_names = sorted({r.label for r in recs})
    cid = {c: i for i, c in enumerate(class_names)}
    for r in recs:
        r.class_id = cid[r.label]
    if not has_split and recs:
        assigned = grouped_stratified_split([r.label for r in recs], [r.group for r in recs], fractions, seed)
        for r, s in zip(recs, assigned):
            r.split = str(s)
    recs = check_exists(recs, skipped, root)
    return finish_table(recs, class_names, skipped, path, "csv", fix_leakage)


# --------------------------------------------------------------------------- dispatcher


def detect_format(path: str | os.PathLike) -> str:
    """Guess the dataset format of ``path`` (see the module docstring for the rules).

    Raises:
        ValueError: ``path`` does not exist or matches no known layout.
    """
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() == ".json" and p.name.lower().startswith("diving48"):
            return "diving48"
        if p.suffix.lower() == ".csv":
            with open(p, newline="", encoding="utf-8-sig") as f:
                header = set(next(csv.reader(f), []))
            return "kinetics" if "youtube_id" in header else "csv"
        raise ValueError(f"cannot tell the dataset format of file {str(p)!r}; pass format= one of {FORMATS}")
    if not p.is_dir():
        raise ValueError(f"video dataset {str(p)!r} does not exist")
    if find_first(p, ["classInd.txt"]) is not None:
        return "ucf101"
    if any(p.glob("Diving48*_train.json")) or any(p.glob("*/Diving48*_train.json")):
        return "diving48"
    if any(p.glob("*_test_split1.txt")) or any(p.glob("*/*_test_split1.txt")):
        return "hmdb51"
    for c in sorted(p.glob("*.csv")):
        with open(c, newline="", encoding="utf-8-sig") as f:
            if "youtube_id" in set(next(csv.reader(f), [])):
                return "kinetics"
    return "folder"


def read_videos(path_or_spec: str | os.PathLike | Mapping[str, Any], format: str = "auto", split: int = 1,
                **kwargs) -> VideoTable:
    """Read any supported video dataset into a :class:`VideoTable`.

    Args:
        path_or_spec: a folder or file, or a dict ``{"path": ..., "format": ..., **options}``.
        format: ``auto`` or one of ``folder``, ``ucf101``, ``hmdb51``, ``kinetics``,
            ``diving48``, ``csv``.
        split: official split (1-3) for UCF-101 and HMDB51; ignored by the others.
        **kwargs: the reader's own options (``val_fraction``, ``seed``, ``group_regex``,
            ``fix_leakage``, ``root`` ...).

    Raises:
        ValueError: unknown format, unreadable layout, or groups that straddle splits.
    """
    if isinstance(path_or_spec, Mapping):
        spec = dict(path_or_spec)
        if "path" not in spec:
            raise ValueError(f"dataset spec {spec!r} needs a 'path'")
        path = spec.pop("path")
        format = spec.pop("format", format)
        split = spec.pop("split", split)
        kwargs = {**spec, **kwargs}
    else:
        path = path_or_spec
    if format == "auto":
        format = detect_format(path)
    if format not in FORMATS:
        raise ValueError(f"unknown video dataset format {format!r}; choose one of {('auto',) + FORMATS}")
    reader = {"folder": read_folder, "ucf101": read_ucf101, "hmdb51": read_hmdb51, "kinetics": read_kinetics,
              "diving48": read_diving48, "csv": read_csv}[format]
    if format in ("ucf101", "hmdb51"):
        kwargs["split"] = split
    try:
        return reader(path, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad option for the {format} reader: {e}") from None


__all__ = ["VIDEO_EXTS", "FORMATS", "VideoRecord", "VideoTable", "read_videos", "detect_format", "read_folder",
           "read_ucf101", "read_hmdb51", "read_kinetics", "read_diving48", "read_csv"]
