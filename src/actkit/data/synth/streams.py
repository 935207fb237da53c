"""``actkit synth streams``: long videos chaining actions, idle periods and exercise sets, with per-frame truth.

Every video is a timeline of *segments* per person, joined by short *transitions*:

* ``mocap``: one of pybullet's 15 motion-capture clips (:mod:`actkit.data.synth.mocap`): the
  one-shot clips play their active part (:func:`actkit.data.synth.actions.active_part`) plus
  0.15 s either side; only ``walk`` (1.5-4 s) and ``run`` (0.8-2 s) loop. Speed 0.9-1.1x, mirrored
  half of the time;
* ``exercise``: a set of 3-12 repetitions of squat, jumping jack, lunge or arm raise, timed and posed
  exactly as :mod:`actkit.data.synth.reps` does (its ``rep_timeline`` and ``exercise_pose``), from
  the first frame of the first rep to the last frame of the last one (pauses between reps included);
* ``idle``: 1-4 s of standing in the rest position of the exercises, with a slow sway of the
  pelvis, back and arms;
* ``transition``: 0.25-1 s (longer for bigger changes of orientation and pelvis height) in
  which the body blends from the last pose of a segment to the first pose of the next (slerp of
  every joint and of the pelvis orientation, smoothstep in time), so it never teleports.

Segments are drawn with weights mocap 0.6, exercise 0.15, idle 0.25 (never idle twice in a row);
by frames that is about 47 % actions, 25 % exercise, 14 % idle and 14 % transitions. An exercise
set that would not fit before the end of the video becomes idle instead, and the last segment (or
transition) is cut at the last frame. Every segment starts where the previous one ended.

**Keeping people in view.** A person's next segment is turned (about the vertical) so that it
ends within :data:`HOME_RADIUS` of the person's *home* if one of 16 candidate headings allows (else
as close as possible); home is the centroid of all people plus a fixed lateral slot per person
(:data:`SLOT_SPACING` apart), so people wander but stay together. The camera target follows the
smoothed centroid of the pelvises (sigma 0.75 s); the distance is the smallest at which every
corner of every body's bounds lies within 70-90 % of the half-view (drawn per video), as a running
max over 3 s smoothed with sigma 0.5 s, so travelling bodies stay in frame. Poses
rest on the ground: idle and exercise frames stand on it (the jumping jack hops as in ``reps``),
mocap and transition frames are only pushed up when a foot would sink below it (jumps stay jumps).

**Several people** (``people=(2, 3)``): each person has an independent timeline and a stable
``track_id`` (1, 2, ...). They are extra humanoids loaded into the same pybullet scene
(:meth:`~actkit.data.synth.render.HumanoidRenderer.ensure_people`) and rendered in one pass; the
segmentation mask gives each one's visible box, so occlusion is real: a hidden person's box
shrinks to the visible part, or is ``null`` when nothing of it shows.

**Output** (``out/``):

* ``videos/stream_<NNN>.mp4`` and ``labels/stream_<NNN>.json``:

  ``name``, ``fps``, ``frames``, ``size``, ``split``, ``texture``, ``vocabulary``, ``people``: one
  entry per person with ``track_id``, ``palette``, and per frame ``labels`` (a name of
  :data:`VOCABULARY`), ``tags`` (the label, except in exercise segments where it is the ``reps``
  tag ``<exercise>_high`` / ``<exercise>_low``, or ``idle`` in a pause between reps), ``phase``
  (exercise phase in [0, 1], 0 = rest position; ``null`` outside exercise segments) and
  ``boxes`` (``[x0, y0, x1, y1]`` visible pixel box, ``x1``/``y1`` exclusive, or ``null``); and
  ``segments``: ``{"label", "kind", "start", "end"}`` (frames, both inclusive) tiling the video,
  plus for mocap ``mirror``, ``speed``, ``clip_time`` and for exercises ``count``,
  ``rep_boundaries`` (``[start, end]`` video frame indices, inclusive), ``period``, ``mirror``.
* ``labels.txt``: the vocabulary, one name per line (line ``i`` is class id ``i``).
* ``manifest.csv``: ``path,labels,split,frames,fps,people``; ``summary.json`` (frames per
  label, reps per exercise, speed); ``render_config.json`` (a re-run into the folder with other
  arguments is refused).

**Honest splits** as in :mod:`actkit.data.synth.reps`: each video draws its split (70 / 15 / 15 %),
which fixes the ground texture (train 0-7, val 8-9, test 10-11), the clothes palette family of
every person (test {6, 11}, val {3, 9}) and the camera azimuth sector relative to each person's
facing *at the start of every segment* (train {0, 2, 4, 6}, val {3, 5}, test {1, 7}; the camera
drifts +-10 deg slowly, and the sector is measured against its azimuth at that frame). Within a
segment the body turns only as its clip does (spin, dance, cartwheel), as in ``actions``.

**Determinism and resuming.** Video ``i`` uses ``SeedSequence(seed, spawn_key=(i,))`` (child 0 plans,
child 1 renders) and sets all renderer state itself, so output does not depend on ``workers``.
Frames are encoded as they are rendered (a 30-minute stream never sits in memory); the label file
is written before the video is renamed into place, so an existing video always has its labels and
a re-run skips it.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

from .sheets import streams_sheet
from ..video.writer import pick_codec, write_video
from ..vocab import VOCABULARY
from .mocap import Pose
from .render import HumanoidRenderer, claim_output, process_renderer, render_video_jobs
from .reps import EXERCISES, HOP
from .scene import (NUM_TEXTURES, SPLIT_SECTORS, SPLITS, Camera, draw_outfit, smooth_series)
from .render import dress_scene
from .stream_plan import MAX_PEOPLE, POSE_SIZE, Segment, StreamPlan, apply_jitter, jitter_offsets, blend_poses, pack_pose, plan_stream, unpack_pose

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("path", "labels", "split", "frames", "fps", "people")


# ----------------------------------------------------------------------------- poses


# ----------------------------------------------------------------------------- plan


# ----------------------------------------------------------------------------- rendering one video

def _ground(renderer: HumanoidRenderer, seg: Segment, j: int, fps: int, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Put ``pose`` (frame ``j`` of ``seg``) on the ground as its kind wants; return it packed and its
    (2, 3) world bounds."""
    renderer.set_pose(pose)
    aabbs = renderer.link_aabbs()
    low = float(aabbs[:, 0, 1].min())
    if seg.kind == "idle":
        dy = -low
    elif seg.kind == "exercise":
        f = seg.phase[j - seg.start]
        dy = -low + HOP.get(seg.label, 0.0) * 4 * f * (1 - f)
    else:  # mocap and transitions: only lift what sinks, so jumps and flips stay in the air
        dy = max(0.0, -low)
    pose.root_pos = pose.root_pos + [0.0, dy, 0.0]
    box = np.stack([aabbs[:, 0].min(axis=0), aabbs[:, 1].max(axis=0)]) + [0.0, dy, 0.0]
    return pack_pose(pose), box


