"""Image classification datasets read in place: Stanford 40 Actions and folder-per-class trees.

* **Stanford40** (Yao et al., ICCV 2011): ``JPEGImages/<action>_NNN.jpg``, ``ImageSplits/<action>_train.txt``
  and ``<action>_test.txt`` (one file name per line), ``XMLAnnotations/<action>_NNN.xml`` (Pascal VOC style,
  the person's ``bndbox``). The official train / test lists are kept; validation is carved from train, or
  read from ``<action>_val.txt`` lists where a set adds them (photos from one video must not straddle splits).
* **Folder**: ``<root>/<class>/*.jpg``, or ``<root>/{train,val,test}/<class>/*.jpg`` with the splits given;
  without split folders, a seeded stratified split (one group per image).

Either gives a :class:`~actkit.data.crops.CropTable` of encoded images (read once; decoded when a dataset
is built), so the image task trains with the crop task's machinery. ``boxes`` hold Stanford40's person
boxes (relative) when ``person_box`` is asked for, else the whole image. Files outside the root (``..``,
absolute names, symlinks out), missing or undecodable images, and list lines naming unknown files are
skipped and listed in ``table.skipped``.
"""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .crops import IMAGE_EXTS, CropTable
from .splits import grouped_stratified_split

log = logging.getLogger(__name__)

SPLIT_DIRS = ("train", "val", "test")


def detect_image_format(root: str | Path) -> str:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image dataset not found: {root}")
    if (root / "JPEGImages").is_dir() and (root / "ImageSplits").is_dir():
        return "stanford40"
    return "folder"


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _read_bytes(root: Path, path: Path, skipped: list[tuple[str, str]]) -> bytes | None:
    import cv2

    if not _inside(root, path):
        skipped.append((str(path), "outside the dataset root"))
        return None
    if not path.is_file():
        skipped.append((str(path), "missing"))
        return None
    data = path.read_bytes()
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        skipped.append((str(path), "not a decodable image"))
        return None
    return data


def person_box(xml_path: Path) -> tuple[float, float, float, float] | None:
    """The first ``bndbox`` of a Stanford40 / VOC annotation, relative to the image size; None if unusable."""
    try:
        doc = ET.parse(xml_path).getroot()
        w, h = float(doc.findtext("size/width")), float(doc.findtext("size/height"))
        b = doc.find(".//bndbox")
        x0, y0, x1, y1 = (float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
    except (ET.ParseError, OSError, TypeError, ValueError, AttributeError):
        return None
    if w <= 0 or h <= 0 or not (0 <= x0 < x1 <= w + 1 and 0 <= y0 < y1 <= h + 1):
        return None
    return x0 / w, y0 / h, min(1.0, x1 / w), min(1.0, y1 / h)


def _table(rows: list[tuple[bytes, str, str, str, tuple[float, ...]]], skipped: list[tuple[str, str]],
           root: Path) -> CropTable:
    if not rows:
        raise ValueError(f"{root}: no readable images ({len(skipped)} skipped)")
    images, labels, splits, sources, boxes = zip(*rows)
    names = sorted(set(labels))
    labels = np.array(labels, dtype=object)
    return CropTable(list(images), labels, np.array([names.index(v) for v in labels], np.int64), names,
                     np.array(splits, dtype=object), np.array(sources, dtype=object),
                     np.array(boxes, np.float32).reshape(-1, 4), np.array(sources, dtype=object), skipped, str(root))


def read_stanford40(root: str | Path, use_person_box: bool = False) -> CropTable:
    """Stanford 40 Actions with its official train / test lists (see the module doc)."""
    root = Path(root)
    skipped: list[tuple[str, str]] = []
    rows, seen = [], {}
    for split_file in sorted((root / "ImageSplits").glob("*_*.txt")):
        action, _, split = split_file.stem.rpartition("_")
        if split not in ("train", "val", "test") or not action:
            continue
        for line in split_file.read_text().split():
            name = Path(line)
            if name.is_absolute() or ".." in name.parts or name.suffix.lower() not in IMAGE_EXTS:
                skipped.append((line, "not a file name inside JPEGImages"))
                continue
            if line in seen:
                skipped.append((line, f"listed in {seen[line]} and in {split_file.name}: kept in the first only"))
                continue
            seen[line] = split_file.name
            data = _read_bytes(root, root / "JPEGImages" / name, skipped)
            if data is None:
                continue
            box = (0.0, 0.0, 1.0, 1.0)
            if use_person_box:
                found = person_box(root / "XMLAnnotations" / name.with_suffix(".xml"))
                if found is None:
                    skipped.append((str(name), "no usable person box in XMLAnnotations"))
                    continue
                box = found
            rows.append((data, action, split, str(name), box))
    if not rows and not skipped:
        raise ValueError(f"{root}: no <action>_train.txt / <action>_test.txt lists in ImageSplits/")
    return _table(rows, skipped, root)


def read_image_folder(root: str | Path, val: float = 0.1, test: float = 0.1, seed: int = 0) -> CropTable:
    """``<root>/<class>/*`` (seeded stratified split) or ``<root>/<split>/<class>/*`` (splits as given)."""
    root = Path(root)
    skipped: list[tuple[str, str]] = []
    given = [s for s in SPLIT_DIRS if (root / s).is_dir()]
    bases = [(root / s, s) for s in given] if given else [(root, "")]
    rows = []
    for base, split in bases:
        for cls in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(cls.rglob("*")):
                if path.suffix.lower() not in IMAGE_EXTS or path.is_dir():
                    continue
                data = _read_bytes(root, path, skipped)
                if data is not None:
                    rows.append((data, cls.name, split, str(path.relative_to(root)), (0.0, 0.0, 1.0, 1.0)))
    table = _table(rows, skipped, root)
    if not given:
        table.splits = np.asarray(grouped_stratified_split(table.labels, table.groups,
                                                           {"train": 1 - val - test, "val": val, "test": test},
                                                           seed=seed), dtype=object)
    return table


def read_images(root: str | Path, person_box: bool = False, seed: int = 0) -> CropTable:
    """Stanford40 or a folder-per-class tree, whichever ``root`` is."""
    fmt = detect_image_format(root)
    table = read_stanford40(root, person_box) if fmt == "stanford40" else read_image_folder(root, seed=seed)
    if table.skipped:
        log.warning("%s: %d images skipped (first: %s: %s)", root, len(table.skipped), *table.skipped[0])
    return table
