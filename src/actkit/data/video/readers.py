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
import dataclasses
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..splits import check_no_leakage, grouped_stratified_split, infer_group, straddling_groups

logger = logging.getLogger(__name__)

VIDEO_EXTS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".flv",
                        ".wmv", ".3gp", ".ogv"})
SPLITS = ("train", "val", "test")
FORMATS = ("folder", "ucf101", "hmdb51", "kinetics", "diving48", "csv")
_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
                  "validation": "val", "dev": "val", "test": "test", "testing": "test"}
_UCF_GROUP = re.compile(r"_(g\d+)_c\d+", re.IGNORECASE)


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


# --------------------------------------------------------------------------- shared helpers


def _split_name(value: str, where: str) -> str:
    s = _SPLIT_ALIASES.get(str(value).strip().lower())
    if s is None:
        raise ValueError(f"{where}: unknown split {value!r}; use one of {sorted(_SPLIT_ALIASES)}")
    return s


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _carve(records: list[VideoRecord], fraction: float, seed: int, source: str = "train",
           into: str = "val") -> None:
    """Move whole groups holding about ``fraction`` of ``source`` rows into split ``into`` (in place)."""
    rows = [r for r in records if r.split == source]
    if fraction <= 0 or len({r.group for r in rows}) < 2:
        return
    assigned = grouped_stratified_split([r.label for r in rows], [r.group for r in rows],
                                        {source: 1 - fraction, into: fraction}, seed=seed)
    for r, s in zip(rows, assigned):
        r.split = str(s)


def _fix_leakage(records: list[VideoRecord]) -> None:
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


def _finish(records: list[VideoRecord], class_names: list[str], skipped: list[tuple[str, str]], root,
            fmt: str, fix_leakage: bool = False) -> VideoTable:
    if fix_leakage:
        _fix_leakage(records)
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


def _check_exists(records: list[VideoRecord], skipped: list[tuple[str, str]]) -> list[VideoRecord]:
    kept = []
    for r in records:
        if os.path.isfile(r.path):
            kept.append(r)
        else:
            skipped.append((r.path, "missing file"))
    return kept


def _is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_EXTS and not p.name.startswith(".")


# --------------------------------------------------------------------------- folder-per-class


def _folder_group(rel: str, group_regex: str | None) -> str:
    if group_regex:
        m = re.search(group_regex, rel)
        if m:
            return m.group(1) if m.re.groups else m.group(0)
    if _UCF_GROUP.search(Path(rel).stem):
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
    split_dirs = {_SPLIT_ALIASES[d.name.lower()]: d for d in root.iterdir()
                  if d.is_dir() and d.name.lower() in _SPLIT_ALIASES}
    has_split_dirs = "train" in split_dirs and len(split_dirs) >= 2
    bases = list(split_dirs.items()) if has_split_dirs else [(None, root)]
    rows: list[tuple[str, str, str, str | None]] = []  # path, rel, class, split
    for split, base in bases:
        for cdir in sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")):
            for f in sorted(p for p in cdir.rglob("*") if _is_video(p)):
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
    return _finish(records, class_names, [], root, "folder", fix_leakage)


# --------------------------------------------------------------------------- UCF-101


def _find_first(root: Path, names: Sequence[str]) -> Path | None:
    for sub in ("", "ucfTrainTestlist", "splits", "annotations", "labels"):
        for n in names:
            p = root / sub / n if sub else root / n
            if p.is_file():
                return p
    return None


def _video_base(root: Path, rels: Sequence[str], candidates: Sequence[str]) -> Path:
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
    ind = _find_first(root, ["classInd.txt"])
    train_list = _find_first(root, [f"trainlist0{split}.txt"])
    test_list = _find_first(root, [f"testlist0{split}.txt"])
    if ind is None or train_list is None or test_list is None:
        raise ValueError(f"UCF-101 folder {str(root)!r} lacks classInd.txt, trainlist0{split}.txt or "
                         f"testlist0{split}.txt (looked in the folder and ucfTrainTestlist/)")
    val_list = _find_first(root, [f"vallist0{split}.txt"])
    class_names = []
    for ln in _read_lines(ind):
        parts = ln.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{ind}: expected lines like '1 ApplyEyeMakeup', got {ln!r}")
        class_names.append(parts[1])
    lower = {c.lower(): i for i, c in enumerate(class_names)}

    entries: list[tuple[str, str]] = []  # rel path, split
    for path, name in ((train_list, "train"), (val_list, "val"), (test_list, "test")):
        if path is not None:
            entries += [(ln.split()[0].replace("\\", "/"), name) for ln in _read_lines(path)]
    base = _video_base(root, [e[0] for e in entries], ("", "videos", "UCF-101", "UCF101"))

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
    records = _check_exists(records, skipped)
    if val_list is None:
        _carve(records, val_fraction, seed)
    return _finish(records, class_names, skipped, root, "ucf101", fix_leakage)


# --------------------------------------------------------------------------- HMDB51

_HMDB_SPLIT = re.compile(r"^(?P<cls>.+)_test_split(?P<n>[123])\.txt$")


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
        for ln in _read_lines(p):
            parts = ln.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{p}: expected lines like 'video.avi 1', got {ln!r}")
            if parts[1] != "0":
                entries.append((f"{cls}/{parts[0]}", cls, "train" if parts[1] == "1" else "test"))
    base = _video_base(root, [e[0] for e in entries], ("", "videos", "hmdb51", "HMDB51"))
    records = [VideoRecord(str((base / rel).resolve()), cls, cid[cls], _hmdb_group(Path(rel).stem, cls), s)
               for rel, cls, s in entries]
    skipped: list[tuple[str, str]] = []
    records = _check_exists(records, skipped)
    _carve(records, val_fraction, seed)
    return _finish(records, class_names, skipped, root, "hmdb51", fix_leakage)


# --------------------------------------------------------------------------- Kinetics

_KINETICS_EXTS = (".mp4", ".mkv", ".webm", ".avi")


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
                    split = _split_name(raw_split, f"{p}:{n}")
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
        rec = VideoRecord(str(found.resolve()), label, cid[label], yid, split)
        if not trimmed:
            rec.start_sec, rec.end_sec = t0, t1
        records.append(rec)
    _carve(records, val_fraction, seed)
    return _finish(records, class_names, skipped, path, "kinetics", fix_leakage)


# --------------------------------------------------------------------------- Diving48


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
    records = _check_exists(records, skipped)
    if split_files["val"] is None:
        _carve(records, val_fraction, seed)
    table = _finish(records, class_names, skipped, root, "diving48", fix_leakage)
    table.class_parts = parts
    return table


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
        split = _split_name(row["split"], f"{path}:{n}") if has_split else "train"
        recs.append(VideoRecord(str(p.resolve()), label, -1, group, split, frame("start"), frame("end")))
    class_names = sorted({r.label for r in recs})
    cid = {c: i for i, c in enumerate(class_names)}
    for r in recs:
        r.class_id = cid[r.label]
    if not has_split and recs:
        assigned = grouped_stratified_split([r.label for r in recs], [r.group for r in recs], fractions, seed)
        for r, s in zip(recs, assigned):
            r.split = str(s)
    recs = _check_exists(recs, skipped)
    return _finish(recs, class_names, skipped, path, "csv", fix_leakage)


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
    if _find_first(p, ["classInd.txt"]) is not None:
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
