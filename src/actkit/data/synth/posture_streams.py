"""``actkit synth skeletons --set sitting``: keypoint streams of several people who sit down, stand up and lie
down, with every person's posture on every frame; the truth the sitting app is scored against.

Each person's timeline is a chain of *spells* (``SPELL_SECONDS`` long: one still body of the postures set,
standing, sitting on a seat or on the ground, or lying, labelled by its geometry as ``actkit synth postures``
labels it, swaying a little as people at rest do) joined by *transitions* (``TRANSITION_SECONDS``: the body's
points move from one spell's body to the next). The second spell is always sitting, so everyone sits at least
once. Truth per frame: the spell's label; the first half of a transition keeps the spell before, the second
half takes the next one. Each person is seen by their own camera (a sector of the stream's split, as every
synthetic set holds cameras out) with a pose model's noise (:class:`~.skeletons.Noise`).

Layout (a folder): ``keypoints/stream_NNN.parquet`` (one row, ``(frames, people, 33, 4)``, person ``k`` is
track ``k + 1``), ``labels/stream_NNN.json`` (``name``, ``split``, ``fps``, ``frames``, ``people``: per person
``track_id`` and ``postures``, one label per frame), ``render_config.json`` (a re-run with other arguments is
refused; finished streams are kept) and ``summary.json``.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .skeletons import IMAGE_SIZE, Noise, add_noise, fk_renderer, mediapipe33, project, unit

POSTURE_WEIGHTS = {"sitting": 0.45, "standing": 0.35, "lying": 0.2}
SPELL_SECONDS = (4.0, 16.0)
TRANSITION_SECONDS = (0.8, 1.6)
MAX_DRAWS = 400


def still_body(renderer: Any, rng: np.random.Generator, label: str) -> np.ndarray:
    """(33, 3) world points of a random body of the postures set whose geometry says ``label``."""
    from .mocap import quat_rotate
    from .postures import labelled_pose

    for _ in range(MAX_DRAWS):
        got, pose = labelled_pose(renderer, rng)
        if got == label:
            facing = quat_rotate(np.asarray(pose.root_orn), np.array([1.0, 0.0, 0.0]))
            return mediapipe33(renderer.link_frames(), renderer.link_aabbs(), facing)
    raise RuntimeError(f"no {label} body in {MAX_DRAWS} draws")


def person_timeline(renderer: Any, rng: np.random.Generator, frames: int, fps: float) -> tuple[np.ndarray, list[str]]:
    """One person's (frames, 33, 3) world points and per-frame posture labels (see the module docstring)."""
    points: list[np.ndarray] = []
    labels: list[str] = []
    names, weights = list(POSTURE_WEIGHTS), np.array(list(POSTURE_WEIGHTS.values()))
    previous = None
    spell = 0
    while len(labels) < frames:
        label = "sitting" if spell == 1 else names[int(rng.choice(len(names), p=weights / weights.sum()))]
        body = still_body(renderer, rng, label)
        if previous is not None:  # move from the last body to this one
            n = max(2, int(round(rng.uniform(*TRANSITION_SECONDS) * fps)))
            u = np.linspace(0, 1, n + 2)[1:-1, None, None]
            points.extend(previous[1] * (1 - u) + body * u)
            labels.extend([previous[0]] * (n // 2) + [label] * (n - n // 2))
        n = max(1, int(round(rng.uniform(*SPELL_SECONDS) * fps)))
        sway = np.cumsum(rng.normal(0, 0.002, (n, 1, 3)), axis=0)  # a body at rest still moves a little
        points.extend(body[None] + sway - sway.mean(0))
        labels.extend([label] * n)
        previous = (label, body)
        spell += 1
    return np.asarray(points[:frames], np.float32), labels[:frames]


def posture_stream(seed: int, index: int, seconds: tuple[float, float], fps: float, people: tuple[int, int],
                   noise: Noise) -> tuple[np.ndarray, dict[str, Any]]:
    """Stream ``index``: its (frames, people, 33, 4) keypoints and its label record."""
    from .scene import SPLIT_SECTORS, SPLIT_WEIGHTS, SPLITS

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 7)))
    split = SPLITS[int(rng.choice(len(SPLITS), p=SPLIT_WEIGHTS))]
    frames = int(round(rng.uniform(*seconds) * fps))
    renderer = fk_renderer()
    kps, record_people = [], []
    for k in range(int(rng.integers(people[0], people[1] + 1))):
        world, labels = person_timeline(renderer, rng, frames, fps)
        sector = int(rng.choice(SPLIT_SECTORS[split]))
        xy, depth, _ = project(world, rng, sector, unit(world[0, 0] - world[0, [7, 8]].mean(0)))
        kps.append(add_noise(xy, depth, rng, noise))
        record_people.append({"track_id": k + 1, "sector": sector, "postures": labels})
    name = f"stream_{index:03d}"
    return np.stack(kps, axis=1), {"name": name, "split": split, "fps": fps, "frames": frames,
                                   "size": list(IMAGE_SIZE), "people": record_people}


def render_posture_streams(out: str | Path, videos: int = 12, seconds: tuple[float, float] = (60.0, 120.0),
                           fps: float = 15.0, seed: int = 0, people: tuple[int, int] = (2, 3), noise: Noise | None = None,
                           progress: bool | None = None) -> dict:
    """Write the set (see the module docstring); returns the summary."""
    from ...utils.io import atomic_write_json
    from ...utils.progress import progress as bar_of
    from ..keypoint_sequences import save_sequences
    from .render import claim_output

    if videos < 1 or fps < 4 or not 0 < seconds[0] <= seconds[1] or not 1 <= people[0] <= people[1]:
        raise ValueError("need videos >= 1, fps >= 4, 0 < seconds[0] <= seconds[1] and 1 <= people[0] <= people[1]")
    noise = noise or Noise()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {"set": "sitting", "videos": videos, "seconds": [float(s) for s in seconds], "fps": fps, "seed": seed,
              "people": list(people), "noise": vars(noise)}
    claim_output(out, config, ())
    t0, written, splits, seconds_of = time.perf_counter(), 0, Counter(), Counter()
    with bar_of(total=videos, desc="posture streams", unit="stream", enable=progress) as bar:
        for i in range(videos):
            name = f"stream_{i:03d}"
            labels_path, kp_path = out / "labels" / f"{name}.json", out / "keypoints" / f"{name}.parquet"
            if labels_path.is_file() and kp_path.is_file():
                record = json.loads(labels_path.read_text())
            else:
                kp, record = posture_stream(seed, i, seconds, fps, people, noise)
                atomic_write_json(labels_path, record, indent=None)  # labels first, as every synthetic set
                kp_path.parent.mkdir(parents=True, exist_ok=True)
                save_sequences(kp_path, [{"source": f"synth:sitting:{seed}:{i}", "fps": fps, "keypoints": kp}])
                written += 1
            splits[record["split"]] += 1
            for p in record["people"]:
                seconds_of.update({k: v / fps for k, v in Counter(p["postures"]).items()})
            bar.update(1)
    summary = {"out": str(out), **config, "videos_written": written, "splits": dict(splits),
               "posture_seconds": {k: round(v, 1) for k, v in sorted(seconds_of.items())},
               "seconds_taken": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out / "summary.json", summary)
    return summary
