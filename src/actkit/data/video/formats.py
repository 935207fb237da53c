"""Readers of the public action datasets with official splits: UCF-101, HMDB51, Kinetics and
Diving48 (see :mod:`.readers` for the layouts and the dispatcher)."""
from __future__ import annotations

import csv
import json
import logging
import os
import re
from pathlib import Path
from typing import Sequence


from ..splits import infer_group
from .table import inside, SPLITS, VideoRecord, VideoTable, carve_val, check_exists, finish_table, read_lines, split_name

logger = logging.getLogger(__name__)


def find_first(root: Path, names: Sequence[str]) -> Path | None:
    for sub in ("", "ucfTrainTestlist", "splits", "annotations", "labels"):
        for n in names:
            p = root / sub / n if sub else root / n
            if p.is_file():
                return p
    return None


def video_base(root: Path, rels: Sequence[str], candidates: Sequence[str]) -> Path:
    """The folder the list paths are relative to: the first candidate where the first files exist."""
    probe = rels[:20]
    for c in candidates:
        base = root / c if c else root
        if probe and any((base / r).is_file() for r in probe):
            return base
    return root / candidates[0] if candidates[0] else root


def read_ucf101(root: str | os.PathLike, split: int = 1, val_fraction: float = 0.1, seed: int = 0,
                fix_leakage: bool = False) -> VideoTable:
    """Read a UCF-101-layout dataset (the real one, or ``actkit synth actions`` output).

    Args:
        root: folder holding ``classInd.txt`` (directly or in ``ucfTrainTestlist/``).
        split: official split 1, 2 or 3.
        val_fraction: share of train groups moved to ``val`` when no ``vallist0N.txt`` exists.
        seed: seed of that carve.
        fix_leakage: move groups that straddle splits into one split instead of raising.

    Raises:
        ValueError: missing list files, unknown classes in a list, or groups across splits.
    """
    root = Path(root)
    if split not in (1, 2, 3):
        raise ValueError(f"UCF-101 split must be 1, 2 or 3, got {split!r}")
    ind = find_first(root, ["classInd.txt"])
    train_list = find_first(root, [f"trainlist0{split}.txt"])
    test_list = find_first(root, [f"testlist0{split}.txt"])
    if ind is None or train_list is None or test_list is None:
        raise ValueError(f"UCF-101 folder {str(root)!r} lacks classInd.txt, trainlist0{split}.txt or "
                         f"testlist0{split}.txt (looked in the folder and ucfTrainTestlist/)")
    val_list = find_first(root, [f"vallist0{split}.txt"])
    class_names = []
    for ln in read_lines(ind):
        parts = ln.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{ind}: expected lines like '1 ApplyEyeMakeup', got {ln!r}")
        class_names.append(parts[1])
    lower = {c.lower(): i for i, c in enumerate(class_names)}

    entries: list[tuple[str, str]] = []  # rel path, split
    for path, name in ((train_list, "train"), (val_list, "val"), (test_list, "test")):
        if path is not None:
            entries += [(ln.split()[0].replace("\\", "/"), name) for ln in read_lines(path)]
    base = video_base(root, [e[0] for e in entries], ("", "videos", "UCF-101", "UCF101"))

    groups_of: dict[str, str] = {}
    manifest = root / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("path") and row.get("group"):
                    rel = row["path"].replace("\\", "/")
                    # manifest paths carry the videos/ prefix the lists leave out
                    groups_of[rel[len("videos/"):] if rel.startswith("videos/") else rel] = row["group"]

    records, skipped = [], []
    for rel, name in entries:
        cls = rel.split("/")[0] if "/" in rel else ""
        if cls.lower() not in lower:
            raise ValueError(f"UCF-101 list entry {rel!r}: class folder {cls!r} is not in {ind}")
        cid = lower[cls.lower()]
        group = groups_of.get(rel) or infer_group(rel)
        records.append(VideoRecord(str((base / rel).resolve()), class_names[cid], cid, group, name))
    records = check_exists(records, skipped, root)
    if val_list is None:
        carve_val(records, val_fraction, seed)
    return finish_table(records, class_names, skipped, root, "ucf101", fix_leakage)


def _hmdb_group(stem: str, cls: str) -> str:
    # Scoped by class: HMDB's splits keep a film's clips together per action only, so one film
    # can be train for "punch" and test for "fall_floor".
    key = f"_{cls}_"
    return f"{cls}/{stem.split(key)[0] if key in stem else infer_group(stem)}"