def person_track(renderer: HumanoidRenderer, plan: StreamPlan, person: int,
                 offsets: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Grounded poses of ``person`` for every frame: ``(frames, POSE_SIZE)`` packed poses and
    ``(frames, 2, 3)`` body bounds (joint noise ``offsets`` applied)."""
    fps = plan.fps
    poses = np.zeros((plan.frames, POSE_SIZE))
    bounds = np.zeros((plan.frames, 2, 3))
    cache: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}

    def grounded(seg: Segment, j: int) -> tuple[np.ndarray, np.ndarray]:
        key = (id(seg), seg.phase[j - seg.start]) if seg.kind == "exercise" else None
        if key is not None and key in cache:  # exercise poses repeat with the phase
            return cache[key]
        res = _ground(renderer, seg, j, fps, apply_jitter(seg.source_pose(j, fps), offsets))
        if key is not None:
            cache[key] = res
        return res

    segs = plan.people[person]
    for seg in segs:
        if seg.kind != "transition":
            for j in range(seg.start, seg.end + 1):
                poses[j], bounds[j] = grounded(seg, j)
            continue
        a = unpack_pose(poses[seg.start - 1])
        b = unpack_pose(grounded(seg.target, seg.target.start)[0])
        n = seg.target.start - seg.start + 1
        for j in range(seg.start, seg.end + 1):
            u = (j - seg.start + 1) / n
            poses[j], bounds[j] = _ground(renderer, seg, j, fps, blend_poses(a, b, u * u * (3 - 2 * u)))
    return poses, bounds


def _running_max(x: np.ndarray, radius: int) -> np.ndarray:
    pad = np.concatenate([np.full(radius, x[0]), x, np.full(radius, x[-1])])
    return np.lib.stride_tricks.sliding_window_view(pad, 2 * radius + 1).max(axis=1)


def _framing_distance(extent: np.ndarray, target: np.ndarray, azimuth: np.ndarray, fov: float,
                      fill: float) -> np.ndarray:
    """Per frame, the camera distance at which every corner of every body's bounds ``extent``
    (P, N, 2, 3) lies within ``fill`` of the half-view around ``target`` (N, 3), seen from
    ``azimuth`` (N,) radians. The camera is taken as level: its elevation (<= 29 deg) is absorbed
    by ``fill`` and the smoothing."""
    corners = np.stack([extent[:, :, [i, j, k], [0, 1, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)], axis=2)
    rel = corners - target[None, :, None, :]  # (P, N, 8, 3)
    towards = np.stack([np.cos(azimuth), np.sin(azimuth)], axis=1)[None, :, None, :]  # to the camera
    across = np.stack([-np.sin(azimuth), np.cos(azimuth)], axis=1)[None, :, None, :]
    depth = np.sum(rel[..., [0, 2]] * towards, axis=-1)
    side = np.abs(np.sum(rel[..., [0, 2]] * across, axis=-1))
    # A corner offset by (side, up) at ``depth`` nearer the camera fits when
    # max(side, |up|) <= fill * tan(fov / 2) * (distance - depth).
    need = np.maximum(side, np.abs(rel[..., 1])) / (fill * math.tan(math.radians(fov) / 2)) + depth
    return np.maximum(need.max(axis=(0, 2)), 1.5)


def stream_frames(renderer: HumanoidRenderer, plan: StreamPlan, seed: int, size: int,
                  boxes: list[list]) -> Iterator[np.ndarray]:
    """Render ``plan`` frame by frame: yield HxWx3 uint8 images; append each person's box per frame
    to ``boxes[k]`` (``[x0, y0, x1, y1]`` or ``None``)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(plan.index,)).spawn(2)[1])
    n_people, fps = len(plan.people), plan.fps
    bodies = renderer.ensure_people(n_people)
    tracks = [person_track(renderer, plan, k, jitter_offsets(rng)) for k in range(n_people)]
    poses = np.stack([t[0] for t in tracks])  # (P, N, POSE_SIZE)
    extent = np.stack([t[1] for t in tracks])  # (P, N, 2, 3)

    cam = plan.camera
    roots = poses[:, :, :3].mean(axis=0)
    target = smooth_series(roots, 0.75 * fps)
    target[:, 1] = np.clip(target[:, 1], 0.35, 1.0)
    azimuth = plan.camera_azimuth(np.arange(plan.frames))
    distance = _framing_distance(extent, target, np.radians(azimuth), cam["fov"], cam["fill"])
    distance = smooth_series(_running_max(distance, int(1.5 * fps))[:, None], 0.5 * fps)[:, 0]

    for k, body in enumerate(bodies):
        renderer.set_outfit(draw_outfit(rng, plan.palettes[k]), body)
    renderer.park_people(n_people)
    dress_scene(renderer, rng, plan.texture, size)
    el_drift, el_period = rng.uniform(-4, 4), rng.uniform(20, 60)

    for j in range(plan.frames):
        for k, body in enumerate(bodies):
            renderer.set_pose(unpack_pose(poses[k, j]), body)
        el = cam["elevation"] + el_drift * math.sin(2 * math.pi * j / (el_period * fps))
        # Keep the eye at least 0.4 m above the floor.
        min_el = math.degrees(math.asin(min(1.0, max(-1.0, (0.4 - target[j, 1]) / distance[j]))))
        renderer.set_camera(Camera(tuple(target[j]), float(distance[j]), float(azimuth[j]), max(el, min_el),
                                   cam["fov"]))
        rgb, frame_boxes = renderer.render_people(size, size, bodies)
        for k, box in enumerate(frame_boxes):
            boxes[k].append(None if box is None else list(box))
        yield rgb


