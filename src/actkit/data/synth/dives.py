"""``actkit synth dives``: procedural dives for the 48 Diving48 classes, in Diving48's file format.

Every video shows the humanoid doing one dive of :data:`actkit.data.dives.DIVING48_LABELS`
from a platform into water, with a camera that follows it from the side:

* **Take-off.** The diver stands at the platform edge, facing the water (forward, reverse) or
  the platform (back, inward), arms up; crouches with the arms swinging down, extends and leaves
  the deck. The rotation starts on the deck with a lean into the somersault direction: the head
  goes away from the platform for forward and back take-offs, towards it for reverse and inward.
* **Flight.** The pelvis follows a ballistic arc (platform 3-10 m, take-off speed up 2.5-5.5 m/s,
  0.4-1.1 m/s away from the platform). The body's long axis turns about the lateral axis by
  exactly the label's somersaults between the start of the lean and the water contact, faster
  while closed (angular speed x3 in tuck, x2.3 in pike, as a smaller moment of inertia does);
  twists turn the body about its long axis by exactly the label's twists (``twist_deg``),
  in the layout part of the flight, arms wrapped in.
* **Positions** (joint angles of hips, knees, shoulders, elbows, spine): tuck (hips ~125 deg,
  knees ~135 deg, hands on the shins), pike (hips ~135 deg, knees straight, arms to the legs),
  straight (a swan for a plain dive, arms at the sides for somersaults) and free (straight body,
  arms wrapped across the chest while twisting). Twisting pike/tuck dives twist first, then
  close. The pelvis pitches forward by half the hip angle so the body folds about its middle.
* **Entry.** The body comes out straight (arms over the head for head-first entries, i.e. a
  half-somersault remainder, at the sides for feet-first) and the video ends as it sinks into
  the water, with a splash drawn where it enters.

Left and right limbs wear clearly different colours (sleeves and leggings), so a half twist
swaps the colour the side camera sees: twists can be counted.

**Output** (``out/``), in the layout of the official Diving48 release:

* ``rgb/<vid_name>.mp4``; ``vid_name`` is ``synthdive-<NNNNN>`` (the video index; no ``_``, so a Diving48 reader, which takes the part before the last ``_`` as the source video, puts every rendered dive in a group of its own).
* ``Diving48_vocab.json`` (the official 48 rows), ``Diving48_train.json``, ``Diving48_val.json``,
  ``Diving48_test.json``: lists of ``{"vid_name", "label", "start_frame", "end_frame"}`` with
  ``label`` the class index in the vocab and ``[start_frame, end_frame)`` the whole clip.
* ``boxes/<vid_name>.json``: ``{"frames": [[x0, y0, x1, y1] | null, ...]}``, the diver's visible
  pixel box per frame (``x1``, ``y1`` exclusive; under water is not visible).
* ``labels/<vid_name>.json``: per-video ground truth: ``label``, ``vocab`` row, ``dive_number``,
  ``text``, ``somersaults``, ``twists``, per frame ``somersault_deg`` and ``twist_deg``
  (cumulative, unsigned), ``hip_deg`` / ``knee_deg`` (planned flexion), ``stage``
  (``takeoff`` / ``flight`` / ``entry``), ``root_pos``, ``root_quat`` (xyzw), plus the scene
  draws (split, sector, palette, water, platform height, speed).
* ``manifest.csv``, ``summary.json`` and ``render_config.json`` (a re-run into the folder with
  other arguments is refused).

**Honest splits.** Video ``k`` of class ``c`` goes to ``SPLIT_CYCLE[(k + c) % 10]`` (6 train,
2 val, 2 test in every 10), which fixes, as in :mod:`actkit.data.synth.postures`:

* the camera sector: the view direction measured from the travel direction (away from the
  platform), 35-125 deg (from further behind, the platform hides the diver), in 8 bins of
  11.25 deg: train {0, 2, 4, 6}, val {3, 5}, test {1, 7}; the camera side (left / right of
  the diver) is free, so mirroring cannot leak a test view;
* the colour palette family of the swimwear: test {6, 11}, val {3, 9}, train the rest;
* the water texture (a pool of 12 generated from the seed): train 0-7, val 8-9, test 10-11.

Free in every split: camera elevation (-4..20 deg), distance (the diver's link boxes reach 92-110 % of the
half frame), field of view, hand-held jitter, light, backdrop (it scrolls as the camera descends),
platform height and colour, take-off speed, time of come-out, joint noise (2 deg per joint,
fixed per video), twist direction and the number of frames.

**Frames.** ``frames`` (default 32-48, drawn per video) are spread evenly from the start of the
take-off to the end of the entry, so the playback speed (``speed`` in the labels) varies;
a plan whose fastest rotation exceeds :data:`MAX_STEP_DEG` per frame is refused (aliasing).

**Determinism and resuming.** Video ``i = c * videos_per_class + k`` uses
``SeedSequence(seed, spawn_key=(i,))`` (child 0 the plan, child 1 the look) and sets all
renderer state itself, so the output does not depend on ``workers``. Labels and boxes are
written (atomically) before the video (atomically), so a re-run skips finished videos.
"""
from __future__ import annotations

