"""Keypoint versions of the ``reps`` and ``streams`` sets: the same timelines, bodies and labels, seen as
MediaPipe-33 keypoints through a camera with a pose model's noise instead of rendered.

Video ``i`` of ``actkit synth skeletons --set streams --seed S`` follows the plan of video ``i`` of
``actkit synth streams --seed S`` (same segments, joint offsets, turns and camera azimuth, so the same
split and the same unseen camera sectors), and ``--set reps`` the plans of ``actkit synth reps``: a keypoint
set and a rendered set from one seed show the same motion, which is what comparing true-joint keypoints with
keypoints found in the rendered video needs. Forward kinematics runs once per frame (about 0.3 ms); the
projection and the noise (:func:`~.skeletons.project`, :func:`~.skeletons.add_noise`) are numpy.

Layout (the rendered sets' with ``keypoints/`` where they have ``videos/``; read by
:func:`actkit.data.video.framelabels.read_labelled_videos`):

* streams: ``labels/stream_NNN.json`` (the streams label record; ``boxes`` are the keypoints' boxes) and
  ``keypoints/stream_NNN.parquet`` (one row, ``(frames, people, 33, 4)`` in the keypoint sequence format,
  person ``k`` is ``track_id`` ``k + 1``); with ``views`` > 1 each training video is also seen from
  ``views - 1`` more cameras turned by multiples of 90 degrees, which keeps every segment in a training
  sector (``stream_NNN_v1``, ...);
* reps: ``labels/<exercise>/<stem>.json`` and ``keypoints/<exercise>/<stem>.parquet``;
* ``render_config.json`` (a re-run with other arguments is refused; finished videos are kept) and
  ``summary.json``.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .skeletons import IMAGE_SIZE, Noise, fk_renderer, unit, add_noise, mediapipe33, project


def body_points(renderer: Any, poses: Iterable[Any]) -> np.ndarray:
    """(T, 33, 3) MediaPipe body points of a sequence of :class:`~.mocap.Pose` (forward kinematics per frame)."""
    from .mocap import quat_rotate

    out = []
    for pose in poses:
        renderer.set_pose(pose)
        facing = quat_rotate(np.asarray(pose.root_orn), np.array([1.0, 0.0, 0.0]))
        out.append(mediapipe33(renderer.link_frames(), renderer.link_aabbs(), facing))
    return np.asarray(out, np.float32)


def keypoint_boxes(kp: np.ndarray, min_visibility: float = 0.5) -> list:
    """Per frame ``[x0, y0, x1, y1]`` of the visible keypoints of one person (T, 33, 4), or None."""
    out = []
    for f in kp:
        seen = np.isfinite(f[:, 0]) & (f[:, 3] >= min_visibility)
        out.append(None if seen.sum() < 2 else [round(float(v), 1) for v in (*f[seen, :2].min(0), *f[seen, :2].max(0))])
    return out


def _view_rng(seed: int, index: int, view: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 1000 + view)))


def stream_keypoints(plan: Any, seed: int, noise: Noise, view: int = 0) -> tuple[np.ndarray, list[list]]:
    """(frames, people, 33, 4) keypoints of a :class:`~.stream_plan.StreamPlan` through its own camera
    azimuth (turned by ``view`` x 90 degrees) and each person's keypoint boxes."""
    from .stream_plan import jitter_offsets, unpack_pose
    from .streams import person_track

    renderer = fk_renderer()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(plan.index,)).spawn(2)[1])
    tracks = [person_track(renderer, plan, k, jitter_offsets(rng)) for k in range(len(plan.people))]
    vrng = _view_rng(seed, plan.index, view)
    azimuth = np.radians(plan.camera_azimuth(np.arange(plan.frames)) + 90.0 * view)
    people, boxes = [], []
    for poses, _ in tracks:
        world = body_points(renderer, (unpack_pose(p) for p in poses))
        xy, depth, _ = project(world, vrng, 0, unit(world[0, 0] - world[0, [7, 8]].mean(0)), IMAGE_SIZE, azimuth)
        kp = add_noise(xy, depth, vrng, noise)
        people.append(kp)
        boxes.append(keypoint_boxes(kp))
    return np.stack(people, axis=1), boxes


def rep_keypoints(plan: Any, seed: int, noise: Noise) -> tuple[np.ndarray, list]:
    """(frames, 1, 33, 4) keypoints of a :class:`~.reps.RepPlan` seen from its camera sector, and the boxes."""
    from .reps import plan_poses

    renderer = fk_renderer()
    poses, _, _ = plan_poses(renderer, plan, seed)
    world = body_points(renderer, poses)
    rng = _view_rng(seed, plan.index, 0)
    facing = unit(world[0, 0] - world[0, [7, 8]].mean(0))
    xy, depth, _ = project(world, rng, plan.sector, facing)
    kp = add_noise(xy, depth, rng, noise)
    return kp[:, None], keypoint_boxes(kp)


