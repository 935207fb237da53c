"""Planning one procedural dive: take-off, flight and entry as joint parameters, a somersault and a
twist angle and a pelvis path per frame, from a Diving48 label (see :mod:`.dives` for the set)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..dives import DIVING48_LABELS, DiveLabel
from .actions import SPLIT_CYCLE
from .mocap import Pose, quat_axis_angle, quat_mul
from .poses import limb_rotation, rot_z
from .scene import LEG_LENGTH, LINK, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES


G = 9.81


HEIGHTS = (3.0, 5.0, 7.5, 10.0)  # platform heights, metres


SECTOR_RANGE = (35.0, 125.0)  # camera view angle from the travel direction, degrees


MAX_STEP_DEG = 120.0  # largest somersault rotation allowed between two frames


ENTRY_HEIGHT = 1.0  # pelvis height at water contact (hands or feet touch the water)


SPEEDUP = {"tuck": 2.0, "pike": 1.3, "straight": 0.0, "free": 0.0}  # extra angular speed when fully closed


# Body shapes as joint-angle parameters (degrees): pitch = pelvis pitched forward from the body's
# reference axis; hip / knee = flexion; ankle = plantar flexion (toes pointed); sh_flex / sh_abd =
# shoulder flexion (forward) / abduction (outward, negative across the chest); elbow = flexion;
# chest / neck = forward flexion.
JOINT_KEYS = ("pitch", "hip", "knee", "ankle", "sh_flex", "sh_abd", "elbow", "chest", "neck")


STAND_UP = dict(pitch=0, hip=0, knee=2, ankle=0, sh_flex=172, sh_abd=8, elbow=2, chest=0, neck=0)


CROUCH = dict(pitch=25, hip=70, knee=75, ankle=-30, sh_flex=-25, sh_abd=10, elbow=15, chest=5, neck=0)


LAYOUT_UP = dict(pitch=0, hip=0, knee=0, ankle=60, sh_flex=175, sh_abd=6, elbow=0, chest=0, neck=0)


LAYOUT_SIDE = dict(pitch=0, hip=0, knee=0, ankle=60, sh_flex=0, sh_abd=6, elbow=5, chest=0, neck=0)


SHAPES = {
    "tuck": dict(pitch=70, hip=140, knee=145, ankle=50, sh_flex=45, sh_abd=12, elbow=100, chest=20, neck=25),
    "pike": dict(pitch=68, hip=135, knee=2, ankle=60, sh_flex=95, sh_abd=12, elbow=5, chest=10, neck=15),
    "swan": dict(pitch=-8, hip=-8, knee=0, ankle=60, sh_flex=20, sh_abd=85, elbow=5, chest=-8, neck=-10),
    "straight": LAYOUT_SIDE,
    "wrap": dict(pitch=0, hip=3, knee=0, ankle=60, sh_flex=35, sh_abd=-20, elbow=135, chest=0, neck=0),
}


def _smoothstep(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _ramp(u: np.ndarray, up: tuple[float, float], down: tuple[float, float] | None = None) -> np.ndarray:
    """0 -> 1 over ``up`` (fractions of the flight), back to 0 over ``down``."""
    r = _smoothstep((u - up[0]) / max(1e-9, up[1] - up[0]))
    if down is not None:
        r = r * (1 - _smoothstep((u - down[0]) / max(1e-9, down[1] - down[0])))
    return r


def _lerp(a: dict, b: dict, w: np.ndarray) -> dict:
    return {k: np.asarray(a[k], float) * (1 - w) + np.asarray(b[k], float) * w for k in JOINT_KEYS}


@dataclass
class DivePlan:
    """Everything that decides one video's motion and labels (drawn without a renderer)."""

    index: int
    cls: int
    number: int
    split: str
    sector: int
    palette: int
    water: int
    side: int
    height: float
    frames: int
    fps: int
    speed: float
    twist_sense: int
    times: list[float] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    somersault_deg: list[float] = field(default_factory=list)
    twist_deg: list[float] = field(default_factory=list)
    params: dict[str, list[float]] = field(default_factory=dict)
    root_pos: list[list[float]] = field(default_factory=list)

    @property
    def label(self) -> DiveLabel:
        return DIVING48_LABELS[self.cls]

    @property
    def vid_name(self) -> str:
        return f"synthdive-{self.index:05d}"

    @property
    def yaw(self) -> float:
        """Facing at take-off: +x (towards the water) for forward and reverse, -x for back and inward."""
        return 0.0 if self.label.takeoff in ("forward", "reverse") else math.pi

    @property
    def sense(self) -> int:
        """Sign of the somersault about world +z: the head goes to +x (away) for forward and back."""
        return -1 if self.label.takeoff in ("forward", "back") else 1

    def root_quat(self, j: int) -> np.ndarray:
        """Pelvis orientation (xyzw) at frame ``j``: somersault about world z, then facing and twist about
        the body's long axis, then the pelvis pitch of the body shape."""
        som = quat_axis_angle("z", self.sense * math.radians(self.somersault_deg[j]))
        turn = quat_axis_angle("y", self.yaw + self.twist_sense * math.radians(self.twist_deg[j]))
        pitch = rot_z(-self.params["pitch"][j])
        return quat_mul(som, quat_mul(turn, pitch))

    def pose(self, j: int) -> Pose:
        """The body at frame ``j`` (before joint noise)."""
        q = {k: float(v[j]) for k, v in self.params.items()}
        pose = Pose.neutral(1.0)
        pose.root_pos = np.asarray(self.root_pos[j], float)
        pose.root_orn = self.root_quat(j)
        pose.joints[LINK["chest"]] = rot_z(-q["chest"])
        pose.joints[LINK["neck"]] = rot_z(-q["neck"])
        for side, name in ((1, "right"), (-1, "left")):
            pose.joints[LINK[f"{name}_hip"]] = limb_rotation(q["hip"], 4.0, 0.0, side)
            pose.joints[LINK[f"{name}_knee"]] = np.array([-math.radians(q["knee"])])
            pose.joints[LINK[f"{name}_ankle"]] = rot_z(-q["ankle"])
            # Shoulder flexion is relative to the chest, which is flexed forward by ``chest``.
            pose.joints[LINK[f"{name}_shoulder"]] = limb_rotation(q["sh_flex"] - q["chest"], q["sh_abd"], 0.0, side)
            pose.joints[LINK[f"{name}_elbow"]] = np.array([math.radians(q["elbow"])])
        return pose


