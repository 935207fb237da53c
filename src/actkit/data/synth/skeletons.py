"""Keypoint sequences from the motion capture's true joints, seen by random cameras, with a pose model's noise.

No rendering: each clip's 3D joints are computed once by forward kinematics (pybullet, about 0.2 ms a
frame), turned into MediaPipe's 33 body points, and every sequence is then a numpy projection through its
own camera. The 12 body joints are the humanoid's own; the points it lacks are derived from its geometry:
nose, eyes, ears and mouth from the head sphere and the body's facing, heels and toes from the foot boxes,
pinky, index and thumb from the hand sphere and the forearm.

Cameras (per sequence): azimuth in a sector measured from the body's facing (train, val and test use
different sectors, as the pixel sets do), elevation -5..35 degrees, the body filling 25-90 % of the frame
height, focal length from a 35-75 degree field of view, roll +-8 degrees, slow drift of azimuth and
distance. Noise (:class:`Noise`): per-joint jitter scaled by the body's box, dropped joints (visibility 0),
left/right swaps for a few frames, a limb occluded for a while, truncation at the frame edges (visibility
0 outside), dropped frames (NaN: nobody found), speed and a smooth time warp, mirroring.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .mocap import LOOPING_CLIPS, load_clip
from .scene import LINK, NUM_SECTORS, SPLIT_SECTORS

FPS = 30.0
IMAGE_SIZE = (640, 480)  # width, height of the virtual camera
# MediaPipe-33 left/right partners (for swaps and mirroring).
PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22),
         (23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
LIMBS = {"left_arm": (11, 13, 15, 17, 19, 21), "right_arm": (12, 14, 16, 18, 20, 22),
         "left_leg": (23, 25, 27, 29, 31), "right_leg": (24, 26, 28, 30, 32)}


@dataclass
class Noise:
    """What a real pose model does to keypoints (rates per joint-frame, per frame or per sequence)."""

    jitter: float = 0.012  # std of per-joint jitter, as a fraction of the body box diagonal
    drop_joint: float = 0.03  # a joint reported with visibility 0 (and its position off)
    swap: float = 0.02  # a left/right swap starting on a frame (lasts 1-6 frames)
    occlude_limb: float = 0.25  # a limb hidden for part of the sequence
    drop_frame: float = 0.02  # nobody found on a frame
    time_warp: float = 0.15  # amplitude of the smooth time warp (fraction of local speed)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def mediapipe33(links: np.ndarray, aabbs: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """(33, 3) MediaPipe body points (world, Y up) from the humanoid's link pivots (15, 3), link bounds
    (15, 2, 3) and the pelvis facing direction (3,)."""
    out = np.zeros((33, 3))
    up = unit(links[LINK["neck"]] - links[LINK["chest"]])
    fwd = unit(facing - up * np.dot(facing, up))
    right = np.cross(fwd, up)  # the body faces +x with its right side +z: x cross y = z
    head_lo, head_hi = aabbs[LINK["neck"]]
    head, r = (head_lo + head_hi) / 2, float(np.max(head_hi - head_lo)) / 2
    out[0] = head + fwd * r
    for side, s in ((1, -1.0), (4, 1.0)):  # MediaPipe's "left" eye (1-3) is the person's left: -right
        eye = head + fwd * 0.8 * r + up * 0.3 * r + right * s * 0.35 * r
        out[side], out[side + 1], out[side + 2] = eye - right * s * 0.12 * r, eye, eye + right * s * 0.12 * r
    out[7], out[8] = head - right * r, head + right * r
    out[9], out[10] = (head + fwd * 0.85 * r - up * 0.45 * r + right * s * 0.25 * r for s in (-1.0, 1.0))
    for side, base in (("left", 11), ("right", 12)):
        shoulder, elbow, wrist = (links[LINK[f"{side}_{j}"]] for j in ("shoulder", "elbow", "wrist"))
        out[base], out[base + 2], out[base + 4] = shoulder, elbow, wrist
        hand_lo, hand_hi = aabbs[LINK[f"{side}_wrist"]]
        hand = (hand_lo + hand_hi) / 2
        along = unit(hand - elbow)
        across = unit(np.cross(along, up)) * (1 if side == "left" else -1)
        hr = float(np.max(hand_hi - hand_lo)) / 2
        out[base + 6] = hand + along * hr - across * 0.5 * hr  # pinky
        out[base + 8] = hand + along * hr * 1.2 + across * 0.3 * hr  # index
        out[base + 10] = hand + across * hr  # thumb
        hip, knee, ankle = (links[LINK[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        out[base + 12], out[base + 14], out[base + 16] = hip, knee, ankle
        foot_lo, foot_hi = aabbs[LINK[f"{side}_ankle"]]
        sole = np.array([0.0, foot_lo[1], 0.0])
        out[base + 18] = ankle - fwd * 0.06 + (sole - ankle * [0, 1, 0])  # heel: behind the ankle, on the sole
        out[base + 20] = ankle + fwd * 0.16 + (sole - ankle * [0, 1, 0])  # foot index: the toes
    return out


@lru_cache(maxsize=64)
def clip_points(name: str, mirror: bool, fps: float = FPS) -> np.ndarray:
    """(T, 33, 3) world points of a mocap clip sampled at ``fps`` (looping clips: four cycles)."""
    from .mocap import quat_rotate

    clip = load_clip(name)
    renderer = fk_renderer()
    seconds = clip.duration * (4 if name in LOOPING_CLIPS else 1)
    frames = []
    for t in np.arange(0.0, seconds + 1e-9, 1.0 / fps):
        pose = clip.pose_at(float(t), mirror)
        renderer.set_pose(pose)
        facing = quat_rotate(np.asarray(pose.root_orn), np.array([1.0, 0.0, 0.0]))
        frames.append(mediapipe33(renderer.link_frames(), renderer.link_aabbs(), facing))
    return np.asarray(frames, np.float32)


@lru_cache(maxsize=1)
def fk_renderer():
    from .render import HumanoidRenderer

    return HumanoidRenderer(num_textures=1, texture_size=8)


def _look_at(eye: np.ndarray, target: np.ndarray, roll: float) -> np.ndarray:
    """(F, 3, 3) world -> camera rotations (camera x right, y down, z forward) for eyes and targets (F, 3)."""
    z = unit(target - eye)
    x = unit(np.cross(z, np.array([0.0, 1.0, 0.0])))  # right in the picture
    y = np.cross(z, x)  # down in the picture
    c, s = math.cos(roll), math.sin(roll)
    return np.stack([c * x + s * y, -s * x + c * y, z], axis=1)


def project(points: np.ndarray, rng: np.random.Generator, sector: int, facing: np.ndarray,
            image: tuple[int, int] = IMAGE_SIZE, world_azimuth: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Pixels (F, 33, 2), depth (F, 33) of world ``points`` (F, 33, 3) through a random drifting camera in
    azimuth ``sector`` relative to the body's ``facing``; and the camera's parameters. ``world_azimuth``
    (F,) radians: the camera's azimuth per frame instead (a planned video's own camera, which already put
    each segment in its split's sector)."""
    w, h = image
    fov = math.radians(rng.uniform(35, 75))
    focal = (h / 2) / math.tan(fov / 2)
    height = float(np.ptp(points[..., 1], axis=-1).max()) + 0.1
    fill = rng.uniform(0.25, 0.9)  # share of the frame height the body takes
    distance = focal * height / (fill * h)
    azimuth = math.atan2(facing[2], facing[0]) + (sector + rng.uniform(-0.5, 0.5)) * 2 * math.pi / NUM_SECTORS
    elevation, roll = math.radians(rng.uniform(-5, 35)), math.radians(rng.uniform(-8, 8))
    f = len(points)
    drift = np.linspace(0, 1, f)
    az = azimuth + math.radians(rng.uniform(-10, 10)) * drift
    if world_azimuth is not None:
        az = np.asarray(world_azimuth, np.float64)
        azimuth = float(az[0])
    dist = distance * (1 + rng.uniform(-0.15, 0.15) * drift)
    centre = points[:, [23, 24]].mean(1)  # follows the hips, as a camera operator would, a little late
    centre = np.cumsum(np.vstack([centre[:1], np.diff(centre, axis=0)]) * 0.9, axis=0) + centre[:1] * 0.1
    # the person is rarely centred; now and then a little of them leaves the frame
    offset = rng.uniform(-0.55, 0.55, 2) * (1 - fill) * np.array([w, h]) + rng.normal(0, 0.03, 2) * [w, h]
    eye = centre + dist[:, None] * np.stack([np.full(f, math.cos(elevation)) * np.cos(az), np.full(f, math.sin(elevation)),
                                             np.full(f, math.cos(elevation)) * np.sin(az)], axis=1)
    cam = np.einsum("fij,fkj->fki", _look_at(eye, centre, roll), points - eye[:, None])
    depth = cam[..., 2]
    xy = cam[..., :2] / np.maximum(cam[..., 2:3], 1e-3) * focal + [w / 2, h / 2] + offset
    return xy.astype(np.float32), depth.astype(np.float32), {
        "azimuth_deg": round(math.degrees(azimuth), 1), "elevation_deg": round(math.degrees(elevation), 1),
        "distance_m": round(distance, 2), "fov_deg": round(math.degrees(fov), 1), "roll_deg": round(math.degrees(roll), 1)}


