"""``actkit synth reps``: procedural exercise videos with ground truth for repetition counting.

Every video shows the humanoid doing one exercise a random number of times:

* ``squat``: hips and knees flex, the pelvis lowers, the torso leans forward, arms reach forward;
* ``jumping_jack``: arms from the sides up over the head while the legs spread, with a small hop;
* ``lunge``: one leg steps forward, both knees bend and the back knee lowers towards the floor;
* ``arm_raise``: both arms from the sides up over the head (out to the side, not forward).

Each exercise has two key positions, ``A`` (the start / rest position, phase 0, called ``high``)
and ``B`` (the turning point, phase 1, called ``low``): for the squat and the lunge ``high`` is
standing and ``low`` the bottom; for the jumping jack and the arm raise ``high`` is arms down
(the rest position) and ``low`` arms over the head. The body at phase ``f`` interpolates the
joint angles of ``A`` and ``B`` linearly in ``f``; within one repetition ``f = (1 - cos 2 pi u) / 2``
for ``u`` in [0, 1), so every rep goes A -> B -> A with a smooth (cosine) profile. The body then
rests on the ground (the jumping jack adds a hop of up to 6 cm mid-transition).

**Timeline per video.** A target of 3-12 reps (fewer when even the fastest tempo cannot fit them
into ``seconds[1]``), a tempo (period 0.8-2.5 s, drawn among those that fit; each rep jittered by
+-15 %), pauses of 0-1.5 s in the rest position between reps (shrunk to fit) and 0.4-1.5 s of idle
standing before the first rep and after the last; the video lasts between what that needs and
``seconds[1]`` (at least ``seconds[0]``), the spare time going to the idle ends.

**Output** (``out/``):

* ``videos/<exercise>/<exercise>_<NNN>.mp4``
* ``labels/<exercise>/<exercise>_<NNN>.json``: ``exercise``, ``count`` (completed reps),
  ``fps``, ``frames``, ``phase`` (per-frame float in [0, 1], 0 = high, 1 = low), ``tags``
  (per frame ``<exercise>_high`` / ``<exercise>_low`` inside a rep -- low when phase > 0.5 --
  and ``idle`` outside reps, pauses included), ``rep_boundaries`` (``[start, end]`` frame
  indices of each rep, both inclusive), ``boxes`` (the person's pixel box per frame, ``x1``/``y1``
  exclusive, or null), plus ``split``, ``camera_sector``, ``palette``, ``mirror``, ``period``.
* ``manifest.csv`` (``path,label,count,split,frames,fps``), ``summary.json``,
  ``render_config.json`` (a re-run into the folder with other arguments is refused).

**Honest splits** as in :mod:`actkit.data.synth.postures`: each video draws its split (70 / 15 / 15 %),
which fixes the camera azimuth sector relative to the body's facing (train {0, 2, 4, 6}, val {3, 5},
test {1, 7}), the clothes palette family (test {6, 11}, val {3, 9}) and the ground texture.
Elevation, distance, light, background, mirroring, depth of the movement and joint noise are free.

**Determinism and resuming.** Video ``i`` (``i = e * videos_per_exercise + k``, ``e`` the index in
:data:`EXERCISES`) uses ``SeedSequence(seed, spawn_key=(i,))`` and sets all renderer state itself,
so the output does not depend on ``workers``. The label file is written (atomically) before the
video (atomically), so an existing video always has its labels and a re-run skips it.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .sheets import reps_sheet
from ..video.writer import pick_codec, write_video
from ..vocab import EXERCISES
from .mocap import Pose
from .render import HumanoidRenderer, claim_output, process_renderer, render_video_jobs
from .scene import (LINK, NUM_TEXTURES, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES, SPLIT_WEIGHTS, SPLITS, Camera, draw_camera, draw_outfit)
from .poses import limb_rotation, rot_z, set_legs
from .render import dress_scene

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("path", "label", "count", "split", "frames", "fps")
REPS_RANGE = (3, 12)
PERIOD_RANGE = (0.8, 2.5)
PERIOD_JITTER = 0.15
PAUSE_RANGE = (0.0, 1.5)
IDLE_RANGE = (0.4, 1.5)
JOINT_NOISE_DEG = 3.0

# Key positions as joint-angle parameters (degrees; pairs are (right, left)):
# pitch: pelvis pitched forward; thigh: world thigh angle from straight down, forward positive;
# knee: knee flexion; leg_abd: leg abduction; sh_flex / sh_abd: shoulder flexion (forward) and
# abduction (outward); elbow: elbow flexion.
STAND_PARAMS = {"pitch": 0.0, "thigh": (0.0, 0.0), "knee": (3.0, 3.0), "leg_abd": (3.0, 3.0),
          "sh_flex": (5.0, 5.0), "sh_abd": (8.0, 8.0), "elbow": (10.0, 10.0)}
KEY_POSITIONS: dict[str, tuple[dict, dict]] = {
    "squat": (dict(STAND_PARAMS),
              {"pitch": 35.0, "thigh": (95.0, 95.0), "knee": (115.0, 115.0), "leg_abd": (12.0, 12.0),
               "sh_flex": (95.0, 95.0), "sh_abd": (5.0, 5.0), "elbow": (5.0, 5.0)}),
    "jumping_jack": (dict(STAND_PARAMS),
                     {"pitch": 0.0, "thigh": (0.0, 0.0), "knee": (5.0, 5.0), "leg_abd": (22.0, 22.0),
                      "sh_flex": (0.0, 0.0), "sh_abd": (165.0, 165.0), "elbow": (10.0, 10.0)}),
    # Right leg forward; mirroring gives left-leg lunges.
    "lunge": ({**STAND_PARAMS, "thigh": (18.0, -12.0), "knee": (5.0, 5.0), "sh_abd": (12.0, 12.0)},
              {"pitch": 5.0, "thigh": (80.0, -25.0), "knee": (90.0, 100.0), "leg_abd": (4.0, 4.0),
               "sh_flex": (5.0, 5.0), "sh_abd": (15.0, 15.0), "elbow": (15.0, 15.0)}),
    "arm_raise": (dict(STAND_PARAMS),
                  {**STAND_PARAMS, "sh_flex": (0.0, 0.0), "sh_abd": (175.0, 175.0), "elbow": (5.0, 5.0)}),
}
HOP = {"jumping_jack": 0.06}


# ----------------------------------------------------------------------------- poses

def _lerp(a: dict, b: dict, f: float) -> dict:
    return {k: np.asarray(a[k], float) * (1 - f) + np.asarray(b[k], float) * f for k in a}


def exercise_pose(exercise: str, phase: float, depth: float = 1.0) -> Pose:
    """The body of ``exercise`` at ``phase`` (0 = high key position, 1 = low), facing +x, pelvis at
    the origin's height 1 m (not yet on the ground). ``depth`` scales how far towards the low key
    position the movement goes (1 = all the way)."""
    hi, lo = KEY_POSITIONS[exercise]
    return pose_from_params(_lerp(hi, lo, float(phase) * depth))


def pose_from_params(q: dict) -> Pose:
    """The body described by joint-angle parameters in the format of :data:`KEY_POSITIONS` (degrees),
    facing +x, pelvis 1 m up (not yet on the ground)."""
    pose = Pose.neutral(1.0)
    pitch = float(q["pitch"])
    pose.root_orn = rot_z(-pitch)
    # The chest straightens part of the pelvis pitch so the back stays natural.
    pose.joints[LINK["chest"]] = rot_z(0.25 * pitch)
    set_legs(pose, q["thigh"], q["knee"], q["leg_abd"], pitch)
    for i, (side, name) in enumerate(((1, "right"), (-1, "left"))):
        # Shoulder flexion is given in the world: the chest is pitched forward by 0.75 * pitch.
        pose.joints[LINK[f"{name}_shoulder"]] = limb_rotation(float(q["sh_flex"][i]) - 0.75 * pitch, float(q["sh_abd"][i]),
                                                      0.0, side)
        pose.joints[LINK[f"{name}_elbow"]] = np.array([math.radians(float(q["elbow"][i]))])
    return pose


# ----------------------------------------------------------------------------- timeline

@dataclass
class RepPlan:
    """Everything that decides one video's motion and labels (drawn without a renderer)."""

    index: int
    exercise: str
    number: int
    split: str
    sector: int
    palette: int
    texture: int
    mirror: bool
    yaw: float
    depth: float
    period: float
    frames: int
    phase: list[float] = field(default_factory=list)
    rep_boundaries: list[list[int]] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return f"{self.exercise}_{self.number:03d}"

    @property
    def count(self) -> int:
        return len(self.rep_boundaries)

    def tags(self) -> list[str]:
        tags = ["idle"] * self.frames
        for s, e in self.rep_boundaries:
            for j in range(s, e + 1):
                tags[j] = f"{self.exercise}_{'low' if self.phase[j] > 0.5 else 'high'}"
        return tags