def _flight_time(y0: float, v0: float, y1: float) -> float:
    """Time for a ballistic ``y0 + v0 t - g t^2 / 2`` to fall to ``y1`` (the later root)."""
    return (v0 + math.sqrt(v0 * v0 + 2 * G * (y0 - y1))) / G


def _closure(u: np.ndarray, label: DiveLabel, come_out: float) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Shape closure (0 open, 1 the position's shape), arm wrap (twisting) and the twist's span of
    flight fractions, over the flight fractions ``u``."""
    pos, twists, som = label.position, label.twists, label.somersaults
    if twists > 0:
        tw_span = (0.12, 0.8) if pos in ("free", "straight") else (0.08, 0.42)
        close = _ramp(u, (0.45, 0.55), (come_out, come_out + 0.1)) if pos in ("pike", "tuck") else np.zeros_like(u)
        return close, _ramp(u, (tw_span[0] - 0.07, tw_span[0]), (tw_span[1], tw_span[1] + 0.07)), tw_span
    if som <= 0.5:  # a plain dive: jack-knife (pike, tuck) or swan (straight), open for the entry
        return _ramp(u, (0.05, 0.3), (0.5, 0.8)), np.zeros_like(u), (0.0, 0.0)
    return _ramp(u, (0.04, 0.16), (come_out, come_out + 0.1)), np.zeros_like(u), (0.0, 0.0)


def _somersault(times: np.ndarray, t_c: float, label: DiveLabel, come_out: float) -> np.ndarray:
    """Somersault angle of the body's reference axis at ``times``: starts with the lean on the deck,
    turns faster when closed, reaches the label exactly at water contact (``t_c``).

    Raises:
        ValueError: a step between two frames above :data:`MAX_STEP_DEG` (too few frames).
    """
    fine = np.linspace(-0.12, t_c, 4000)
    uf = fine / t_c
    closef = _closure(uf, label, come_out)[0]
    omega = (1 + SPEEDUP[label.position] * np.where(uf < 0, 0, closef)) * _smoothstep((fine + 0.12) / 0.2)
    cum = np.concatenate([[0.0], np.cumsum((omega[1:] + omega[:-1]) / 2 * np.diff(fine))])
    total = 360.0 * label.somersaults
    somersault = np.interp(times, fine, total * cum / cum[-1], left=0.0, right=total)
    n = len(times)
    step = float(np.abs(np.diff(somersault)).max()) if n > 1 else 0.0
    if step > MAX_STEP_DEG:
        raise ValueError(f"{n} frames are too few for {label.text}: {step:.0f} deg per frame "
                         f"(max {MAX_STEP_DEG:.0f}); use more frames")
    return somersault


def plan_dive(seed: int, cls: int, k: int, videos_per_class: int, frames: tuple[int, int], fps: int) -> DivePlan:
    """The plan of video ``k`` of class ``cls`` (deterministic in its arguments).

    Raises:
        ValueError: when the drawn number of frames cannot show the somersaults without aliasing
            (a rotation step above :data:`MAX_STEP_DEG`).
    """
    label = DIVING48_LABELS[cls]
    i = cls * videos_per_class + k
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)[0])
    split = SPLIT_CYCLE[(k + cls) % len(SPLIT_CYCLE)]
    sector = int(rng.choice(SPLIT_SECTORS[split]))
    palette = int(rng.choice(SPLIT_PALETTES[split]))
    water = int(rng.choice(SPLIT_TEXTURES[split]))
    side = int(rng.choice([-1, 1]))
    height = float(rng.choice(HEIGHTS))
    n = int(rng.integers(frames[0], frames[1] + 1))
    twist_sense = int(rng.choice([-1, 1]))
    v0 = float(rng.uniform(4.5, 5.5) if height <= 3.0 else rng.uniform(2.5, 3.5))
    vx = float(rng.uniform(0.4, 1.1))
    t_up = float(rng.uniform(0.35, 0.5))  # take-off: stand -> crouch -> extension
    come_out = float(rng.uniform(0.72, 0.82))  # flight fraction where the body starts to open

    y0 = height + LEG_LENGTH + 0.05  # pelvis at the end of the extension, on the toes
    t_c = _flight_time(y0, v0, ENTRY_HEIGHT)
    t_end = _flight_time(y0, v0, float(rng.uniform(-0.3, 0.1)))
    times = np.linspace(-t_up, t_end, n)
    u = times / t_c  # flight fraction: 0 take-off, 1 water contact

    pos, twists, som = label.position, label.twists, label.somersaults
    close, wrap, tw_span = _closure(u, label, come_out)
    close = np.where(u < 0, 0.0, close)
    shape = SHAPES["swan" if pos == "straight" and som <= 0.5 else "wrap" if pos == "free" else pos]

    # Joint parameters: take-off (stand, crouch, extend), then flight blended with the shape.
    head_first = (som * 2) % 2 == 1
    exit_pose = LAYOUT_UP if head_first else LAYOUT_SIDE
    tu = (times + t_up) / t_up  # 0 -> 1 over the take-off
    crouch = np.where(tu < 0.55, _smoothstep(tu / 0.55), 1 - _smoothstep((tu - 0.55) / 0.45))
    base_takeoff = _lerp(STAND_UP, CROUCH, crouch)
    open_flight = _lerp(LAYOUT_UP, exit_pose, _ramp(u, (come_out, come_out + 0.12)))
    flight = _lerp(_lerp(open_flight, SHAPES["wrap"], wrap), shape, close)
    params = {k2: np.where(times < 0, base_takeoff[k2], flight[k2]) for k2 in JOINT_KEYS}

    somersault = _somersault(times, t_c, label, come_out)
    twist = 360.0 * twists * _smoothstep((u - tw_span[0]) / max(1e-9, tw_span[1] - tw_span[0])) if twists else 0 * u

    # Pelvis path: standing at the edge (deck top y = height), then ballistic.
    foot_x = -0.15 if label.takeoff in ("forward", "reverse") else -0.12
    thigh = np.radians(params["hip"] - params["pitch"])  # world thigh angle from straight down
    shin = thigh - np.radians(params["knee"])
    stand_y = height + LEG_LENGTH * (np.cos(thigh) * 0.4215 + np.cos(shin) * 0.4099) / (0.4215 + 0.4099)
    fx = np.maximum(times, 0.0)
    root = np.stack([foot_x + vx * fx, np.where(times < 0, stand_y, y0 + v0 * fx - G * fx * fx / 2),
                     np.zeros_like(times)], axis=1)
    stage = np.where(times < 0, "takeoff", np.where(times < t_c, "flight", "entry"))

    speed = (t_end + t_up) / (n / fps)
    return DivePlan(i, cls, k, split, sector, palette, water, side, height, n, fps, round(speed, 4), twist_sense,
                    [round(float(t), 4) for t in times], [str(s) for s in stage],
                    [round(float(a), 3) for a in somersault], [round(float(a), 3) for a in twist],
                    {k2: [round(float(x), 3) for x in v] for k2, v in params.items()},
                    [[round(float(x), 4) for x in r] for r in root])