def read_hmdb51(root: str | os.PathLike, split: int = 1, val_fraction: float = 0.1, seed: int = 0,
                fix_leakage: bool = False) -> VideoTable:
    """Read HMDB51: ``<class>_test_split{N}.txt`` files (anywhere under ``root``, e.g.
    ``testTrainMulti_7030_splits/``) and videos in ``<root>/<class>/`` (or ``<root>/videos/<class>/``).

    Args:
        root: dataset folder.
        split: official split 1, 2 or 3 (1 = train, 2 = test, 0 = unused in the files).
        val_fraction: share of train groups (source films) moved to ``val``.
        seed: seed of that carve.
        fix_leakage: move groups that straddle splits into one split instead of raising.
    """
    root = Path(root)
    if split not in (1, 2, 3):
        raise ValueError(f"HMDB51 split must be 1, 2 or 3, got {split!r}")
    files = sorted(p for p in root.rglob(f"*_test_split{split}.txt"))
    if not files:
        raise ValueError(f"HMDB51 folder {str(root)!r} has no *_test_split{split}.txt files")
    class_names = sorted(_HMDB_SPLIT.match(p.name)["cls"] for p in files)
    cid = {c: i for i, c in enumerate(class_names)}
    entries = []
    for p in files:
        cls = _HMDB_SPLIT.match(p.name)["cls"]
        for ln in read_lines(p):
            parts = ln.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{p}: expected lines like 'video.avi 1', got {ln!r}")
            if parts[1] != "0":
                entries.append((f"{cls}/{parts[0]}", cls, "train" if parts[1] == "1" else "test"))
    base = video_base(root, [e[0] for e in entries], ("", "videos", "hmdb51", "HMDB51"))
    records = [VideoRecord(str((base / rel).resolve()), cls, cid[cls], _hmdb_group(Path(rel).stem, cls), s)
               for rel, cls, s in entries]
    skipped: list[tuple[str, str]] = []
    records = check_exists(records, skipped, root)
    carve_val(records, val_fraction, seed)
    return finish_table(records, class_names, skipped, root, "hmdb51", fix_leakage)


def _kinetics_path(root: Path, label: str, yid: str, t0: float, t1: float, split: str,
                   raw_split: str) -> tuple[Path | None, bool]:
    """Find a Kinetics video; returns (path, trimmed) with trimmed False for a full-length file."""
    stem = f"{yid}_{int(t0):06d}_{int(t1):06d}"
    labels = dict.fromkeys([label, label.replace(" ", "_"), label.replace(" ", "")])
    splits = dict.fromkeys([raw_split, split, ""])
    for s in splits:
        for lab in list(labels) + [""]:
            for ext in _KINETICS_EXTS:
                p = root / s / lab / f"{stem}{ext}"
                if p.is_file():
                    return p, True
    for s in splits:
        for ext in _KINETICS_EXTS:
            p = root / s / f"{yid}{ext}"
            if p.is_file():
                return p, False
    return None, True


def read_kinetics(path: str | os.PathLike, root: str | os.PathLike | None = None, fix_leakage: bool = False,
                  val_fraction: float = 0.0, seed: int = 0) -> VideoTable:
    """Read Kinetics annotation CSV(s): ``label,youtube_id,time_start,time_end,split``.

    Args:
        path: one CSV, or a folder whose ``*.csv`` files with those columns are all read.
        root: where the videos are (default: the CSV's folder).
        fix_leakage: move groups that straddle splits into one split instead of raising.
        val_fraction: share of train groups moved to ``val`` (for sets without a val CSV).
        seed: seed of that carve.

    Rows without a label (some test CSVs) or without a video file are skipped and listed.
    """
    path = Path(path)
    csvs = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not csvs or not all(p.is_file() for p in csvs):
        raise ValueError(f"Kinetics annotations {str(path)!r}: no CSV file found")
    root = Path(root) if root is not None else (path if path.is_dir() else path.parent)
    need = {"label", "youtube_id", "time_start", "time_end"}
    rows, skipped = [], []
    for p in csvs:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = set(reader.fieldnames or [])
            if not need <= cols:
                if path.is_dir():
                    continue
                raise ValueError(f"Kinetics CSV {str(p)!r} lacks columns {sorted(need - cols)}")
            for n, row in enumerate(reader, start=2):
                label = (row.get("label") or "").strip()
                raw_split = (row.get("split") or p.stem).strip()
                try:
                    split = split_name(raw_split, f"{p}:{n}")
                    t0, t1 = float(row["time_start"]), float(row["time_end"])
                except ValueError as e:
                    raise ValueError(f"Kinetics CSV {p}, line {n}: {e}") from None
                yid = row["youtube_id"].strip()
                if not label:
                    skipped.append((f"{p}:{n} ({yid})", "no label"))
                    continue
                rows.append((label, yid, t0, t1, split, raw_split))
    if not rows and not skipped:
        raise ValueError(f"Kinetics annotations {str(path)!r}: no CSV with columns {sorted(need)}")
    class_names = sorted({r[0] for r in rows})
    cid = {c: i for i, c in enumerate(class_names)}
    records = []
    for label, yid, t0, t1, split, raw_split in rows:
        found, trimmed = _kinetics_path(root, label, yid, t0, t1, split, raw_split)
        if found is None:
            skipped.append((str(root / split / label / f"{yid}_{int(t0):06d}_{int(t1):06d}.mp4"), "missing file"))
            continue
        if not inside(found, root):
            skipped.append((str(found), f"outside the dataset root {root}"))
            continue
        rec = VideoRecord(str(found.resolve()), label, cid[label], yid, split)
        if not trimmed:
            rec.start_sec, rec.end_sec = t0, t1
        records.append(rec)
    carve_val(records, val_fraction, seed)
    return finish_table(records, class_names, skipped, path, "kinetics", fix_leakage)


