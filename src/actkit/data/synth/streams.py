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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .sheets import streams_sheet
from ..video.writer import pick_codec, write_video
from ..vocab import VOCABULARY
from .actions import active_part
from .mocap import CLIP_NAMES, JOINTS, LOOPING_CLIPS, Pose, load_clip, quat_mul, slerp
from .render import HumanoidRenderer, claim_output, process_renderer, render_video_jobs
from .reps import STAND_PARAMS, EXERCISES, HOP, rep_timeline, count_low_excursions, exercise_pose, pose_from_params
from .scene import (NUM_SECTORS, NUM_TEXTURES, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES, SPLIT_WEIGHTS, SPLITS, Camera, draw_outfit, facing_direction, smooth_series)
from .render import dress_scene

logger = logging.getLogger(__name__)

# By frames this gives about 47 % actions, 25 % exercise sets, 14 % idle and 14 % transitions
# (a set lasts longer than a clip).
KIND_WEIGHTS = {"mocap": 0.6, "exercise": 0.15, "idle": 0.25}
IDLE_SECONDS = (1.0, 4.0)
EXERCISE_SECONDS = (3.0, 10.0)  # the ``seconds`` range handed to the reps timeline
LOOP_SECONDS = {"walk": (1.5, 4.0), "run": (0.8, 2.0)}
ONE_SHOT_MARGIN = 0.15  # seconds played before and after a one-shot clip's active part
SPEED_RANGE = (0.9, 1.1)
TRANSITION_SECONDS = (0.25, 1.0)
HOME_RADIUS = 0.6  # metres
SLOT_SPACING = 1.0  # metres between the homes of neighbouring people
HEADING_CANDIDATES = 16
JOINT_NOISE_DEG = 3.0
MAX_PEOPLE = 4
MANIFEST_COLUMNS = ("path", "labels", "split", "frames", "fps", "people")
_QUAT_JOINTS = tuple(idx for _, idx, dof in JOINTS if dof == 4)
_ANGLE_JOINTS = tuple(idx for _, idx, dof in JOINTS if dof == 1)
POSE_SIZE = 3 + 4 + 4 * len(_QUAT_JOINTS) + len(_ANGLE_JOINTS)


# ----------------------------------------------------------------------------- poses

def pack_pose(pose: Pose) -> np.ndarray:
    """A pose as one flat float vector (root position, root quaternion, joint quaternions, angles)."""
    return np.concatenate([pose.root_pos, pose.root_orn, *(pose.joints[j] for j in _QUAT_JOINTS),
                           *(pose.joints[j] for j in _ANGLE_JOINTS)])


def unpack_pose(vec: np.ndarray) -> Pose:
    """The inverse of :func:`pack_pose`."""
    joints = {j: vec[7 + 4 * i:11 + 4 * i] for i, j in enumerate(_QUAT_JOINTS)}
    base = 7 + 4 * len(_QUAT_JOINTS)
    joints.update({j: vec[base + i:base + i + 1] for i, j in enumerate(_ANGLE_JOINTS)})
    return Pose(vec[:3].copy(), vec[3:7].copy(), joints)


def blend_poses(a: Pose, b: Pose, u: float) -> Pose:
    """The pose a fraction ``u`` of the way from ``a`` to ``b`` (slerp for rotations, lerp otherwise)."""
    joints = {k: (1 - u) * va + u * b.joints[k] if len(va) == 1 else slerp(va, b.joints[k], u)
              for k, va in a.joints.items()}
    return Pose((1 - u) * a.root_pos + u * b.root_pos, slerp(a.root_orn, b.root_orn, u), joints)


def idle_pose(t: float, sway: tuple[float, ...]) -> Pose:
    """Standing in the exercises' rest position at time ``t`` seconds, swaying slowly.

    ``sway`` is ``(period, pitch_deg, arm_deg, weight_deg, phase)``: the pelvis pitch, the arms and
    the weight shift between the legs oscillate with that period and amplitudes.
    """
    period, pitch, arm, weight, phase = sway
    s = math.sin(2 * math.pi * t / period + phase)
    c = math.cos(2 * math.pi * t / period + phase)
    q = dict(STAND_PARAMS)  # the rest position of every exercise
    q["pitch"] = pitch * s
    q["sh_flex"] = (5.0 + arm * c, 5.0 - arm * c)
    q["thigh"] = (weight * s, -weight * s)
    return pose_from_params(q)


def heading(pose: Pose) -> float:
    """Facing of the body in degrees, in the camera's azimuth convention (about +y, from +x towards +z)."""
    fwd = facing_direction(pose)
    return math.degrees(math.atan2(fwd[2], fwd[0]))


