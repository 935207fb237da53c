"""The motion-capture clips shipped with pybullet, as poses for the humanoid.

``pybullet_data/data/motions/humanoid3d_*.txt`` holds 15 DeepMimic clips for
``humanoid/humanoid.urdf``. A keyframe is 44 floats: duration, root position (3), root
quaternion (4), then per joint a quaternion (4) or, for knees and elbows, one angle.
Files store quaternions as (w, x, y, z); everything here is pybullet's (x, y, z, w).
The world is Y-up, the body faces +x and its right side is +z.

This module is pure numpy (no physics connection), so poses can be built, mirrored and
re-timed anywhere; :class:`actkit.data.synth.render.HumanoidRenderer` applies them. Speed and
phase are maps of time (``clip.pose_at(phase + speed * t)``); mirroring swaps left and right
(``pose_at(t, mirror=True)`` or :meth:`Pose.mirrored`).

Example:
    >>> clip = load_clip("walk")
    >>> pose = clip.pose_at(0.4, mirror=True).transformed(yaw=1.0)
"""
from __future__ import annotations

import functools
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..vocab import CLIP_NAMES

logger = logging.getLogger(__name__)

# The loops of the other "wrap" clips are not seamless (joint jumps, facing drift): one-shot.
LOOPING_CLIPS = ("walk", "run")

# (name, URDF joint index, degrees of freedom) in keyframe order after the root.
JOINTS = (("chest", 1, 4), ("neck", 2, 4),
          ("right_hip", 3, 4), ("right_knee", 4, 1), ("right_ankle", 5, 4),
          ("right_shoulder", 6, 4), ("right_elbow", 7, 1),
          ("left_hip", 9, 4), ("left_knee", 10, 1), ("left_ankle", 11, 4),
          ("left_shoulder", 12, 4), ("left_elbow", 13, 1))
JOINT_INDEX = {name: idx for name, idx, _ in JOINTS}
# Right <-> left partner of every joint (the spine maps to itself).
MIRROR_JOINT = {1: 1, 2: 2, 3: 9, 4: 10, 5: 11, 6: 12, 7: 13, 9: 3, 10: 4, 11: 5, 12: 6, 13: 7}


# ----------------------------------------------------------------------------- quaternions (x, y, z, w)