def count_low_excursions(phase: list[float] | np.ndarray, threshold: float = 0.5) -> int:
    """Number of times ``phase`` rises above ``threshold`` and comes back to it or below."""
    above = np.asarray(phase) > threshold
    ups = np.flatnonzero(~above[:-1] & above[1:])
    downs = np.flatnonzero(above[:-1] & ~above[1:])
    return int(sum(1 for u in ups if np.any(downs > u)))


def rep_timeline(rng: np.random.Generator, seconds: tuple[float, float], fps: int) -> tuple[int, np.ndarray, list, float]:
    """Draw the rep schedule: ``(frames, phase per frame, rep_boundaries, period)``.

    The target rep count is drawn first; the tempo is then drawn from the periods that let that many
    reps fit into the longest allowed video (fewer reps when even the fastest tempo does not fit),
    pauses are shrunk to fit, and the video length is drawn between what the reps need and the
    longest allowed, the spare time split between idle before and after."""
    lo, hi = seconds
    idle_before, idle_after = rng.uniform(*IDLE_RANGE, 2) * min(1.0, hi / 6)
    avail = max(hi - idle_before - idle_after, 0.5 * hi)
    min_rep = 4.0 / fps  # a rep needs a few frames to show a low phase
    fastest = max(PERIOD_RANGE[0], min_rep) * (1 + PERIOD_JITTER)
    target = int(rng.integers(REPS_RANGE[0], REPS_RANGE[1] + 1))
    n = max(1, min(target, int(avail // fastest)))
    period_hi = min(PERIOD_RANGE[1], avail / (n * (1 + PERIOD_JITTER)))
    period = float(rng.uniform(PERIOD_RANGE[0], period_hi)) if period_hi > PERIOD_RANGE[0] else max(period_hi, min_rep)
    durs = period * rng.uniform(1 - PERIOD_JITTER, 1 + PERIOD_JITTER, n)
    pauses = np.concatenate([[0.0], rng.uniform(*PAUSE_RANGE, n - 1)])
    slack = avail - durs.sum()
    if pauses.sum() > slack:
        pauses *= max(0.0, slack) / pauses.sum()
    needed = idle_before + durs.sum() + pauses.sum() + idle_after
    total = float(rng.uniform(max(lo, needed), max(hi, needed)))
    frames = max(2, int(math.ceil(total * fps)))
    spare = frames / fps - needed
    t = float(idle_before + spare * rng.uniform(0, 0.5))
    reps: list[tuple[float, float]] = []
    for dur, pause in zip(durs, pauses):
        t += float(pause)
        reps.append((t, t + float(dur)))
        t += float(dur)
    times = np.arange(frames) / fps
    phase = np.zeros(frames)
    bounds = []
    for t0, t1 in reps:
        inside = (times >= t0) & (times < t1)
        idx = np.flatnonzero(inside)
        if len(idx) == 0:
            continue
        u = (times[idx] - t0) / (t1 - t0)
        phase[idx] = (1 - np.cos(2 * np.pi * u)) / 2
        bounds.append([int(idx[0]), int(idx[-1])])
    return frames, phase, bounds, period


def plan_video(seed: int, exercise: str, k: int, videos_per_exercise: int, seconds: tuple[float, float],
               fps: int) -> RepPlan:
    """The plan of video ``k`` of ``exercise`` (deterministic in its arguments)."""
    i = EXERCISES.index(exercise) * videos_per_exercise + k
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)[0])
    split = SPLITS[rng.choice(len(SPLITS), p=SPLIT_WEIGHTS)]
    sector = int(rng.choice(SPLIT_SECTORS[split]))
    palette = int(rng.choice(SPLIT_PALETTES[split]))
    texture = int(rng.choice(SPLIT_TEXTURES[split]))
    mirror = bool(rng.random() < 0.5)
    yaw = float(rng.uniform(0, 2 * np.pi))
    depth = float(rng.uniform(0.85, 1.0))
    frames, phase, bounds, period = rep_timeline(rng, seconds, fps)
    plan = RepPlan(i, exercise, k, split, sector, palette, texture, mirror, yaw, depth, round(period, 4), frames,
                   [round(float(p), 5) for p in phase], bounds)
    # Ground truth by construction; the per-frame phase must show exactly these reps.
    if count_low_excursions(plan.phase) != plan.count:
        raise RuntimeError(f"{plan.stem}: phase shows {count_low_excursions(plan.phase)} reps, planned {plan.count}")
    return plan


# ----------------------------------------------------------------------------- rendering one video

def _place(renderer: HumanoidRenderer, pose: Pose) -> float:
    """Set ``pose`` and return how far its lowest point is above the ground."""
    renderer.set_pose(pose)
    return renderer.lowest_point()


def plan_poses(renderer: HumanoidRenderer, plan: RepPlan, seed: int) -> tuple[list[Pose], list[np.ndarray],
                                                                              np.random.Generator]:
    """The grounded body of every frame of ``plan``, each frame's link corners (30, 3), and the video's random
    generator, ready for its camera draw (the rendered video and its keypoint version share these)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(plan.index,)).spawn(2)[1])
    noise_seed = int(rng.integers(1 << 31))
    hop = HOP.get(plan.exercise, 0.0)
    poses, corners = [], []
    cache: dict[float, tuple[Pose, float]] = {}
    for f in plan.phase:
        if f not in cache:
            pose = exercise_pose(plan.exercise, f, plan.depth)
            pose = pose.jittered(np.random.default_rng(noise_seed), JOINT_NOISE_DEG)  # same offsets every frame
            if plan.mirror:
                pose = pose.mirrored()
            pose = pose.transformed(plan.yaw)
            low = _place(renderer, pose)
            pose.root_pos = pose.root_pos - [0.0, low - hop * 4 * f * (1 - f), 0.0]
            renderer.set_pose(pose)
            aabbs = renderer.link_aabbs()
            cache[f] = (pose, np.concatenate([aabbs[:, 0], aabbs[:, 1]]))
        pose, c = cache[f]
        poses.append(pose.copy())
        corners.append(c)
    return poses, corners, rng


def plan_cameras(poses: list[Pose], corners: list[np.ndarray], rng: np.random.Generator, plan: RepPlan) -> list[Camera]:
    """The camera of every frame (drawn from ``rng`` after :func:`plan_poses`): in the plan's sector, framing
    the whole movement, with a slow drift of azimuth, elevation and distance."""
    allc = np.concatenate(corners)
    target = (allc.min(axis=0) + allc.max(axis=0)) / 2
    reach = float(np.linalg.norm(allc - target, axis=1).max())
    azimuth, fov, distance, elevation = draw_camera(rng, poses[0], plan.sector, reach)
    min_el = math.degrees(math.asin(min(1.0, max(-1.0, (0.4 - target[1]) / distance))))
    drift = rng.uniform(-10, 10), rng.uniform(-4, 4), rng.uniform(0.95, 1.05)
    n = len(poses)
    return [Camera(tuple(target), distance * (1 + (drift[2] - 1) * u), azimuth + drift[0] * u,
                   max(elevation + drift[1] * u, min_el), fov) for u in (j / max(1, n - 1) for j in range(n))]


def render_video(renderer: HumanoidRenderer, plan: RepPlan, seed: int, size: int, fps: int,
                 return_poses: bool = False):
    """Render ``plan``: ``(images, boxes)`` (and the poses when ``return_poses``)."""
    poses, corners, rng = plan_poses(renderer, plan, seed)
    cameras = plan_cameras(poses, corners, rng, plan)

    renderer.set_outfit(draw_outfit(rng, plan.palette))
    dress_scene(renderer, rng, plan.texture, size)

    images, boxes = [], []
    for pose, camera in zip(poses, cameras):
        renderer.set_pose(pose)
        renderer.set_camera(camera)
        rgb, box = renderer.render(size, size)
        images.append(rgb)
        boxes.append(None if box is None else list(box))
    return (images, boxes, poses) if return_poses else (images, boxes)


def label_record(plan: RepPlan, fps: int, boxes: list) -> dict:
    """The JSON label of a rendered ``plan``."""
    return {"exercise": plan.exercise, "count": plan.count, "fps": fps, "frames": plan.frames,
            "phase": plan.phase, "tags": plan.tags(), "rep_boundaries": plan.rep_boundaries, "boxes": boxes,
            "split": plan.split, "camera_sector": plan.sector, "palette": plan.palette, "mirror": plan.mirror,
            "period": plan.period}


# ----------------------------------------------------------------------------- workers

def _render_job(args: tuple) -> tuple[int, int, float]:
    plan, out, seed, size, fps, codec = args
    from actkit.utils.io import atomic_write_json

    start = time.perf_counter()
    images, boxes = render_video(process_renderer(), plan, seed, size, fps)
    render_s = time.perf_counter() - start
    # Labels first: an existing video then always has its labels.
    atomic_write_json(Path(out) / "labels" / plan.exercise / f"{plan.stem}.json", label_record(plan, fps, boxes),
                      indent=None)
    write_video(Path(out) / "videos" / plan.exercise / f"{plan.stem}.mp4", images, fps, codec)
    return plan.index, len(images), render_s


# ----------------------------------------------------------------------------- the set

def render_reps(out: str | Path, videos_per_exercise: int = 8, seconds: tuple[float, float] = (6, 12),
                size: int = 112, fps: int = 16, seed: int = 0, workers: int = 2,
                exercises: tuple[str, ...] | list[str] | None = None, sheet: str | Path | None = None,
                progress: bool | None = None, splits: tuple[str, ...] | None = None) -> dict:
    """Render exercise videos with per-frame repetition labels into ``out`` (see the module docstring).

    Args:
        out: output folder; an interrupted run into it resumes (finished videos are kept).
        videos_per_exercise: videos per exercise.
        seconds: ``(min, max)`` video length in seconds.
        size: video side in pixels (even).
        fps: frame rate (>= 8 so that every rep shows low-phase frames).
        seed: dataset seed; same seed and arguments give the same output for any ``workers``.
        workers: rendering processes; 1 renders in-process.
        exercises: names from :data:`EXERCISES` (default: all).
        sheet: optional contact-sheet PNG: one row per exercise, frames across its first video, tags captioned.
        progress: show a progress bar (default: when stderr is a terminal).
        splits: render only the videos of these splits (video ``k`` is the same whichever are rendered).

    Returns:
        The summary also written to ``out/summary.json``.
    """
    from actkit.utils.io import atomic_write, atomic_write_json

    names = EXERCISES if exercises is None else tuple(e for e in EXERCISES if e in set(exercises))
    unknown = set(exercises or ()) - set(EXERCISES)
    if unknown or not names:
        raise ValueError(f"unknown exercises {sorted(unknown)}; known: {EXERCISES}")
    lo_s, hi_s = float(seconds[0]), float(seconds[1])
    if videos_per_exercise < 1 or workers < 1 or fps < 8 or size < 16 or size % 2 or not 0 < lo_s <= hi_s:
        raise ValueError("need videos_per_exercise >= 1, workers >= 1, fps >= 8, even size >= 16 and "
                         "0 < seconds[0] <= seconds[1]")
    out = Path(out)
    config = {"videos_per_exercise": videos_per_exercise, "seconds": [lo_s, hi_s], "size": size, "fps": fps,
              "seed": seed, "exercises": list(names), "splits": sorted(splits) if splits else None}
    claim_output(out, config, ("videos/*/.*.mp4", "labels/*/.*.json"), defaults={"splits": None})

    start = time.perf_counter()
    codec = pick_codec()
    plans = [plan_video(seed, e, k, videos_per_exercise, (lo_s, hi_s), fps)
             for e in names for k in range(videos_per_exercise)]
    plans = [p for p in plans if not splits or p.split in splits]
    todo = [p for p in plans if not (out / "videos" / p.exercise / f"{p.stem}.mp4").is_file()
            or not (out / "labels" / p.exercise / f"{p.stem}.json").is_file()]
    jobs = [(p, str(out), seed, size, fps, codec) for p in todo]
    rendered_frames, render_s = render_video_jobs(_render_job, jobs, workers, (seed, NUM_TEXTURES), "reps", progress)
    seconds_taken = time.perf_counter() - start

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for p in plans:
        writer.writerow([f"videos/{p.exercise}/{p.stem}.mp4", p.exercise, p.count, p.split, p.frames, fps])
    with atomic_write(out / "manifest.csv", "w") as f:
        f.write(buf.getvalue())

    summary = {
        "out": str(out), **config, "workers": workers, "videos": len(plans), "rendered": len(todo),
        "skipped": len(plans) - len(todo), "splits": dict(Counter(p.split for p in plans)),
        "reps": {e: sum(p.count for p in plans if p.exercise == e) for e in names},
        "frames": sum(p.frames for p in plans), "codec": codec, "container": "mp4",
        "labels": "labels/<exercise>/<exercise>_<NNN>.json",
        "seconds_taken": round(seconds_taken, 2),
        "frames_per_s": round(rendered_frames / seconds_taken, 1) if rendered_frames else None,
        "render_ms_per_frame": round(1000 * render_s / rendered_frames, 2) if rendered_frames else None,
        "sheet": None,
    }
    if sheet is not None:
        reps_sheet(out, [next(p for p in plans if p.exercise == e) for e in names], sheet)
        summary["sheet"] = str(sheet)
    atomic_write_json(out / "summary.json", summary)
    logger.info("reps: %d videos in %s (%d rendered) in %.1f s", len(plans), out, len(todo), seconds_taken)
    return summary


__all__ = ["EXERCISES", "KEY_POSITIONS", "RepPlan", "count_low_excursions", "exercise_pose", "label_record",
           "plan_cameras", "plan_poses", "plan_video", "pose_from_params", "render_reps", "render_video"]