def _jitter_offsets(rng: np.random.Generator) -> dict[int, np.ndarray]:
    # Jittering the neutral pose (identity joints) yields the offsets themselves: drawn once per
    # person, then applied to every frame (Pose.jittered would redraw them at ~0.7 ms a frame).
    return Pose.neutral().jittered(rng, JOINT_NOISE_DEG).joints


def _apply_jitter(pose: Pose, offsets: dict[int, np.ndarray]) -> Pose:
    for k, v in pose.joints.items():
        pose.joints[k] = v + offsets[k] if len(v) == 1 else quat_mul(v, offsets[k])
    return pose


# ----------------------------------------------------------------------------- plan

@dataclass
class Segment:
    """One stretch of a person's timeline.

    Attributes:
        kind: ``"mocap"``, ``"exercise"``, ``"idle"`` or ``"transition"``.
        label: the class of its frames (a name of :data:`VOCABULARY`).
        start: first frame in the video (inclusive).
        end: last frame in the video (inclusive).
        yaw: rotation (radians about +y) applied to the source poses.
        offset: horizontal (x, z) translation applied after the rotation.
        mirror: mocap and exercise: left-right mirrored.
        clip_time: mocap: clip time at the first frame (seconds).
        speed: mocap: playback speed.
        depth: exercise: how far towards the low key position each rep goes.
        period: exercise: the tempo the reps were drawn around (seconds).
        phase: exercise: phase per frame of the segment.
        rep_boundaries: exercise: ``[start, end]`` video frames of each rep (inclusive).
        sway: idle: see :func:`idle_pose`.
        index: position in the person's segment list.
        target: transition: the segment it blends into (may start after the video ends).
    """

    kind: str
    label: str
    start: int
    end: int
    yaw: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)
    mirror: bool = False
    clip_time: float = 0.0
    speed: float = 1.0
    depth: float = 1.0
    period: float = 0.0
    phase: list[float] | None = None
    rep_boundaries: list[list[int]] = field(default_factory=list)
    sway: tuple[float, ...] = ()
    index: int = 0
    target: "Segment | None" = None

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def shift(self, frames: int) -> None:
        """Move the segment ``frames`` later in the video."""
        self.start += frames
        self.end += frames
        self.rep_boundaries = [[s + frames, e + frames] for s, e in self.rep_boundaries]

    def source_pose(self, j: int, fps: int) -> Pose:
        """The un-grounded pose at video frame ``j`` (no joint noise); not defined for transitions."""
        t = (j - self.start) / fps
        if self.kind == "mocap":
            pose = load_clip(self.label).pose_at(self.clip_time + self.speed * t, mirror=self.mirror)
        elif self.kind == "exercise":
            f = self.phase[min(max(j - self.start, 0), len(self.phase) - 1)]
            pose = exercise_pose(self.label, f, self.depth)
            pose = pose.mirrored() if self.mirror else pose
        elif self.kind == "idle":
            pose = idle_pose(t, self.sway)
        else:
            raise ValueError(f"a {self.kind} segment has no source pose")
        return pose.transformed(self.yaw, (self.offset[0], 0.0, self.offset[1]))

    def record(self) -> dict:
        """The JSON form written to the label file."""
        rec = {"label": self.label, "kind": self.kind, "start": self.start, "end": self.end}
        if self.kind == "mocap":
            rec.update(mirror=self.mirror, speed=round(self.speed, 4), clip_time=round(self.clip_time, 4))
        elif self.kind == "exercise":
            rec.update(count=len(self.rep_boundaries), rep_boundaries=self.rep_boundaries,
                       period=round(self.period, 4), mirror=self.mirror)
        return rec


@dataclass
class StreamPlan:
    """Everything that decides one stream video (drawn without a renderer).

    ``people[k]`` is person ``k``'s segment list, tiling frames ``0 .. frames - 1``.
    """

    index: int
    frames: int
    fps: int
    split: str
    texture: int
    palettes: list[int]
    camera: dict
    people: list[list[Segment]]

    @property
    def name(self) -> str:
        return f"stream_{self.index:03d}"

    def camera_azimuth(self, j: int | np.ndarray) -> float | np.ndarray:
        """Camera azimuth (degrees) at frame ``j``: a slow drift around the drawn one."""
        c = self.camera
        return c["azimuth"] + c["drift"] * np.sin(2 * np.pi * np.asarray(j) / (c["drift_period"] * self.fps)
                                                  + c["drift_phase"])

    def frame_labels(self, person: int) -> list[str]:
        """Per-frame class names of ``person``."""
        labels = [""] * self.frames
        for seg in self.people[person]:
            labels[seg.start:seg.end + 1] = [seg.label] * seg.length
        return labels

    def frame_phase_and_tags(self, person: int) -> tuple[list[float | None], list[str]]:
        """Per-frame exercise phase (``None`` outside exercises) and tags of ``person``."""
        phase: list[float | None] = [None] * self.frames
        tags = self.frame_labels(person)
        for seg in self.people[person]:
            if seg.kind != "exercise":
                continue
            phase[seg.start:seg.end + 1] = seg.phase[:seg.length]
            tags[seg.start:seg.end + 1] = ["idle"] * seg.length  # pauses between reps, as in reps
            for s, e in seg.rep_boundaries:
                for j in range(s, e + 1):
                    tags[j] = f"{seg.label}_{'low' if phase[j] > 0.5 else 'high'}"
        return phase, tags