import colorsys
import csv
import io
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .sheets import dives_sheet
from ..video.writer import pick_codec, write_video
from ..dives import DIVING48_LABELS, DIVING48_VOCAB, DiveLabel, format_dive_number, label_to_vocab, parse_dive_number
from .actions import SPLIT_CYCLE
from .mocap import Pose, quat_axis_angle, quat_mul
from .render import HumanoidRenderer, claim_output, process_renderer, render_video_jobs
from .scene import (LEFT_LINKS, LEG_LENGTH, LINK, LINKS, NUM_TEXTURES, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES, SPLITS, Camera, draw_light, make_background, smooth_noise)
from .poses import limb_rotation, rot_z

logger = logging.getLogger(__name__)

G = 9.81
HEIGHTS = (3.0, 5.0, 7.5, 10.0)  # platform heights, metres
SECTOR_RANGE = (35.0, 125.0)  # camera view angle from the travel direction, degrees
NUM_SECTORS = 8
WATER_KEY = 1 << 29  # spawn_key of the water-texture pool, disjoint from video indices
MAX_STEP_DEG = 120.0  # largest somersault rotation allowed between two frames
JOINT_NOISE_DEG = 2.0
ENTRY_HEIGHT = 1.0  # pelvis height at water contact (hands or feet touch the water)
SPEEDUP = {"tuck": 2.0, "pike": 1.3, "straight": 0.0, "free": 0.0}  # extra angular speed when fully closed
MANIFEST_COLUMNS = ("path", "vid_name", "label", "dive_number", "takeoff", "somersaults", "twists", "position",
                    "split", "frames", "fps", "camera_sector", "palette", "water", "height")

# Body shapes as joint-angle parameters (degrees): pitch = pelvis pitched forward from the body's
# reference axis; hip / knee = flexion; ankle = plantar flexion (toes pointed); sh_flex / sh_abd =
# shoulder flexion (forward) / abduction (outward, negative across the chest); elbow = flexion;
# chest / neck = forward flexion.
_KEYS = ("pitch", "hip", "knee", "ankle", "sh_flex", "sh_abd", "elbow", "chest", "neck")
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


# ----------------------------------------------------------------------------- helpers

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
    return {k: np.asarray(a[k], float) * (1 - w) + np.asarray(b[k], float) * w for k in _KEYS}


def resolve_classes(classes) -> list[int]:
    """Class indices from ``classes`` (indices 0-47, dive numbers such as ``"5253B"`` or vocab rows).

    Raises:
        ValueError: naming an entry that is no Diving48 class.
    """
    if classes is None:
        return list(range(len(DIVING48_LABELS)))
    out = []
    for c in classes:
        if isinstance(c, (int, np.integer)) or (isinstance(c, str) and c.isdigit() and len(c) <= 2):
            idx = int(c)
            if not 0 <= idx < len(DIVING48_LABELS):
                raise ValueError(f"class index {c!r} is not in 0..{len(DIVING48_LABELS) - 1}")
        else:
            lab = parse_dive_number(c) if isinstance(c, str) else c if isinstance(c, DiveLabel) else None
            if lab is None and isinstance(c, (list, tuple)) and tuple(c) in DIVING48_VOCAB:
                lab = DIVING48_LABELS[DIVING48_VOCAB.index(tuple(c))]
            plain = None if lab is None else DiveLabel(lab.takeoff, lab.somersaults, lab.twists, lab.position)
            if plain not in DIVING48_LABELS:
                raise ValueError(f"class {c!r} is not one of the 48 Diving48 classes")
            idx = DIVING48_LABELS.index(plain)
        if idx not in out:
            out.append(idx)
    if not out:
        raise ValueError("classes is empty: give Diving48 class indices or dive numbers")
    return sorted(out)


