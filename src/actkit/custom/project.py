"""Custom classifier projects, in the folder layout of the sense engine's studio (its projects open unchanged).

::

    DIR/project_config.json                    classes, their tags, the temporal flag, recording settings
    DIR/videos_{train,valid}/<class>/<video>.mp4
    DIR/tags_{train,valid}/<class>/<video>.json   {"file", "fps", "time_annotation": [tag per frame, 0 = background]}
    DIR/features/...                           cached extractor outputs (actkit.custom.features)
    DIR/checkpoints/<name>/                    trained classifiers (actkit.custom.train)

``project_config.json``: ``classes`` maps each class to the indices of its tags, ``tags`` maps index -> tag
name (0 is background and is not listed), plus ``name``, ``date_created``, ``max_tag_index``, ``temporal``,
``assisted_tagging``, ``use_gpu`` and ``video_recording`` (``countdown``, ``recording`` seconds). The older
form with tag names in ``classes`` is read too. A ``time_annotation`` may hold one tag per video frame or one
per model step (the studio's strip); either is spread evenly over the video.

Every name (class, tag, video) is one plain path component; every path a project hands out is checked to stay
inside its folder, symlinks resolved (:func:`inside`).
"""
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..engine.predictor import VIDEO_EXTS
from ..utils.io import atomic_write_json

SPLITS = ("train", "valid")
CONFIG_FILE = "project_config.json"
BACKGROUND = "background"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,79}$")


def check_name(name: str, what: str = "name") -> str:
    """``name`` when it is one safe path component (letters, digits, ``_ . - `` and spaces; no leading dot).

    Raises:
        ValueError: anything else (``..``, slashes, empty, too long).
    """
    if not isinstance(name, str) or not NAME.match(name) or name.endswith((" ", ".")):
        raise ValueError(f"{what} {name!r}: use letters, digits, '_', '-', '.' or spaces (not first), at most 80")
    return name


def inside(root: Path, *parts: str) -> Path:
    """``root/parts...`` resolved (symlinks too), refused when it leaves ``root``.

    Raises:
        ValueError: the path escapes the project folder.
    """
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise ValueError(f"{'/'.join(parts)}: outside the project folder {root}")
    return path


@dataclass
class ProjectVideo:
    """One video of a project."""

    split: str
    label: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem


class Project:
    """A project folder; see the module docstring. Open one with :func:`load_project`, make one with
    :func:`init_project`."""

    def __init__(self, root: str | Path, config: dict[str, Any]) -> None:
        self.root, self.config = Path(root), config

    # ------------------------------------------------------------------ config

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])

    @property
    def temporal(self) -> bool:
        return bool(self.config.get("temporal", False))

    @property
    def tags(self) -> dict[int, str]:
        """Tag index -> name, background (0) included."""
        return {0: BACKGROUND, **{int(k): v for k, v in self.config.get("tags", {}).items()}}

    def class_tags(self, label: str) -> list[int]:
        return [int(i) for i in self.config["classes"][label]]

    def save(self) -> None:
        atomic_write_json(self.root / CONFIG_FILE, self.config)

    def add_class(self, label: str, tags: Sequence[str] | None = None) -> None:
        """A new class (with its own tags: by default one, named after the class; the background class has none).

        Raises:
            ValueError: a bad or existing name.
        """
        check_name(label, "class")
        if label in self.config["classes"]:
            raise ValueError(f"class {label!r} exists in {self.root}")
        names = [] if label == BACKGROUND else list(tags if tags is not None else [label])
        taken = set(self.tags.values())
        ids = []
        for t in names:
            check_name(t, "tag")
            if t in taken:
                raise ValueError(f"tag {t!r} exists in {self.root} (tags are unique across classes)")
            self.config["max_tag_index"] = int(self.config.get("max_tag_index", 0)) + 1
            self.config.setdefault("tags", {})[str(self.config["max_tag_index"])] = t
            ids.append(self.config["max_tag_index"])
            taken.add(t)
        self.config["classes"][label] = ids
        for split in SPLITS:
            inside(self.root, f"videos_{split}", label).mkdir(parents=True, exist_ok=True)
        self.save()

    # ------------------------------------------------------------------ files

    def checkpoint_dir(self, name: str) -> Path:
        """``checkpoints/<name>``: where a trained classifier goes (a safe name, inside the project)."""
        return inside(self.root, "checkpoints", check_name(name, "checkpoint name"))

    def video_dir(self, split: str, label: str) -> Path:
        return inside(self.root, f"videos_{check_split(split)}", self.known(label))

    def tags_file(self, split: str, label: str, video: str) -> Path:
        return inside(self.root, f"tags_{check_split(split)}", self.known(label), f"{check_name(video, 'video')}.json")

    def known(self, label: str) -> str:
        if label not in self.config["classes"]:
            raise ValueError(f"class {label!r} is not in {self.root / CONFIG_FILE} (classes: {', '.join(self.classes)})")
        return label

    def videos(self, split: str | None = None) -> list[ProjectVideo]:
        """Every video of ``split`` (both when None), by split, class and name; files of other types ignored."""
        out = []
        for s in SPLITS if split is None else (check_split(split),):
            for label in self.classes:
                try:
                    folder = inside(self.root, f"videos_{s}", label)  # a folder linked out of the project is skipped
                except ValueError:
                    continue
                if folder.is_dir():
                    out += [ProjectVideo(s, label, p) for p in sorted(folder.iterdir())
                            if p.suffix.lower() in VIDEO_EXTS and p.is_file() and not p.name.startswith(".")]
        return out

    def find(self, split: str, label: str, video: str) -> ProjectVideo:
        """The video named ``video`` (its stem) of ``split``/``label``.

        Raises:
            FileNotFoundError: no such video.
        """
        folder = self.video_dir(split, label)
        for p in sorted(folder.glob(f"{check_name(video, 'video')}.*")):
            if p.suffix.lower() in VIDEO_EXTS and inside(self.root, str(p.relative_to(self.root.resolve()))):
                return ProjectVideo(split, label, p)
        raise FileNotFoundError(f"no video {video!r} in {folder}")

    def read_tags(self, v: ProjectVideo) -> list[int] | None:
        """The video's ``time_annotation`` (None when it has no tags file).

        Raises:
            ValueError: an unreadable file, or a tag that is not one of the video's class (named).
        """
        path = self.tags_file(v.split, v.label, v.name)
        if not path.is_file():
            return None
        try:
            tags = json.loads(path.read_text())["time_annotation"]
            tags = [int(t) for t in tags]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a tags file ({e}); expected {{\"time_annotation\": [tag per frame]}}") from e
        allowed = {0, *self.class_tags(v.label)}
        bad = sorted(set(tags) - allowed)
        if bad:
            raise ValueError(f"{path}: tags {bad} are not tags of class {v.label!r} (allowed {sorted(allowed)})")
        return tags

    def write_tags(self, v: ProjectVideo, tags: Sequence[int], fps: float) -> Path:
        allowed = {0, *self.class_tags(v.label)}
        tags = [int(t) for t in tags]
        bad = sorted(set(tags) - allowed)
        if bad or not tags:
            raise ValueError(f"{v.path.name}: tags {bad or '[]'} are not tags of class {v.label!r} "
                             f"(allowed {sorted(allowed)}, at least one frame)")
        path = self.tags_file(v.split, v.label, v.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"file": v.path.name, "fps": float(fps), "time_annotation": tags})
        return path

    def summary(self) -> dict[str, Any]:
        """Classes, tags and video counts per split (for listings and the studio)."""
        vids = self.videos()
        tagged = {(v.split, v.label, v.name) for v in vids if self.tags_file(v.split, v.label, v.name).is_file()}
        return {"name": self.name, "path": str(self.root), "temporal": self.temporal,
                "tags": {str(k): t for k, t in self.tags.items()},
                "classes": {c: {"tags": [self.tags[i] for i in self.class_tags(c)],
                                **{s: sum(v.split == s and v.label == c for v in vids) for s in SPLITS},
                                "tagged": sum(k[1] == c for k in tagged)} for c in self.classes},
                "recording": self.config.get("video_recording", {"countdown": 3, "recording": 5})}


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: one of {', '.join(SPLITS)}")
    return split