def _rot(yaw: float, v: np.ndarray) -> np.ndarray:
    """Rotate horizontal (x, z) vectors as :meth:`Pose.transformed` does with ``yaw``."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])


def _transition_frames(a: Pose, b: Pose, fps: int) -> int:
    """Frames to blend from ``a`` to ``b``: longer for a bigger turn of the pelvis or change of height."""
    dot = min(1.0, abs(float(np.dot(a.root_orn, b.root_orn))))
    seconds = 0.2 + 0.15 * 2 * math.acos(dot) + 0.5 * abs(float(a.root_pos[1] - b.root_pos[1]))
    return max(2, int(round(fps * min(max(seconds, TRANSITION_SECONDS[0]), TRANSITION_SECONDS[1]))))


def _draw_segment(rng: np.random.Generator, fps: int, force_idle: bool = False, after: str | None = None) -> Segment:
    """Draw a segment's content (frames from 0, not yet turned or placed); never idle ``after`` idle
    unless ``force_idle``."""
    kinds = [k for k in KIND_WEIGHTS if not (k == "idle" and after == "idle")]
    weights = np.array([KIND_WEIGHTS[k] for k in kinds])
    kind = "idle" if force_idle else kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    if kind == "idle":
        n = int(round(rng.uniform(*IDLE_SECONDS) * fps))
        sway = (float(rng.uniform(2.0, 5.0)), float(rng.uniform(1.0, 3.0)), float(rng.uniform(2.0, 6.0)),
                float(rng.uniform(0.0, 3.0)), float(rng.uniform(0, 2 * np.pi)))
        return Segment("idle", "idle", 0, n - 1, sway=sway)
    if kind == "exercise":
        name = EXERCISES[int(rng.integers(len(EXERCISES)))]
        _, phase, bounds, period = rep_timeline(rng, EXERCISE_SECONDS, fps)
        first, last = bounds[0][0], bounds[-1][1]
        phase = [round(float(p), 5) for p in phase[first:last + 1]]
        seg = Segment("exercise", name, 0, last - first, mirror=bool(rng.random() < 0.5),
                      depth=float(rng.uniform(0.85, 1.0)), period=float(period), phase=phase,
                      rep_boundaries=[[s - first, e - first] for s, e in bounds])
        if count_low_excursions(phase) != len(bounds):  # ground truth by construction: check it
            raise RuntimeError(f"exercise segment shows {count_low_excursions(phase)} reps, planned {len(bounds)}")
        return seg
    name = CLIP_NAMES[int(rng.integers(len(CLIP_NAMES)))]
    clip = load_clip(name)
    speed = float(rng.uniform(*SPEED_RANGE))
    if name in LOOPING_CLIPS:
        clip_time, span = float(rng.uniform(0, clip.duration)), float(rng.uniform(*LOOP_SECONDS[name]))
    else:
        t0, t1 = active_part(name)
        clip_time = max(0.0, t0 - ONE_SHOT_MARGIN)
        span = (min(clip.duration, t1 + ONE_SHOT_MARGIN) - clip_time) / speed
    n = max(2, int(round(span * fps)) + 1)
    return Segment("mocap", name, 0, n - 1, mirror=bool(rng.random() < 0.5), clip_time=clip_time, speed=speed)


def _sector(rel: float) -> int:
    """The camera sector of an azimuth ``rel`` degrees relative to the body's facing."""
    return int(round((rel % 360.0) / (360.0 / NUM_SECTORS))) % NUM_SECTORS