# ----------------------------------------------------------------------------- plan

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

    # Shape closure (0 open, 1 the position's shape) and arm wrap (twisting) over the flight.
    pos, twists = label.position, label.twists
    som = label.somersaults
    if twists > 0:
        tw_span = (0.12, 0.8) if pos in ("free", "straight") else (0.08, 0.42)
        close = _ramp(u, (0.45, 0.55), (come_out, come_out + 0.1)) if pos in ("pike", "tuck") else np.zeros_like(u)
        wrap = _ramp(u, (tw_span[0] - 0.07, tw_span[0]), (tw_span[1], tw_span[1] + 0.07))
    elif som <= 0.5:  # a plain dive: jack-knife (pike, tuck) or swan (straight), open for the entry
        close = _ramp(u, (0.05, 0.3), (0.5, 0.8))
        wrap = np.zeros_like(u)
        tw_span = (0.0, 0.0)
    else:
        close = _ramp(u, (0.04, 0.16), (come_out, come_out + 0.1))
        wrap = np.zeros_like(u)
        tw_span = (0.0, 0.0)
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
    params = {k2: np.where(times < 0, base_takeoff[k2], flight[k2]) for k2 in _KEYS}

    # Somersault angle of the body's reference axis: starts with the lean on the deck, turns faster
    # when closed, reaches the label exactly at water contact.
    fine = np.linspace(-0.12, t_c, 4000)
    uf = fine / t_c
    if twists > 0:
        closef = _ramp(uf, (0.45, 0.55), (come_out, come_out + 0.1)) if pos in ("pike", "tuck") else 0 * uf
    elif som <= 0.5:
        closef = _ramp(uf, (0.05, 0.3), (0.5, 0.8))
    else:
        closef = _ramp(uf, (0.04, 0.16), (come_out, come_out + 0.1))
    omega = (1 + SPEEDUP[pos] * np.where(uf < 0, 0, closef)) * _smoothstep((fine + 0.12) / 0.2)
    cum = np.concatenate([[0.0], np.cumsum((omega[1:] + omega[:-1]) / 2 * np.diff(fine))])
    total = 360.0 * som
    somersault = np.interp(times, fine, total * cum / cum[-1], left=0.0, right=total)
    step = float(np.abs(np.diff(somersault)).max()) if n > 1 else 0.0
    if step > MAX_STEP_DEG:
        raise ValueError(f"{n} frames are too few for {label.text}: {step:.0f} deg per frame "
                         f"(max {MAX_STEP_DEG:.0f}); use more frames")
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


# ----------------------------------------------------------------------------- appearance

@dataclass
class Swimwear:
    """Colours of a diver: suit on the trunk, distinct colours on the right and left limbs (so a half
    twist swaps what a side camera sees), skin on the head, hands and feet."""

    suit: tuple[float, float, float]
    right: tuple[float, float, float]
    left: tuple[float, float, float]
    skin: tuple[float, float, float]

    def link_colors(self) -> list[tuple[float, float, float]]:
        """RGB per link index (what :meth:`HumanoidRenderer.set_outfit` reads)."""
        colors = []
        for i, name in enumerate(LINKS):
            part = name.split("_")[-1]
            if part in ("root", "chest"):
                colors.append(self.suit)
            elif part in ("neck", "wrist", "ankle"):
                colors.append(self.skin)
            else:
                colors.append(self.left if i in LEFT_LINKS else self.right)
        return colors