def init_project(root: str | Path, classes: Sequence[str], background: bool = True, temporal: bool = False,
                 tags: dict[str, Sequence[str]] | None = None, name: str | None = None) -> Project:
    """A new project folder with ``classes`` (and a ``background`` class unless ``background=False``: without
    one, a live model has no answer for "none of these" and fires on small movements).

    Raises:
        FileExistsError: ``root`` already holds a project (it is never overwritten).
        ValueError: a bad or repeated class name.
    """
    root = Path(root)
    if (root / CONFIG_FILE).exists():
        raise FileExistsError(f"{root / CONFIG_FILE} exists: open that project, or choose another folder")
    names = list(dict.fromkeys(classes))
    if len(names) != len(classes):
        raise ValueError(f"repeated class names in {list(classes)}")
    if background and BACKGROUND not in names:
        names.append(BACKGROUND)
    if len(names) < 2:
        raise ValueError(f"a classifier needs at least two classes, got {names}")
    for c in names:
        check_name(c, "class")
    root.mkdir(parents=True, exist_ok=True)
    project = Project(root, {"name": name or root.resolve().name, "date_created": datetime.date.today().isoformat(),
                             "classes": {}, "tags": {}, "max_tag_index": 0, "temporal": bool(temporal),
                             "assisted_tagging": False, "use_gpu": False,
                             "video_recording": {"countdown": 3, "recording": 5}})
    for c in names:
        project.add_class(c, (tags or {}).get(c))
    return project


def load_project(root: str | Path) -> Project:
    """The project in ``root`` (sense projects too, the older tag-name form converted in memory).

    Raises:
        FileNotFoundError: no ``project_config.json``. ValueError: an unreadable one (named).
    """
    root = Path(root)
    path = root / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: make a project with `actkit custom init {root} --classes a,b`")
    try:
        config = json.loads(path.read_text())
        if not isinstance(config.get("classes"), dict):
            raise ValueError("no 'classes' mapping")
    except ValueError as e:
        raise ValueError(f"{path}: not a project config ({e})") from e
    if "tags" not in config:  # the older form: class -> tag names
        names = sorted({t for ts in config["classes"].values() for t in ts})
        config["tags"] = {str(i + 1): t for i, t in enumerate(names)}
        config["max_tag_index"] = len(names)
        config["classes"] = {c: [names.index(t) + 1 for t in ts] for c, ts in config["classes"].items()}
    for c in config["classes"]:
        check_name(c, f"{path}: class")
    return Project(root, config)