def _write(out: Path, rel: str, name: str, fps: float, kp: np.ndarray, record: dict) -> None:
    from ...utils.io import atomic_write_json
    from ..keypoint_sequences import save_sequences

    # Labels first: existing keypoints always have their labels (as the rendered sets).
    atomic_write_json(out / "labels" / f"{rel}.json", record, indent=None)
    target = out / "keypoints" / f"{rel}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    save_sequences(target, [{"source": f"synth:{name}", "fps": fps, "keypoints": kp}])


def render_skeleton_streams(out: str | Path, videos: int = 80, seconds: tuple[float, float] = (60.0, 90.0),
                            fps: int = 16, seed: int = 0, people: tuple[int, int] = (1, 1), views: int = 1,
                            noise: Noise | None = None, progress: bool | None = None) -> dict:
    """The ``streams`` set as keypoints (see the module docstring); returns the summary."""
    from ...utils.io import atomic_write_json
    from ...utils.progress import progress as bar_of
    from .render import claim_output
    from .stream_plan import plan_stream
    from .streams import label_record

    if videos < 1 or not 1 <= views <= 4 or fps < 4 or not 0 < seconds[0] <= seconds[1]:
        raise ValueError("need videos >= 1, views 1-4 (cameras 90 degrees apart), fps >= 4 and 0 < seconds[0] <= seconds[1]")
    noise = noise or Noise()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {"set": "streams", "videos": videos, "seconds": [float(s) for s in seconds], "fps": fps, "seed": seed,
              "people": list(people), "views": views, "noise": vars(noise)}
    claim_output(out, config, ())
    t0, written, counts = time.perf_counter(), 0, Counter()
    plans = [plan_stream(seed, i, (float(seconds[0]), float(seconds[1])), fps, tuple(people)) for i in range(videos)]
    with bar_of(total=sum(p.frames for p in plans), desc="skeleton streams", unit="frame", enable=progress) as bar:
        for plan in plans:
            for view in range(views if plan.split == "train" else 1):
                name = plan.name if view == 0 else f"{plan.name}_v{view}"
                counts[plan.split] += 1
                if (out / "keypoints" / f"{name}.parquet").is_file() and (out / "labels" / f"{name}.json").is_file():
                    continue
                kp, boxes = stream_keypoints(plan, seed, noise, view)
                record = {**label_record(plan, 0, boxes), "name": name, "size": list(IMAGE_SIZE), "view": view}
                _write(out, name, name, fps, kp, record)
                written += 1
            bar.update(plan.frames)
    summary = {"out": str(out), **config, "videos_written": written, "splits": dict(counts),
               "frames": sum(p.frames for p in plans), "seconds_taken": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out / "summary.json", summary)
    return summary


def render_skeleton_reps(out: str | Path, videos_per_exercise: int = 20, seconds: tuple[float, float] = (6.0, 12.0),
                         fps: int = 16, seed: int = 0, noise: Noise | None = None, progress: bool | None = None) -> dict:
    """The ``reps`` set as keypoints (see the module docstring); returns the summary."""
    from ...utils.io import atomic_write_json
    from ...utils.progress import progress as bar_of
    from ..vocab import EXERCISES
    from .render import claim_output
    from .reps import label_record, plan_video

    if videos_per_exercise < 1 or fps < 8 or not 0 < seconds[0] <= seconds[1]:
        raise ValueError("need videos_per_exercise >= 1, fps >= 8 and 0 < seconds[0] <= seconds[1]")
    noise = noise or Noise()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {"set": "reps", "videos_per_exercise": videos_per_exercise, "seconds": [float(s) for s in seconds],
              "fps": fps, "seed": seed, "noise": vars(noise)}
    claim_output(out, config, ())
    t0, written = time.perf_counter(), 0
    plans = [plan_video(seed, e, k, videos_per_exercise, (float(seconds[0]), float(seconds[1])), fps)
             for e in EXERCISES for k in range(videos_per_exercise)]
    with bar_of(total=len(plans), desc="skeleton reps", unit="video", enable=progress) as bar:
        for plan in plans:
            rel = f"{plan.exercise}/{plan.stem}"
            if not ((out / "keypoints" / f"{rel}.parquet").is_file() and (out / "labels" / f"{rel}.json").is_file()):
                kp, boxes = rep_keypoints(plan, seed, noise)
                _write(out, rel, plan.stem, fps, kp, {**label_record(plan, fps, boxes), "size": list(IMAGE_SIZE)})
                written += 1
            bar.update(1)
    summary = {"out": str(out), **config, "videos": len(plans), "videos_written": written,
               "splits": dict(Counter(p.split for p in plans)), "reps": sum(p.count for p in plans),
               "frames": sum(p.frames for p in plans), "seconds_taken": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out / "summary.json", summary)
    return summary


__all__ = ["body_points", "keypoint_boxes", "render_skeleton_reps", "render_skeleton_streams", "rep_keypoints",
           "stream_keypoints"]