def draw_swimwear(rng: np.random.Generator, palette: int) -> Swimwear:
    """Swimwear of palette family ``palette`` (its hue sets the right side; the left side is the
    opposite hue and another brightness, so the two sides differ in hue and in grey level)."""
    hue = palette * 30.0 + rng.uniform(-12, 12)
    right = colorsys.hsv_to_rgb((hue % 360) / 360, rng.uniform(0.6, 0.95), rng.uniform(0.75, 0.95))
    left = colorsys.hsv_to_rgb(((hue + 180 + rng.uniform(-20, 20)) % 360) / 360, rng.uniform(0.6, 0.95),
                               rng.uniform(0.25, 0.45))
    suit = colorsys.hsv_to_rgb(((hue + 90 + rng.uniform(-30, 30)) % 360) / 360, rng.uniform(0.2, 0.8),
                               rng.uniform(0.15, 0.6))
    tone = rng.random()
    skin = tuple(np.array([0.96, 0.82, 0.70]) * (1 - tone) + np.array([0.33, 0.21, 0.14]) * tone)
    return Swimwear(tuple(suit), tuple(right), tuple(left), skin)


def make_water_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A pool surface seen from above the water (ripples, tiled floor or lane lines), SxSx3 uint8."""
    hue = rng.uniform(165, 225) / 360
    base = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.35, 0.9), rng.uniform(0.35, 0.85)), np.float32)
    light = np.clip(base * rng.uniform(1.2, 1.6) + 0.1, 0, 1)
    ripples = 0.6 * smooth_noise(rng, size, size, 8) + 0.4 * smooth_noise(rng, size, size, 16)
    m = ripples
    kind = rng.integers(3)
    yy, xx = np.mgrid[0:size, 0:size] / size
    if kind == 1:  # tiled pool floor
        n = int(rng.choice([4, 8]))
        m = 0.7 * m + 0.3 * ((np.abs((yy * n) % 1 - 0.5) > 0.44) | (np.abs((xx * n) % 1 - 0.5) > 0.44))
    elif kind == 2:  # a lane line
        m = 0.7 * m + 0.3 * (np.abs(xx - 0.5) < 0.06)
    m = (m - m.min()) / (m.max() - m.min() + 1e-6)
    return (255 * (base + m[..., None] * (light - base))).clip(0, 255).astype(np.uint8)


def _water_index(renderer: HumanoidRenderer, seed: int, water: int) -> int:
    """Pool index of water texture ``water`` of dataset ``seed`` (registered once per renderer)."""
    ss = np.random.SeedSequence(seed, spawn_key=(WATER_KEY, water))
    return renderer.add_ground_texture(make_water_texture(np.random.default_rng(ss)), key=f"dive-water-{seed}-{water}")


# ----------------------------------------------------------------------------- rendering one video

def _project(cam: Camera, point: np.ndarray, size: int) -> tuple[float, float, float]:
    """Pixel column, row and pixels per metre of world ``point`` seen by ``cam`` (square image)."""
    eye = cam.eye()
    fwd = np.asarray(cam.target, float) - eye
    fwd /= np.linalg.norm(fwd)
    right = np.array([-fwd[2], 0.0, fwd[0]])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    rel = point - eye
    z = max(float(rel @ fwd), 1e-3)
    tan = math.tan(math.radians(cam.fov) / 2)
    col = (0.5 + 0.5 * float(rel @ right) / (z * tan)) * size
    row = (0.5 - 0.5 * float(rel @ up) / (z * tan)) * size
    return col, row, size / (2 * z * tan)


def _draw_splash(img: np.ndarray, col: float, row: float, ppm: float, amount: float, rng: np.random.Generator) -> None:
    """Blend a white splash (a column of spray and droplets) rising from the water at pixel (``col``, ``row``)."""
    h, w = img.shape[:2]
    height_m, width_m = 0.15 + 0.75 * amount, 0.3 + 0.35 * amount
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = (xx - col) / max(1.0, width_m * ppm)
    dy = (row - yy) / max(1.0, height_m * ppm)  # up is positive
    body = np.clip(1 - dx * dx - (dy - 0.3) ** 2 / 0.5, 0, 1) * (dy > -0.15)
    ring = np.clip(1 - np.abs(np.hypot(dx * 0.8, (dy + 0.05) * 3) - 1.0) * 4, 0, 1)  # the crown on the water
    noise = smooth_noise(rng, h, w, max(2, int(ppm * 0.25 + 2)))
    alpha = np.clip((np.maximum(body, 0.7 * ring) * (0.6 + 0.6 * noise)) * (0.5 + 0.5 * amount), 0, 0.95)
    for _ in range(int(6 + 10 * amount)):  # droplets
        cx = col + rng.normal(0, 0.6) * width_m * ppm
        cy = row - rng.uniform(0, 1.2) * height_m * ppm
        r = max(0.7, rng.uniform(0.02, 0.05) * ppm)
        alpha = np.maximum(alpha, 0.9 * ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r))
    white = np.array([235, 245, 250], np.float32)
    img[:] = (img * (1 - alpha[..., None]) + white * alpha[..., None]).astype(np.uint8)


def render_dive(renderer: HumanoidRenderer, plan: DivePlan, seed: int, size: int,
                return_poses: bool = False):
    """Render ``plan``: ``(images, boxes)`` (and the posed bodies when ``return_poses``)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(plan.index,)).spawn(2)[1])
    noise_seed = int(rng.integers(1 << 31))
    poses, centres, corners, lows = [], [], [], []
    for j in range(plan.frames):
        pose = plan.pose(j).jittered(np.random.default_rng(noise_seed), JOINT_NOISE_DEG)  # same offsets every frame
        renderer.set_pose(pose)
        aabbs = renderer.link_aabbs()
        c = np.concatenate([aabbs[:, 0], aabbs[:, 1]])
        poses.append(pose)
        corners.append(c)
        centres.append((c.min(axis=0) + c.max(axis=0)) / 2)
        lows.append(float(aabbs[:, 0, 1].min()))
    centres = np.array(centres)
    # The camera follows the body's centre, smoothed a little, with hand-held jitter.
    kernel = np.array([1, 4, 6, 4, 1], float) / 16
    # Pad by point reflection (linear extrapolation): repeating the ends would make the target lag
    # behind the fast fall at the entry.
    pad = np.concatenate([2 * centres[:1] - centres[2:0:-1], centres, 2 * centres[-1:] - centres[-2:-4:-1]])
    targets = np.stack([np.convolve(pad[:, d], kernel, mode="valid") for d in range(3)], axis=1)
    reach = max(float(np.linalg.norm(c - t, axis=1).max()) for c, t in zip(corners, targets))
    fov = rng.uniform(35, 55)
    # Link boxes overstate the body, so a reach of 100-110 % of the half frame still keeps the diver in view.
    distance = reach / (rng.uniform(0.92, 1.1) * math.tan(math.radians(fov) / 2))
    jitter = np.cumsum(rng.normal(0, 0.012 * reach, (plan.frames, 3)), axis=0)
    targets = targets + jitter - jitter.mean(axis=0)
    lo, hi = SECTOR_RANGE
    width = (hi - lo) / NUM_SECTORS
    view = lo + (plan.sector + rng.uniform(0, 1)) * width
    azimuth = plan.side * view
    elevation = rng.uniform(-4, 20)
    drift = rng.uniform(-4, 4), rng.uniform(-3, 3)

    renderer.set_outfit(draw_swimwear(rng, plan.palette))
    renderer.set_light(draw_light(rng))
    tile = rng.uniform(1.5, 3.5)
    renderer.set_ground_texture(_water_index(renderer, seed, plan.water), tuple(rng.uniform(0.85, 1.1, 3)), tile,
                                tuple(rng.uniform(0, tile, 2)))
    grey = rng.uniform(0.45, 0.9)
    renderer.place_prop("platform", (0.0, plan.height, 0.0), 0.0, tuple(np.clip(grey + rng.uniform(-0.06, 0.06, 3), 0, 1)))
    # A tall backdrop that scrolls up as the camera descends (a fixed one hides the fall).
    extra = 2 * size
    backdrop = make_background(rng, size + extra, size)
    px_per_m = size / (2 * distance * math.tan(math.radians(fov) / 2))
    parallax = rng.uniform(0.25, 0.5)

    images, boxes = [], []
    touch = next((j for j, low in enumerate(lows) if low < 0.0), None)
    for j, pose in enumerate(poses):
        u = j / max(1, plan.frames - 1)
        renderer.set_pose(pose)
        tgt = targets[j]
        el = elevation + drift[1] * u
        min_el = math.degrees(math.asin(min(1.0, max(-1.0, (0.5 - tgt[1]) / distance))))  # eye above the water
        cam = Camera(tuple(tgt), distance, azimuth + drift[0] * u, max(el, min_el), fov)
        renderer.set_camera(cam)
        shift = int(np.clip((targets[0, 1] - tgt[1]) * px_per_m * parallax, 0, extra))
        renderer.set_background(np.ascontiguousarray(backdrop[shift:shift + size]))
        rgb, box = renderer.render(size, size)
        if touch is not None and j >= touch:
            entry = np.array([pose.root_pos[0], 0.0, pose.root_pos[2]])
            col, row, ppm = _project(cam, entry, size)
            amount = min(1.0, (j - touch + 1) / 3)
            rgb = rgb.copy()
            _draw_splash(rgb, col, row, ppm, amount, rng)
        images.append(rgb)
        boxes.append(None if box is None else list(box))
    renderer.hide_props()
    return (images, boxes, poses) if return_poses else (images, boxes)