def _orient(seg: Segment, rng: np.random.Generator, plan: StreamPlan, pos: np.ndarray, home: np.ndarray,
            start: int, facing: float | None = None) -> float:
    """Turn and place ``seg`` so it starts at ``pos``, seen from one of the split's camera sectors, and
    ends within HOME_RADIUS of ``home`` if a candidate heading allows (else as near as possible).
    The current ``facing`` (degrees) is tried first, so a person turns only when the sector rule or
    the way home asks for it. Returns the chosen camera azimuth relative to the body's facing
    (degrees), for :func:`_face` once the segment's first frame is known."""
    seg.yaw, seg.offset = 0.0, (0.0, 0.0)
    first, last = seg.source_pose(seg.start, plan.fps), seg.source_pose(seg.end, plan.fps)
    root0 = first.root_pos[[0, 2]]
    travel = last.root_pos[[0, 2]] - root0
    phi0 = heading(first)
    azimuth = float(plan.camera_azimuth(start))
    best = None
    for c in range(HEADING_CANDIDATES):
        sector = int(rng.choice(SPLIT_SECTORS[plan.split]))
        rel = (sector + rng.uniform(-0.5, 0.5)) * 360.0 / NUM_SECTORS  # camera azimuth minus body facing
        if c == 0 and facing is not None and _sector(azimuth - facing) in SPLIT_SECTORS[plan.split]:
            rel = azimuth - facing
        yaw = math.radians(phi0 - (azimuth - rel))  # transformed(yaw) turns the facing by -yaw
        miss = float(np.linalg.norm(pos + _rot(yaw, travel) - home))
        if best is None or miss < best[0]:
            best = (miss, rel)
        if miss <= HOME_RADIUS:
            break
    _face(seg, plan, pos, best[1], start)
    return best[1]


def _face(seg: Segment, plan: StreamPlan, pos: np.ndarray, rel: float, frame: int) -> None:
    """Set ``seg``'s turn so the camera at ``frame`` sees the body from ``rel`` degrees off its facing,
    and its offset so the body starts at horizontal position ``pos``."""
    seg.yaw, seg.offset = 0.0, (0.0, 0.0)
    first = seg.source_pose(seg.start, plan.fps)
    # transformed(yaw) turns the facing by -yaw.
    seg.yaw = math.radians(heading(first) - (float(plan.camera_azimuth(frame)) - rel))
    off = pos - _rot(seg.yaw, first.root_pos[[0, 2]])
    seg.offset = (float(off[0]), float(off[1]))


def plan_stream(seed: int, index: int, seconds: tuple[float, float], fps: int,
                people: tuple[int, int]) -> StreamPlan:
    """The plan of stream video ``index`` (deterministic in its arguments)."""
    plan_ss = np.random.SeedSequence(seed, spawn_key=(index,)).spawn(2)[0]
    children = plan_ss.spawn(1 + MAX_PEOPLE)
    rng = np.random.default_rng(children[0])
    split = SPLITS[rng.choice(len(SPLITS), p=SPLIT_WEIGHTS)]
    n_people = int(rng.integers(people[0], people[1] + 1))
    frames = max(2, int(round(rng.uniform(*seconds) * fps)))
    texture = int(rng.choice(SPLIT_TEXTURES[split]))
    family = SPLIT_PALETTES[split]
    palettes = [int(p) for p in rng.choice(family, n_people, replace=n_people > len(family))]
    camera = {"azimuth": float(rng.uniform(0, 360)), "drift": float(rng.uniform(-10, 10)),
              "drift_period": float(rng.uniform(30, 90)), "drift_phase": float(rng.uniform(0, 2 * np.pi)),
              "elevation": float(rng.uniform(0, 25)), "fov": float(rng.uniform(40, 55)),
              "fill": float(rng.uniform(0.7, 0.9))}
    plan = StreamPlan(index, frames, fps, split, texture, palettes, camera, [[] for _ in range(n_people)])

    az = math.radians(camera["azimuth"])
    lateral = np.array([-math.sin(az), math.cos(az)])  # horizontal, across the camera's view
    slots = [(k - (n_people - 1) / 2) * SLOT_SPACING * lateral for k in range(n_people)]
    rngs = [np.random.default_rng(children[1 + k]) for k in range(n_people)]
    pos = [s + rngs[k].normal(0, 0.1, 2) for k, s in enumerate(slots)]
    cursor = [0] * n_people
    # Extend whichever timeline is shortest, so "home" (the group centroid) is a contemporary one.
    while min(cursor) < frames:
        k = int(np.argmin(cursor))
        rng_k, segs = rngs[k], plan.people[k]
        home = np.mean(pos, axis=0) + slots[k]
        seg = _draw_segment(rng_k, fps, after=segs[-1].kind if segs else None)
        gap = 0
        if segs:
            facing = heading(segs[-1].source_pose(segs[-1].end, fps))
            rel = _orient(seg, rng_k, plan, pos[k], home, cursor[k], facing)
            gap = _transition_frames(segs[-1].source_pose(segs[-1].end, fps), seg.source_pose(seg.start, fps), fps)
            if seg.kind == "exercise" and cursor[k] + gap + seg.length > frames:
                seg = _draw_segment(rng_k, fps, force_idle=True)  # a set is never cut short
                rel = _orient(seg, rng_k, plan, pos[k], home, cursor[k], facing)
                gap = _transition_frames(segs[-1].source_pose(segs[-1].end, fps), seg.source_pose(seg.start, fps),
                                         fps)
            # The camera drifts during the transition: aim the sector at the segment's real first frame.
            _face(seg, plan, pos[k], rel, cursor[k] + gap)
            seg.shift(cursor[k] + gap)
            trans = Segment("transition", "transition", cursor[k], min(cursor[k] + gap, frames) - 1, target=seg)
            trans.index = len(segs)
            segs.append(trans)
        else:
            if seg.kind == "exercise" and seg.length > frames:  # a set is never cut short, first one included
                seg = _draw_segment(rng_k, fps, force_idle=True)
            _orient(seg, rng_k, plan, pos[k], home, 0)
        if seg.start < frames:
            last = seg.source_pose(seg.end, fps)  # where the whole segment ends, cut or not
            seg.end = min(seg.end, frames - 1)
            seg.index = len(segs)
            segs.append(seg)
            pos[k] = last.root_pos[[0, 2]]
        cursor[k] = seg.end + 1 if seg.start < frames else frames
    return plan


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
        res = _ground(renderer, seg, j, fps, _apply_jitter(seg.source_pose(j, fps), offsets))
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
    tracks = [person_track(renderer, plan, k, _jitter_offsets(rng)) for k in range(n_people)]
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