def label_record(plan: StreamPlan, size: int, boxes: list[list]) -> dict:
    """The JSON label of a rendered ``plan`` (see the module docstring)."""
    people = []
    for k, segs in enumerate(plan.people):
        phase, tags = plan.frame_phase_and_tags(k)
        people.append({"track_id": k + 1, "palette": plan.palettes[k], "labels": plan.frame_labels(k),
                       "tags": tags, "phase": phase, "boxes": boxes[k], "segments": [s.record() for s in segs]})
    return {"name": plan.name, "fps": plan.fps, "frames": plan.frames, "size": size, "split": plan.split,
            "texture": plan.texture, "camera_sectors": list(SPLIT_SECTORS[plan.split]),
            "vocabulary": list(VOCABULARY), "people": people}


# ----------------------------------------------------------------------------- workers

def _render_job(args: tuple) -> tuple[int, int, float]:
    plan, out, seed, size, codec = args
    from actkit.utils.io import atomic_write_json

    boxes: list[list] = [[] for _ in plan.people]
    render_s = 0.0

    def frames() -> Iterator[np.ndarray]:
        nonlocal render_s
        gen = stream_frames(process_renderer(), plan, seed, size, boxes)
        while True:
            t = time.perf_counter()
            rgb = next(gen, None)
            render_s += time.perf_counter() - t
            if rgb is None:
                break
            yield rgb
        # Runs once the last frame is encoded and before write_video renames the video into place:
        # an existing video then always has its labels.
        atomic_write_json(Path(out) / "labels" / f"{plan.name}.json", label_record(plan, size, boxes), indent=None)

    write_video(Path(out) / "videos" / f"{plan.name}.mp4", frames(), plan.fps, codec)
    return plan.index, plan.frames, render_s