def label_record(plan: DivePlan, boxes: list | None = None) -> dict:
    """The per-video ground truth of ``plan`` (see the module docstring)."""
    lab = plan.label
    return {
        "vid_name": plan.vid_name, "label": plan.cls, "vocab": label_to_vocab(lab), "dive_number": format_dive_number(lab),
        "text": lab.text, "takeoff": lab.takeoff, "somersaults": lab.somersaults, "twists": lab.twists,
        "position": lab.position, "fps": plan.fps, "frames": plan.frames, "speed": plan.speed,
        "split": plan.split, "camera_sector": plan.sector, "camera_side": "right" if plan.side > 0 else "left",
        "palette": plan.palette, "water": plan.water, "height": plan.height,
        "somersault_sense": "away" if plan.sense < 0 else "towards", "twist_sense": plan.twist_sense,
        "times": plan.times, "stage": plan.stage, "somersault_deg": plan.somersault_deg, "twist_deg": plan.twist_deg,
        "hip_deg": plan.params["hip"], "knee_deg": plan.params["knee"], "root_pos": plan.root_pos,
        "root_quat": [[round(float(x), 5) for x in plan.root_quat(j)] for j in range(plan.frames)],
        "boxes": boxes,
    }


# ----------------------------------------------------------------------------- workers