def add_noise(xy: np.ndarray, depth: np.ndarray, rng: np.random.Generator, noise: Noise,
              image: tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """(F, 33, 4) keypoints (x, y, z, visibility) from clean pixels: the :class:`Noise` model; NaN frames are
    frames where nobody was found."""
    f = len(xy)
    w, h = image
    box = np.ptp(xy, axis=1)  # (F, 2)
    diag = np.linalg.norm(box, axis=1)[:, None, None]
    xy = xy + rng.normal(0, noise.jitter, xy.shape) * diag
    z = (depth - depth.mean(1, keepdims=True)) / np.maximum(depth.mean(1, keepdims=True), 1e-3) * box[:, :1] * 4
    vis = rng.uniform(0.75, 1.0, (f, 33))
    hidden = rng.random((f, 33)) < noise.drop_joint
    xy[hidden] += rng.normal(0, 0.1, (int(hidden.sum()), 2)) * diag.repeat(33, 1)[hidden]
    vis[hidden] = rng.uniform(0.0, 0.3, int(hidden.sum()))
    if rng.random() < noise.occlude_limb:
        limb = list(LIMBS.values())[rng.integers(len(LIMBS))]
        a = int(rng.integers(0, f))
        b = min(f, a + int(rng.integers(max(2, f // 4), max(3, f))))
        vis[a:b, list(limb)] = rng.uniform(0.0, 0.35, (b - a, len(limb)))
    left, right = [a for a, _ in PAIRS], [b for _, b in PAIRS]
    for t in np.flatnonzero(rng.random(f) < noise.swap):  # the pose model mixes up the sides for a few frames
        n = int(rng.integers(1, 7))
        xy[t:t + n, left + right] = xy[t:t + n, right + left]
    out = np.concatenate([xy, z[..., None], vis[..., None]], axis=-1).astype(np.float32)
    outside = (out[..., 0] < 0) | (out[..., 0] >= w) | (out[..., 1] < 0) | (out[..., 1] >= h)
    out[..., 3][outside] = 0.0
    out[rng.random(f) < noise.drop_frame] = np.nan
    return out


def window_times(rng: np.random.Generator, total: int, frames: int, step: float, warp: float) -> np.ndarray:
    """``frames`` fractional indices into a trajectory of ``total`` samples: speed ``step`` samples per frame
    with a smooth warp, starting at a random point that fits (clamped at the clip's end)."""
    phase = rng.uniform(0, 2 * math.pi)
    rate = step * (1 + warp * np.sin(np.linspace(0, rng.uniform(1, 3) * math.pi, frames) + phase))
    offsets = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    start = rng.uniform(0, max(0.0, total - 1 - offsets[-1]))
    return np.clip(start + offsets, 0, total - 1)


def sample_sequence(points: np.ndarray, rng: np.random.Generator, frames: int, fps: float, sector: int,
                    speed: float, noise: Noise) -> tuple[np.ndarray, dict[str, Any]]:
    """One noisy keypoint sequence (frames, 33, 4) from a clip's world points at :data:`FPS`."""
    idx = window_times(rng, len(points), frames, speed * FPS / fps, noise.time_warp)
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, len(points) - 1)
    u = (idx - lo)[:, None, None]
    world = points[lo] * (1 - u) + points[hi] * u
    facing = unit(world[0, 0] - world[0, [7, 8]].mean(0))  # nose ahead of the ears
    xy, depth, camera = project(world, rng, sector, facing)
    return add_noise(xy, depth, rng, noise), {"start_s": round(float(idx[0]) / FPS, 3), "speed": round(speed, 3),
                                               "sector": sector, **camera}


def render_skeletons(out: str | Path, sequences_per_class: int = 200, frames: int = 32, fps: float = 15.0,
                     seed: int = 0, classes: tuple[str, ...] | None = None, noise: Noise | None = None) -> dict:
    """The 15 mocap clips as labelled keypoint sequences (MediaPipe-33, pixels of a 640x480 camera; labels the
    rendered action videos' class names: ``Walk``, ``Cartwheel``, ...) in the
    keypoint sequence Parquet (:mod:`actkit.data.keypoint_sequences`, plus ``label``, ``split``, ``group``,
    ``camera`` columns). Splits by camera sector (train 0, 2, 4, 6; val 3, 5; test 1, 7 of 8 around the
    body) and speed, as the rendered action videos; mirrored half the time. Returns a summary."""
    import time

    from ..keypoint_sequences import save_sequences
    from ..vocab import CLIP_NAMES
    from .actions import CLASS_NAMES, SPLIT_CYCLE, SPLIT_SPEEDS

    names = tuple(classes or CLIP_NAMES)
    unknown = sorted(set(names) - set(CLIP_NAMES))
    if unknown:
        raise ValueError(f"unknown classes {unknown}; known: {', '.join(CLIP_NAMES)}")
    noise = noise or Noise()
    t0 = time.perf_counter()
    for name in names:  # forward kinematics once per clip and side
        clip_points(name, False), clip_points(name, True)
    t1 = time.perf_counter()
    rows, counts = [], {}
    for c, name in enumerate(names):
        for k in range(sequences_per_class):
            rng = np.random.default_rng([seed, c, k])
            split = SPLIT_CYCLE[(k + c) % len(SPLIT_CYCLE)]
            lo, hi = SPLIT_SPEEDS[split][int(rng.integers(len(SPLIT_SPEEDS[split])))]
            mirror = bool(rng.random() < 0.5)
            seq, info = sample_sequence(clip_points(name, mirror), rng, frames, fps,
                                        int(rng.choice(SPLIT_SECTORS[split])), float(rng.uniform(lo, hi)), noise)
            rows.append({"source": f"synth:skeletons:{name}:{k}", "fps": fps, "keypoints": seq[:, None],
                         "label": CLASS_NAMES[name], "split": split, "group": f"{name}-{k}", "mirror": int(mirror),
                         **info})
            counts[split] = counts.get(split, 0) + 1
    build_s = time.perf_counter() - t1
    save_sequences(out, rows)
    return {"out": str(out), "sequences": len(rows), "classes": list(names), "frames": frames, "fps": fps,
            "splits": counts, "kinematics_s": round(t1 - t0, 2), "sequences_per_s": round(len(rows) / max(build_s, 1e-9), 1)}


def render_posture_skeletons(out: str | Path, n: int = 3000, frames: int = 4, fps: float = 15.0, seed: int = 0,
                             noise: Noise | None = None) -> dict:
    """The postures set's bodies (standing, sitting, lying: mocap frames and posed sitting and lying, labelled
    by geometry) as short still keypoint sequences (``frames`` frames of one pose with a little sway),
    through random cameras split by sector (70 / 15 / 15 % of samples) with the noise model; labels
    ``standing``, ``sitting``, ``lying``."""
    import time

    from ..keypoint_sequences import save_sequences
    from .mocap import quat_rotate
    from .postures import labelled_pose
    from .scene import SPLIT_WEIGHTS, SPLITS

    noise = noise or Noise()
    renderer = fk_renderer()
    rows, counts, t0 = [], {}, time.perf_counter()
    for i in range(n):
        rng = np.random.default_rng([seed, 1, i])
        split = SPLITS[int(rng.choice(len(SPLITS), p=SPLIT_WEIGHTS))]
        label, pose = labelled_pose(renderer, rng)
        facing = quat_rotate(np.asarray(pose.root_orn), np.array([1.0, 0.0, 0.0]))
        still = mediapipe33(renderer.link_frames(), renderer.link_aabbs(), facing)
        sway = rng.normal(0, 0.01, (frames, 1, 3)).cumsum(0)  # a body at rest still moves a little
        sector = int(rng.choice(SPLIT_SECTORS[split]))
        xy, depth, camera = project(still[None] + sway, rng, sector, unit(still[0] - still[[7, 8]].mean(0)))
        rows.append({"source": f"synth:posture-skeletons:{seed}:{i}", "fps": fps,
                     "keypoints": add_noise(xy, depth, rng, noise)[:, None], "label": label, "split": split,
                     "group": f"posture-{seed}-{i}", "sector": sector, **camera})
        counts[label] = counts.get(label, 0) + 1
    save_sequences(out, rows)
    return {"out": str(out), "samples": n, "frames": frames, "labels": counts,
            "samples_per_s": round(n / max(time.perf_counter() - t0, 1e-9), 1)}