def render_streams(out: str | Path, videos: int = 4, seconds: tuple[float, float] = (60.0, 120.0), size: int = 160,
                   fps: int = 16, seed: int = 0, workers: int = 2, people: tuple[int, int] = (1, 1),
                   sheet: str | Path | None = None, progress: bool | None = None) -> dict:
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

    Raises:
        ValueError: naming the bad argument, or when ``out`` holds a render made with other arguments.

    Returns:
        The summary also written to ``out/summary.json``.
    """
    from actkit.utils.io import atomic_write, atomic_write_json

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
              "people": [p_lo, p_hi]}
    claim_output(out, config, ("videos/.*.mp4", "labels/.*.json"))

    start = time.perf_counter()
    codec = pick_codec()
    plans = [plan_stream(seed, i, (lo_s, hi_s), fps, (p_lo, p_hi)) for i in range(videos)]
    todo = [p for p in plans if not (out / "videos" / f"{p.name}.mp4").is_file()
            or not (out / "labels" / f"{p.name}.json").is_file()]
    jobs = [(p, str(out), seed, size, codec) for p in todo]
    rendered_frames, render_s = render_video_jobs(_render_job, jobs, workers, (seed, NUM_TEXTURES), "streams", progress)
    seconds_taken = time.perf_counter() - start

    with atomic_write(out / "labels.txt", "w") as f:
        f.writelines(f"{name}\n" for name in VOCABULARY)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for p in plans:
        writer.writerow([f"videos/{p.name}.mp4", f"labels/{p.name}.json", p.split, p.frames, fps, len(p.people)])
    with atomic_write(out / "manifest.csv", "w") as f:
        f.write(buf.getvalue())

    label_frames: Counter = Counter()
    segments: Counter = Counter()
    reps: Counter = Counter()
    for p in plans:
        for segs in p.people:
            for s in segs:
                label_frames[s.label] += s.length
                segments[s.label] += 1
                reps[s.label] += len(s.rep_boundaries)
    summary = {
        "out": str(out), **config, "workers": workers, "videos": len(plans), "rendered": len(todo),
        "skipped": len(plans) - len(todo), "splits": dict(Counter(p.split for p in plans)),
        "frames": sum(p.frames for p in plans), "person_frames": sum(p.frames * len(p.people) for p in plans),
        "vocabulary": list(VOCABULARY), "label_frames": {k: label_frames[k] for k in VOCABULARY if label_frames[k]},
        "segments": {k: segments[k] for k in VOCABULARY if segments[k]},
        "reps": {e: reps[e] for e in EXERCISES}, "codec": codec, "container": "mp4",
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


__all__ = ["MAX_PEOPLE", "VOCABULARY", "Segment", "StreamPlan", "blend_poses", "idle_pose", "label_record",
           "pack_pose", "person_track", "plan_stream", "render_streams", "stream_frames",
           "unpack_pose"]