def _render_job(args: tuple) -> tuple[int, int, float]:
    plan, out, seed, size, codec = args
    from actkit.utils.io import atomic_write_json

    start = time.perf_counter()
    images, boxes = render_dive(process_renderer(), plan, seed, size)
    render_s = time.perf_counter() - start
    out = Path(out)
    # Labels and boxes first: an existing video then always has both.
    atomic_write_json(out / "labels" / f"{plan.vid_name}.json", label_record(plan, boxes), indent=None)
    atomic_write_json(out / "boxes" / f"{plan.vid_name}.json", {"frames": boxes}, indent=None)
    write_video(out / "rgb" / f"{plan.vid_name}.mp4", images, plan.fps, codec)
    return plan.index, len(images), render_s


# ----------------------------------------------------------------------------- the set

def render_dives(out: str | Path, videos_per_class: int = 4, frames: int | tuple[int, int] = (32, 48),
                 size: int = 112, fps: int = 25, seed: int = 0, workers: int = 2, classes=None,
                 sheet: str | Path | None = None, progress: bool | None = None) -> dict:
    """Render procedural dives of the Diving48 classes into ``out`` in Diving48 format (see the module docstring).

    Args:
        out: output folder; an interrupted run into it resumes (finished videos are kept).
        videos_per_class: videos per class.
        frames: frames per video, or ``(min, max)`` drawn per video (>= 32 recommended for counting
            somersaults; fewer are refused when the rotation would alias).
        size: video side in pixels (even, >= 32).
        fps: frame rate written into the videos.
        seed: dataset seed; same seed and arguments give the same output for any ``workers``.
        workers: rendering processes; 1 renders in-process.
        classes: subset of classes: indices 0-47, dive numbers (``"5253B"``) or vocab rows (default: all 48).
        sheet: optional contact-sheet PNG: one row per class, frames across its first video.
        progress: show a progress bar (default: when stderr is a terminal).

    Returns:
        The summary also written to ``out/summary.json``.

    Raises:
        ValueError: for bad arguments (naming them), unknown classes, too few frames for a class's
            somersaults, or a folder rendered with other arguments.
    """
    from actkit.utils.io import atomic_write, atomic_write_json

    if isinstance(frames, (int, np.integer)):
        lo_f = hi_f = int(frames)
    elif isinstance(frames, (tuple, list)) and len(frames) == 2:
        lo_f, hi_f = int(frames[0]), int(frames[1])
    else:
        raise ValueError(f"frames={frames!r}: give one number or (min, max)")
    if not 8 <= lo_f <= hi_f:
        raise ValueError(f"frames={frames!r}: need 8 <= min <= max")
    if videos_per_class < 1:
        raise ValueError(f"videos_per_class={videos_per_class!r}: need >= 1")
    if workers < 1:
        raise ValueError(f"workers={workers!r}: need >= 1")
    if fps < 1:
        raise ValueError(f"fps={fps!r}: need >= 1")
    if size < 32 or size % 2:
        raise ValueError(f"size={size!r}: need an even size >= 32")
    idx = resolve_classes(classes)
    out = Path(out)
    plans = [plan_dive(seed, c, k, videos_per_class, (lo_f, hi_f), fps) for c in idx for k in range(videos_per_class)]
    config = {"videos_per_class": videos_per_class, "frames": [lo_f, hi_f], "size": size, "fps": fps, "seed": seed,
              "classes": idx}
    claim_output(out, config, ("rgb/.*.mp4", "labels/.*.json", "boxes/.*.json"))

    start = time.perf_counter()
    codec = pick_codec()
    todo = [p for p in plans if not all((out / d / f"{p.vid_name}{ext}").is_file()
                                        for d, ext in (("rgb", ".mp4"), ("labels", ".json"), ("boxes", ".json")))]
    jobs = [(p, str(out), seed, size, codec) for p in todo]
    rendered_frames, render_s = render_video_jobs(_render_job, jobs, workers, (seed, NUM_TEXTURES), "dives", progress)
    seconds = time.perf_counter() - start

    atomic_write_json(out / "Diving48_vocab.json", [list(r) for r in DIVING48_VOCAB])
    for split in SPLITS:
        rows = [{"vid_name": p.vid_name, "label": p.cls, "start_frame": 0, "end_frame": p.frames}
                for p in plans if p.split == split]
        atomic_write_json(out / f"Diving48_{split}.json", rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for p in plans:
        lab = p.label
        writer.writerow([f"rgb/{p.vid_name}.mp4", p.vid_name, p.cls, format_dive_number(lab), lab.takeoff,
                         lab.somersaults, lab.twists, lab.position, p.split, p.frames, fps, p.sector, p.palette,
                         p.water, p.height])
    with atomic_write(out / "manifest.csv", "w") as f:
        f.write(buf.getvalue())

    summary = {
        "out": str(out), **config, "workers": workers, "videos": len(plans), "rendered": len(todo),
        "skipped": len(plans) - len(todo), "splits": dict(Counter(p.split for p in plans)),
        "frames_total": sum(p.frames for p in plans), "codec": codec, "container": "mp4",
        "labels": "labels/<vid_name>.json", "boxes": "boxes/<vid_name>.json",
        "seconds": round(seconds, 2),
        "frames_per_s": round(rendered_frames / seconds, 1) if rendered_frames else None,
        "render_ms_per_frame": round(1000 * render_s / rendered_frames, 2) if rendered_frames else None,
        "sheet": None,
    }
    if sheet is not None:
        dives_sheet(out, [next(p for p in plans if p.cls == c) for c in idx], sheet)
        summary["sheet"] = str(sheet)
    atomic_write_json(out / "summary.json", summary)
    logger.info("dives: %d videos in %s (%d rendered) in %.1f s", len(plans), out, len(todo), seconds)
    return summary


__all__ = ["DivePlan", "Swimwear", "draw_swimwear", "label_record", "make_water_texture", "plan_dive",
           "render_dive", "render_dives", "resolve_classes"]
