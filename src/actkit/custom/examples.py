"""A custom project made of rendered videos (``actkit synth actions`` clips): for tests, benchmarks and trying
the studio without a camera. Training videos come from the render's train cameras, validation videos from the
held-out ones (other camera sectors, palettes and speeds)."""
from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from .project import Project, init_project


def rendered_project(out: str | Path, classes: Sequence[str], train_per_class: int = 5, valid_per_class: int = 3,
                     frames: int = 48, size: int = 160, seed: int = 0, background: Sequence[str] = (),
                     temporal: bool = False, workers: int = 2) -> Project:
    """A project at ``out`` with ``classes`` (motion-capture clip names, e.g. ``jump``, ``punch``) and, when
    ``background`` names other clips, a ``background`` class made of those.

    Raises:
        FileExistsError: ``out`` holds a project already.
    """
    from ..data.synth.actions import CLASS_NAMES, render_actions

    names = list(classes) + [c for c in background if c not in classes]
    need = train_per_class + valid_per_class
    project = init_project(out, list(classes), background=bool(background), temporal=temporal)
    with tempfile.TemporaryDirectory() as tmp:
        render_actions(Path(tmp) / "r", clips_per_class=max(2 * need, 8), frames=frames, size=size, fps=16,
                       seed=seed, workers=workers, progress=False, classes=tuple(names))
        with open(Path(tmp) / "r" / "manifest.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        clip_of = {v: k for k, v in CLASS_NAMES.items()}
        rank: dict[tuple[str, str], int] = {}
        for r in rows:
            clip = clip_of[r["label"]]
            label = clip if clip in classes else "background"
            split = "train" if r["split"] == "train" else "valid"
            n = rank[(split, clip)] = rank.get((split, clip), -1) + 1
            limit = train_per_class if split == "train" else valid_per_class
            if n >= limit:  # per clip: a background class gets `limit` videos of each of its clips
                continue
            src = Path(tmp) / "r" / r["path"]
            # background videos interleave their clips in name order, so the first N mix them
            name = src.name if label != "background" else f"bg{n:03d}_{background.index(clip)}_{src.name}"
            shutil.copyfile(src, project.video_dir(split, label) / name)
    return project