def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` of (..., 4) xyzw quaternions (apply ``b`` first, then ``a``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 1] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 2] = aw * bz + ax * by - ay * bx + az * bw
    out[..., 3] = aw * bw - ax * bx - ay * by - az * bz
    return out


def quat_axis_angle(axis: str | np.ndarray, angle: float) -> np.ndarray:
    """Quaternion (xyzw) of a rotation by ``angle`` radians about ``"x"``, ``"y"``, ``"z"`` or a vector."""
    half = 0.5 * float(angle)
    if isinstance(axis, str):
        q = np.zeros(4)
        q["xyz".index(axis)] = math.sin(half)
        q[3] = math.cos(half)
        return q
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    return np.append(axis * math.sin(half), math.cos(half))


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector(s) ``v`` (..., 3) by quaternion ``q`` (xyzw)."""
    q = np.asarray(q, dtype=np.float64)
    u, w = q[..., :3], q[..., 3:]
    t = 2.0 * cross3(u, v)
    return v + w * t + cross3(u, t)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) vectors (np.cross costs ~20x more on single vectors)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def slerp(q0: np.ndarray, q1: np.ndarray, u: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation between (..., 4) unit quaternions, taking the short way round."""
    q0, q1 = np.asarray(q0, dtype=np.float64), np.asarray(q1, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    # Nearly equal quaternions: sin(theta) ~ 0, where plain lerp is exact enough and stable.
    near = sin < 1e-6
    w0 = np.where(near, 1.0 - u, np.sin((1.0 - u) * theta) / np.where(near, 1.0, sin))
    w1 = np.where(near, u, np.sin(u * theta) / np.where(near, 1.0, sin))
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def _mirror_quat(q: np.ndarray) -> np.ndarray:
    # Reflecting through the body's sagittal plane (z -> -z) maps a rotation axis a to (-ax, -ay, az).
    x, y, z, w = q
    return np.array([-x, -y, z, w])


# ----------------------------------------------------------------------------- pose

@dataclass
class Pose:
    """A full kinematic pose of ``humanoid/humanoid.urdf`` (loaded with ``globalScaling=0.25``).

    Attributes:
        root_pos: pelvis position in metres, world Y-up.
        root_orn: pelvis orientation, quaternion (x, y, z, w).
        joints: URDF joint index -> quaternion (x, y, z, w) for spherical joints or ``(angle,)``
            in radians for knees and elbows (knee flexion is negative, elbow flexion positive).
    """

    root_pos: np.ndarray
    root_orn: np.ndarray
    joints: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def neutral(cls, height: float = 0.9) -> "Pose":
        """Upright, arms hanging, every joint at rest; the pelvis ``height`` metres above the ground."""
        joints = {idx: np.array([0.0]) if dof == 1 else np.array([0.0, 0.0, 0.0, 1.0]) for _, idx, dof in JOINTS}
        return cls(np.array([0.0, height, 0.0]), np.array([0.0, 0.0, 0.0, 1.0]), joints)

    def copy(self) -> "Pose":
        """A deep copy (arrays included)."""
        return Pose(self.root_pos.copy(), self.root_orn.copy(), {k: v.copy() for k, v in self.joints.items()})

    def mirrored(self) -> "Pose":
        """The left-right mirror image: the world reflected through z = 0 and left/right joints swapped."""
        joints = {}
        for idx, value in self.joints.items():
            # A 1-DoF joint rotates about z, which the reflection leaves unchanged.
            joints[MIRROR_JOINT[idx]] = value.copy() if len(value) == 1 else _mirror_quat(value)
        pos = self.root_pos * np.array([1.0, 1.0, -1.0])
        return Pose(pos, _mirror_quat(self.root_orn), joints)

    def jittered(self, rng: np.random.Generator, degrees: float) -> "Pose":
        """Every joint rotated by a random extra angle of up to ``degrees`` (about a random axis for
        spherical joints), so one mocap keyframe yields many slightly different bodies."""
        joints = {}
        for idx, value in self.joints.items():
            angle = np.radians(degrees) * rng.uniform(-1, 1)
            if len(value) == 1:
                joints[idx] = value + angle
            else:
                joints[idx] = quat_mul(value, quat_axis_angle(rng.normal(size=3) + 1e-9, angle))
        return Pose(self.root_pos.copy(), self.root_orn.copy(), joints)

    def transformed(self, yaw: float = 0.0, offset: np.ndarray | tuple = (0.0, 0.0, 0.0)) -> "Pose":
        """Rotate the whole pose by ``yaw`` radians about the world Y axis through the origin, then translate."""
        q = quat_axis_angle("y", yaw)
        pos = quat_rotate(q, self.root_pos) + np.asarray(offset, dtype=np.float64)
        return Pose(pos, quat_mul(q, self.root_orn), {k: v.copy() for k, v in self.joints.items()})


# ----------------------------------------------------------------------------- clips

@dataclass
class MocapClip:
    """One motion-capture clip with keyframes on cumulative (irregular) times.

    Attributes:
        name: short name, e.g. ``"walk"``.
        loop: whether :meth:`pose_at` wraps time (only clean loops: walk, run).
        times: (K,) start time of every keyframe in seconds, ``times[-1]`` is the clip duration.
        root_pos: (K, 3) root positions.
        root_orn: (K, 4) root quaternions (xyzw).
        quats: (K, J, 4) spherical joint quaternions (xyzw), joints in :attr:`quat_joints` order.
        angles: (K, A) knee/elbow angles, joints in :attr:`angle_joints` order.
    """

    name: str
    loop: bool
    times: np.ndarray
    root_pos: np.ndarray
    root_orn: np.ndarray
    quats: np.ndarray
    angles: np.ndarray
    quat_joints: tuple[int, ...] = tuple(idx for _, idx, dof in JOINTS if dof == 4)
    angle_joints: tuple[int, ...] = tuple(idx for _, idx, dof in JOINTS if dof == 1)

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return float(self.times[-1])

    @classmethod
    def from_frames(cls, name: str, frames: np.ndarray, loop: bool) -> "MocapClip":
        """Build a clip from the raw (K, 44) keyframe array of a DeepMimic motion file."""
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim != 2 or frames.shape[1] != 44 or len(frames) < 2:
            raise ValueError(f"{name}: expected (K>=2, 44) keyframes, got {frames.shape}")
        # Keyframe k starts at the sum of the earlier durations; the last duration is 0.
        times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
        wxyz_to_xyzw = [1, 2, 3, 0]
        col, quats, angles = 8, [], []
        for _, _, dof in JOINTS:
            if dof == 4:
                quats.append(frames[:, col:col + 4][:, wxyz_to_xyzw])
            else:
                angles.append(frames[:, col])
            col += dof
        quats = np.stack(quats, axis=1)
        quats /= np.linalg.norm(quats, axis=-1, keepdims=True)
        root_orn = frames[:, 4:8][:, wxyz_to_xyzw]
        root_orn /= np.linalg.norm(root_orn, axis=-1, keepdims=True)
        return cls(name, loop, times, frames[:, 1:4].copy(), root_orn, quats, np.stack(angles, axis=1))

    def pose_at(self, t: float, mirror: bool = False) -> Pose:
        """The interpolated pose at time ``t`` seconds.

        Looping clips wrap ``t`` and carry the root forward by the per-cycle displacement so a
        long walk keeps travelling; the others clamp ``t`` to ``[0, duration]``.

        Args:
            t: time in seconds.
            mirror: return the left-right mirror image.
        """
        dur = self.duration
        shift = np.zeros(3)
        if self.loop and dur > 0:
            cycles = np.floor(t / dur)
            t = t - cycles * dur
            shift = cycles * (self.root_pos[-1] - self.root_pos[0]) * np.array([1.0, 0.0, 1.0])
        t = min(max(float(t), 0.0), dur)
        k = min(max(int(np.searchsorted(self.times, t, side="right")) - 1, 0), len(self.times) - 2)
        span = self.times[k + 1] - self.times[k]
        u = 0.0 if span <= 0 else (t - self.times[k]) / span
        pos = (1 - u) * self.root_pos[k] + u * self.root_pos[k + 1] + shift
        orn = slerp(self.root_orn[k], self.root_orn[k + 1], u)
        quats = slerp(self.quats[k], self.quats[k + 1], u)
        angles = (1 - u) * self.angles[k] + u * self.angles[k + 1]
        joints = {j: quats[i] for i, j in enumerate(self.quat_joints)}
        joints.update({j: angles[i:i + 1] for i, j in enumerate(self.angle_joints)})
        pose = Pose(pos, orn, joints)
        return pose.mirrored() if mirror else pose


def motions_dir() -> Path:
    """The folder of pybullet's bundled motion files."""
    from actkit.utils import require

    return Path(require("pybullet_data", extra="synth").getDataPath()) / "data" / "motions"


@functools.lru_cache(maxsize=None)
def load_clip(name: str) -> MocapClip:
    """Load ``humanoid3d_<name>.txt`` (cached per process).

    Raises:
        FileNotFoundError: naming the file when pybullet_data lacks it.
    """
    path = motions_dir() / f"humanoid3d_{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such motion clip (known: {', '.join(CLIP_NAMES)})")
    data = json.loads(path.read_text())
    clip = MocapClip.from_frames(name, np.array(data["Frames"]), loop=name in LOOPING_CLIPS)
    logger.debug("loaded %s: %d keyframes, %.2f s", name, len(clip.times), clip.duration)
    return clip


def load_clips(names: tuple[str, ...] = CLIP_NAMES) -> dict[str, MocapClip]:
    """Load several clips by name (default: all 15)."""
    return {name: load_clip(name) for name in names}