def _diving_group(vid_name: str) -> str:
    return vid_name.rsplit("_", 1)[0] if "_" in vid_name else vid_name


def read_diving48(root: str | os.PathLike, val_fraction: float = 0.1, seed: int = 0,
                  fix_leakage: bool = False) -> VideoTable:
    """Read Diving48: ``Diving48[_V2]_{train,val,test}.json`` and ``Diving48_vocab.json``.

    Args:
        root: the folder with the JSON files (or any one of them); videos in ``rgb/``,
            ``videos/`` or the folder itself, named ``<vid_name>.mp4``.
        val_fraction: share of train groups (source videos) moved to ``val`` when there is no
            val file (the official release has train and test only).
        seed: seed of that carve.
        fix_leakage: move groups that straddle splits into one split instead of raising.

    Class names are the vocab's parts joined by ``_``; ``label_parts`` keeps the 4-tuple
    (take-off, somersaults, twists, flight position). ``end_frame`` is taken as exclusive.
    """
    root = Path(root)
    if root.is_file():
        root = root.parent
    # The annotation files may sit in an annotations/ subfolder next to the videos.
    ann = root
    for sub in ("", "annotations", "labels"):
        if list((root / sub).glob("Diving48*_train.json")):
            ann = root / sub
            break
    vocab_path = next(iter(sorted(ann.glob("Diving48*vocab*.json"))), None)
    split_files = {s: next(iter(sorted(ann.glob(f"Diving48*_{s}.json"))), None) for s in SPLITS}
    if vocab_path is None or split_files["train"] is None:
        raise ValueError(f"Diving48 folder {str(root)!r} lacks Diving48_vocab.json or Diving48[_V2]_train.json")
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    if not isinstance(vocab, list) or not all(isinstance(v, list) for v in vocab):
        raise ValueError(f"{vocab_path}: expected a list of [take-off, somersaults, twists, position] lists")
    parts = [tuple(str(x) for x in v) for v in vocab]
    class_names = ["_".join(p) for p in parts]
    vdir = next((root / d for d in ("rgb", "videos", "") if (root / d).is_dir() and any((root / d).glob("*.mp4"))),
                root / "rgb")
    records, skipped = [], []
    for split, p in split_files.items():
        if p is None:
            continue
        with open(p, encoding="utf-8") as f:
            rows = json.load(f)
        for n, row in enumerate(rows):
            try:
                name, label = str(row["vid_name"]), int(row["label"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{p}, row {n}: expected vid_name, label, start_frame, end_frame; "
                                 f"got {row!r}") from None
            if not 0 <= label < len(class_names):
                raise ValueError(f"{p}, row {n}: label {label} is not in the vocab ({len(class_names)} classes)")
            start = row.get("start_frame")
            end = row.get("end_frame")
            records.append(VideoRecord(str((vdir / f"{name}.mp4").resolve()), class_names[label], label,
                                       _diving_group(name), split, None if start is None else int(start),
                                       None if end is None else int(end), label_parts=parts[label]))
    records = check_exists(records, skipped, root)
    if split_files["val"] is None:
        carve_val(records, val_fraction, seed)
    table = finish_table(records, class_names, skipped, root, "diving48", fix_leakage)
    table.class_parts = parts
    return table


_HMDB_SPLIT = re.compile(r"^(?P<cls>.+)_test_split(?P<n>[123])\.txt$")


_KINETICS_EXTS = (".mp4", ".mkv", ".webm", ".avi")
