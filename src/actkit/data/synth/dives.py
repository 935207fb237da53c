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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sheets import dives_sheet
from ..video.writer import pick_codec, write_video
from ..dives import DIVING48_LABELS, DIVING48_VOCAB, DiveLabel, format_dive_number, label_to_vocab, parse_dive_number
from .render import HumanoidRenderer, claim_output, process_renderer, render_video_jobs
from .scene import (LEFT_LINKS, LINKS, NUM_TEXTURES, SPLITS, Camera, draw_light, make_background, smooth_noise)
from .dive_plan import DivePlan, SECTOR_RANGE, plan_dive

logger = logging.getLogger(__name__)

NUM_SECTORS = 8
WATER_KEY = 1 << 29  # spawn_key of the water-texture pool, disjoint from video indices
JOINT_NOISE_DEG = 2.0
MANIFEST_COLUMNS = ("path", "vid_name", "label", "dive_number", "takeoff", "somersaults", "twists", "position",
                    "split", "frames", "fps", "camera_sector", "palette", "water", "height")


# ----------------------------------------------------------------------------- helpers


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

def _check_args(frames: int | tuple[int, int], videos_per_class: int, workers: int, fps: int,
                size: int) -> tuple[int, int]:
    """The (min, max) frames per video; ValueError naming a bad argument."""
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
    return lo_f, hi_f


def _write_lists(out: Path, plans: list[DivePlan], fps: int) -> None:
    """Diving48's vocabulary and split JSONs, and the manifest CSV (atomically)."""
    from actkit.utils.io import atomic_write, atomic_write_json

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
    from actkit.utils.io import atomic_write_json

    lo_f, hi_f = _check_args(frames, videos_per_class, workers, fps, size)
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

    _write_lists(out, plans, fps)

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
