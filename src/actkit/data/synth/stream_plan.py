"""Planning one long stream: per person, a timeline of motion-capture clips, idle stretches and
exercise sets joined by blended transitions, each segment placed and oriented on the ground
(see :mod:`.streams` for the set and the rendering)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .actions import active_part
from .mocap import CLIP_NAMES, JOINTS, LOOPING_CLIPS, Pose, load_clip, quat_mul, slerp
from .reps import EXERCISES, STAND_PARAMS, count_low_excursions, exercise_pose, pose_from_params, rep_timeline
from .scene import NUM_SECTORS, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES, SPLIT_WEIGHTS, SPLITS, facing_direction


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


MAX_PEOPLE = 4


_QUAT_JOINTS = tuple(idx for _, idx, dof in JOINTS if dof == 4)


_ANGLE_JOINTS = tuple(idx for _, idx, dof in JOINTS if dof == 1)


POSE_SIZE = 3 + 4 + 4 * len(_QUAT_JOINTS) + len(_ANGLE_JOINTS)


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


def jitter_offsets(rng: np.random.Generator) -> dict[int, np.ndarray]:
    # Jittering the neutral pose (identity joints) yields the offsets themselves: drawn once per
    # person, then applied to every frame (Pose.jittered would redraw them at ~0.7 ms a frame).
    return Pose.neutral().jittered(rng, JOINT_NOISE_DEG).joints


def apply_jitter(pose: Pose, offsets: dict[int, np.ndarray]) -> Pose:
    for k, v in pose.joints.items():
        pose.joints[k] = v + offsets[k] if len(v) == 1 else quat_mul(v, offsets[k])
    return pose


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


JOINT_NOISE_DEG = 3.0