# ----------------------------------------------------------------------------- the set

def _write_lists(out: Path, plans: list[StreamPlan], fps: int) -> None:
    """The label vocabulary and the manifest CSV (atomically)."""
    from actkit.utils.io import atomic_write

    with atomic_write(out / "labels.txt", "w") as f:
        f.writelines(f"{name}\n" for name in VOCABULARY)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for p in plans:
        writer.writerow([f"videos/{p.name}.mp4", f"labels/{p.name}.json", p.split, p.frames, fps, len(p.people)])
    with atomic_write(out / "manifest.csv", "w") as f:
        f.write(buf.getvalue())


def _warn_empty_splits(plans: list[StreamPlan], seed: int, seconds: tuple[float, float], fps: int,
                       people: tuple[int, int]) -> None:
    """Say which splits got no video, and how many videos give every split one."""
    empty = [sp for sp in SPLITS if not any(p.split == sp for p in plans)]
    if not empty:
        return
    need = len(plans)
    while need < 100 and {plan_stream(seed, i, seconds, fps, people).split for i in range(need)} != set(SPLITS):
        need += 1
    logger.warning("streams: %d videos leave the %s split empty; --videos %d gives every split a video",
                   len(plans), " and ".join(empty), need)


def _label_counts(plans: list[StreamPlan]) -> dict[str, dict[str, int]]:
    """Frames and segments per label, and repetitions per exercise, over every person of ``plans``."""
    label_frames: Counter = Counter()
    segments: Counter = Counter()
    reps: Counter = Counter()
    for p in plans:
        for segs in p.people:
            for s in segs:
                label_frames[s.label] += s.length
                segments[s.label] += 1
                reps[s.label] += len(s.rep_boundaries)
    return {"label_frames": {k: label_frames[k] for k in VOCABULARY if label_frames[k]},
            "segments": {k: segments[k] for k in VOCABULARY if segments[k]}, "reps": {e: reps[e] for e in EXERCISES}}


def render_streams(out: str | Path, videos: int = 4, seconds: tuple[float, float] = (60.0, 120.0), size: int = 160,
                   fps: int = 16, seed: int = 0, workers: int = 2, people: tuple[int, int] = (1, 1),
                   sheet: str | Path | None = None, progress: bool | None = None,
                   splits: tuple[str, ...] | None = None) -> dict:
    """Render long videos of chained actions, idle periods and exercise sets into ``out`` (see the
    module docstring for the layout and the label format).

    Args:
        out: output folder; an interrupted run into it resumes (finished videos are kept).
        videos: number of videos.
        seconds: ``(min, max)`` video length in seconds.
        size: video side in pixels (even).
        fps: frame rate (>= 8 so that every rep shows low-phase frames).
        seed: dataset seed; same seed and arguments give the same output for any ``workers``.
        workers: rendering processes; 1 renders in-process.
        people: ``(min, max)`` people per video (at most :data:`MAX_PEOPLE`).
        sheet: optional contact-sheet PNG: one row per video (first 4), frames across it with boxes and labels.
        progress: show a progress bar (default: when stderr is a terminal).
        splits: render only the videos of these splits (the others are planned, not rendered: video ``i`` is
            the same whichever are rendered).

    Raises:
        ValueError: naming the bad argument, or when ``out`` holds a render made with other arguments.

    Returns:
        The summary also written to ``out/summary.json``.
    """
    from actkit.utils.io import atomic_write_json

    lo_s, hi_s = (float(s) for s in seconds)
    p_lo, p_hi = (int(p) for p in people)
    checks = {"videos": videos >= 1, "workers": workers >= 1, "fps": fps >= 8, "size": size >= 16 and size % 2 == 0,
              "seconds": 0 < lo_s <= hi_s and lo_s * fps >= 2, "people": 1 <= p_lo <= p_hi <= MAX_PEOPLE}
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"bad {', '.join(bad)}: need videos >= 1, workers >= 1, fps >= 8, even size >= 16, "
                         f"0 < seconds[0] <= seconds[1] (at least 2 frames), 1 <= people[0] <= people[1] <= "
                         f"{MAX_PEOPLE}; got videos={videos}, workers={workers}, fps={fps}, size={size}, "
                         f"seconds={tuple(seconds)}, people={tuple(people)}")
    out = Path(out)
    config = {"videos": videos, "seconds": [lo_s, hi_s], "size": size, "fps": fps, "seed": seed,
              "people": [p_lo, p_hi], "splits": sorted(splits) if splits else None}
    claim_output(out, config, ("videos/.*.mp4", "labels/.*.json"), defaults={"splits": None})

    start = time.perf_counter()
    codec = pick_codec()
    plans = [plan_stream(seed, i, (lo_s, hi_s), fps, (p_lo, p_hi)) for i in range(videos)]
    _warn_empty_splits(plans, seed, (lo_s, hi_s), fps, (p_lo, p_hi))
    plans = [p for p in plans if not splits or p.split in splits]
    todo = [p for p in plans if not (out / "videos" / f"{p.name}.mp4").is_file()
            or not (out / "labels" / f"{p.name}.json").is_file()]
    jobs = [(p, str(out), seed, size, codec) for p in todo]
    rendered_frames, render_s = render_video_jobs(_render_job, jobs, workers, (seed, NUM_TEXTURES), "streams", progress)
    seconds_taken = time.perf_counter() - start

    _write_lists(out, plans, fps)

    summary = {
        "out": str(out), **config, "workers": workers, "videos": len(plans), "rendered": len(todo),
        "skipped": len(plans) - len(todo), "splits": dict(Counter(p.split for p in plans)),
        "frames": sum(p.frames for p in plans), "person_frames": sum(p.frames * len(p.people) for p in plans),
        "vocabulary": list(VOCABULARY), **_label_counts(plans), "codec": codec, "container": "mp4",
        "labels": "labels/stream_<NNN>.json", "seconds_taken": round(seconds_taken, 2),
        "frames_per_s": round(rendered_frames / seconds_taken, 1) if rendered_frames else None,
        "render_ms_per_frame": round(1000 * render_s / rendered_frames, 2) if rendered_frames else None,
        "sheet": None,
    }
    if sheet is not None:
        streams_sheet(out, plans[:4], sheet)
        summary["sheet"] = str(sheet)
    atomic_write_json(out / "summary.json", summary)
    logger.info("streams: %d videos in %s (%d rendered) in %.1f s", len(plans), out, len(todo), seconds_taken)
    return summary


__all__ = ["label_record", "person_track", "render_streams", "stream_frames"]
