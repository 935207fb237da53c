"""``actkit synth postures``: rendered person crops labelled standing / sitting / lying from body geometry.

Every sample draws a body from one of three sources, renders it, and labels it from where
its joints are, never from the source that made it:

* ``mocap``: a random instant (optionally mirrored, jittered, turned) of one of pybullet's 15
  motion-capture clips; walk, run, dance, punch, kick, spin give standing bodies, the start of
  the getup clips, the low phases of the (belly) crawl and parts of roll give lying ones, and
  much of backflip, cartwheel, roll is ambiguous and gets dropped.
* ``sit_chair`` / ``sit_stool`` / ``sit_box`` / ``sit_bench``: procedural seated bodies (the clips
  have none): thighs 75-110 deg from vertical, knees bent 60-120 deg, feet flat on the floor, the
  pelvis pitched -15..20 deg (sometimes up to 40, which the geometry may refuse), random arms,
  resting on a seat whose height follows the legs. ``sit_ground``: legs stretched forward to
  knees drawn up (thighs 88-145 deg), heels on the ground.
* ``stand`` / ``lie``: procedural idle standing (varied arms, weight shift) and lying on the back,
  front or side with random limbs, so the classes are not dominated by the clips' content.

**Labels from geometry** (:func:`measure_posture`, :func:`label_posture`): from the joint
positions we measure the torso angle (pelvis -> neck, degrees from vertical), each thigh angle
(hip -> knee, degrees from straight down), the pelvis height above the ground and above its
support (seat top or ground), the neck height and the lowest foot height, all in leg lengths
(hip to sole, 0.88 m). Then

* ``lying``: torso > 60 deg, pelvis < 0.42, neck < 0.5 and feet < 0.45 leg lengths above the
  ground, thighs < 135 deg (not a shoulder stand or a backward roll);
* ``standing``: torso < 35 deg, both thighs < 30 deg, pelvis > 0.8 leg lengths up, a foot on
  the ground (< 0.12);
* ``sitting``: torso < 45 deg, mean thigh > 55 deg and each > 35 deg, and the pelvis resting on
  its support (< 0.2 leg lengths above it) -- a crouch in mid-air is not sitting;
* anything else (backflip, all fours, lunges, kneeling, reclining) is ambiguous: the draw is
  dropped and the sample draws again (up to 10 times), so a posed seat the geometry rejects is
  never labelled sitting. ``dropped`` in the summary counts these draws per generator.

A rendered view is redrawn as well when the person is cut by the frame or tiny (``not_visible``)
or when a lying body is seen end-on, its box taller than wide (``lying_end_on``): the geometry
says lying, but the crop looks like an upright figure.

**Honest splits.** Each sample's split is drawn first (70 / 15 / 15 %); the split then fixes

* the camera azimuth sector, measured from the body's facing direction (8 sectors of 45 deg,
  sector 0 centred on the front, 2 on the person's right, 4 behind, 6 on the left):
  train {0, 2, 4, 6}, val {3, 5}, test {1, 7}. Both mirror images of a held-out diagonal are
  held out, so left-right mirroring cannot leak a test viewpoint into train;
* the clothes palette (12 families: shirt hue 30 * p +- 12 deg, trousers hue opposite):
  train {0, 1, 2, 4, 5, 7, 8, 10}, val {3, 9}, test {6, 11};
* the ground texture (pool of 12 generated from the seed): train 0-7, val 8-9, test 10-11.

Backgrounds, light, skin tone, seat colour and the body itself are drawn freely for every split.

**Determinism.** Sample ``i`` uses ``numpy.random.SeedSequence(seed, spawn_key=(i,))`` (what
``SeedSequence(seed).spawn`` gives the i-th child) and sets every piece of renderer state
itself, so the Parquet content does not depend on ``workers``.
"""
from __future__ import annotations

import colorsys
import contextlib
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sheets import postures_sheet
from .mocap import CLIP_NAMES, Pose, load_clip, quat_axis_angle, quat_rotate
from .render import HumanoidRenderer, init_process_renderer, process_renderer, run_jobs
from .scene import (LEG_LENGTH, LINK, NUM_SECTORS, NUM_TEXTURES, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES,
                    SPLIT_WEIGHTS, SPLITS, Camera, draw_light, draw_outfit, make_background)
from .poses import lie_pose, sit_pose, stand_pose

logger = logging.getLogger(__name__)

LABELS = ("lying", "sitting", "standing")  # sorted: class_id is the index
RENDER_SIZE = 128
MAX_DRAWS = 10

# Generator mix, tuned so that after geometric rejection the classes come out near
# 40 % standing, 35 % sitting, 25 % lying.
GENERATORS = {"mocap": 0.36, "stand": 0.20, "sit_chair": 0.095, "sit_stool": 0.04, "sit_box": 0.04,
              "sit_bench": 0.035, "sit_ground": 0.05, "lie": 0.18}
CLIP_WEIGHTS = {"walk": 2.0, "run": 1.5, "dance_a": 1.5, "dance_b": 1.5, "punch": 1.5, "kick": 1.0, "spin": 1.0,
                "spinkick": 0.7, "jump": 1.0, "getup_faceup": 2.0, "getup_facedown": 2.0, "roll": 1.0,
                "crawl": 0.5, "backflip": 0.5, "cartwheel": 0.5}
SEAT_OFFSET = 0.05  # root joint above the seat top when the buttocks rest on it


# ----------------------------------------------------------------------------- geometry labels

@dataclass(frozen=True)
class PostureGeometry:
    """Body measurements a posture label is decided from (angles in degrees, heights in leg lengths)."""

    torso_angle: float
    thigh_angles: tuple[float, float]
    pelvis_height: float
    pelvis_rest: float
    neck_height: float
    foot_height: float

    @property
    def thigh_angle(self) -> float:
        """Mean of the two thigh angles."""
        return float(np.mean(self.thigh_angles))


def _angle(v: np.ndarray, ref: np.ndarray) -> float:
    cos = float(np.dot(v, ref)) / (math.sqrt(float(np.dot(v, v)) * float(np.dot(ref, ref))) + 1e-12)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def measure_posture(frames: np.ndarray, aabbs: np.ndarray, support_height: float = 0.0) -> PostureGeometry:
    """Measure a posed body.

    Args:
        frames: (15, 3) joint positions by link index (:meth:`HumanoidRenderer.link_frames`).
        aabbs: (15, 2, 3) link bounds (:meth:`HumanoidRenderer.link_aabbs`), for the feet.
        support_height: height of what the pelvis may rest on (seat top; 0 for the ground).
    """
    up, down = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0])
    pelvis = frames[LINK["root"]]
    thighs = tuple(_angle(frames[LINK[f"{s}_knee"]] - frames[LINK[f"{s}_hip"]], down) for s in ("right", "left"))
    foot = min(aabbs[LINK["right_ankle"], 0, 1], aabbs[LINK["left_ankle"], 0, 1])
    return PostureGeometry(
        torso_angle=_angle(frames[LINK["neck"]] - pelvis, up),
        thigh_angles=thighs,
        pelvis_height=float(pelvis[1] / LEG_LENGTH),
        pelvis_rest=float((pelvis[1] - support_height) / LEG_LENGTH),
        neck_height=float(frames[LINK["neck"]][1] / LEG_LENGTH),
        foot_height=float(foot / LEG_LENGTH),
    )


def label_posture(g: PostureGeometry) -> str | None:
    """``"lying"``, ``"sitting"``, ``"standing"`` or ``None`` (ambiguous) for measured geometry."""
    if g.torso_angle > 60 and g.pelvis_height < 0.42 and g.neck_height < 0.5 and g.foot_height < 0.45 \
            and max(g.thigh_angles) < 135:
        return "lying"
    if g.torso_angle < 35 and max(g.thigh_angles) < 30 and g.pelvis_height > 0.8 and g.foot_height < 0.12:
        return "standing"
    if g.torso_angle < 45 and g.thigh_angle > 55 and min(g.thigh_angles) > 35 and g.pelvis_rest < 0.2:
        return "sitting"
    return None


# ----------------------------------------------------------------------------- procedural bodies


# ----------------------------------------------------------------------------- one sample

@dataclass
class _Scene:
    pose: Pose
    support: float
    generator: str
    source: str
    prop: tuple | None = None  # (name, position, yaw, colour)


def _rest_on_ground(renderer: HumanoidRenderer, pose: Pose) -> Pose:
    """Translate ``pose`` vertically so its lowest point touches the ground."""
    renderer.set_pose(pose)
    pose.root_pos = pose.root_pos - np.array([0.0, renderer.lowest_point(), 0.0])
    renderer.set_pose(pose)
    return pose


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[k] for k in names])
    return names[rng.choice(len(names), p=p / p.sum())]


def _draw_scene(renderer: HumanoidRenderer, rng: np.random.Generator) -> _Scene:
    gen = _pick(rng, GENERATORS)
    yaw = rng.uniform(0, 2 * np.pi)
    if gen == "mocap":
        clip = load_clip(_pick(rng, CLIP_WEIGHTS))
        # The getup clips start lying: favour their first third, which is otherwise short.
        frac = rng.uniform(0, 0.35) if clip.name.startswith("getup") and rng.random() < 0.6 else rng.random()
        pose = clip.pose_at(frac * clip.duration, mirror=bool(rng.random() < 0.5)).jittered(rng, 6.0)
        pose.root_pos = pose.root_pos * np.array([0.0, 1.0, 0.0])
        pose = pose.transformed(yaw)
        renderer.set_pose(pose)
        low = renderer.lowest_point()
        if low < 0:  # some keyframes sink a few cm into the floor
            pose.root_pos[1] -= low
            renderer.set_pose(pose)
        return _Scene(pose, 0.0, gen, clip.name)
    if gen == "stand":
        return _Scene(_rest_on_ground(renderer, stand_pose(rng, yaw)), 0.0, gen, gen)
    if gen == "lie":
        return _Scene(_rest_on_ground(renderer, lie_pose(rng, yaw)), 0.0, gen, gen)
    if gen == "sit_ground":
        pose = _rest_on_ground(renderer, sit_pose(rng, yaw, on_ground=True))
        return _Scene(pose, 0.0, gen, gen)
    # On a seat: feet on the floor (or dangling a little), seat top under the buttocks.
    pose = sit_pose(rng, yaw, on_ground=False)
    renderer.set_pose(pose)
    feet_below_root = pose.root_pos[1] - renderer.lowest_point()
    root_y = feet_below_root + (0.0 if rng.random() < 0.7 else rng.uniform(0, 0.08))
    seat = max(root_y - SEAT_OFFSET, 0.25)
    pose.root_pos = np.array([0.0, seat + SEAT_OFFSET, 0.0])
    renderer.set_pose(pose)
    forward = quat_rotate(quat_axis_angle("y", yaw), np.array([1.0, 0.0, 0.0]))
    position = (0.05 * forward[0], seat, 0.05 * forward[2])
    # Prop yaw: its front (+x) along the body's forward; about +y a positive angle turns +x to -z.
    prop_yaw = math.atan2(-forward[2], forward[0])
    color = tuple(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.1, 0.8), rng.uniform(0.25, 0.9)))
    return _Scene(pose, seat, gen, gen, (gen.split("_")[1], position, prop_yaw, color))


def labelled_pose(renderer: HumanoidRenderer, rng: np.random.Generator) -> tuple[str, Pose]:
    """A random body (the postures set's generators) set on ``renderer``, with its label from its geometry;
    ambiguous draws are redrawn. For sets that need the pose without a picture (keypoint skeletons)."""
    for _ in range(MAX_DRAWS * 4):
        renderer.hide_props()
        scene = _draw_scene(renderer, rng)
        label = label_posture(measure_posture(renderer.link_frames(), renderer.link_aabbs(), scene.support))
        if label is not None:
            return label, scene.pose
    raise RuntimeError(f"no unambiguous posture in {MAX_DRAWS * 4} draws")


def _facing(frames: np.ndarray) -> np.ndarray:
    """Horizontal facing direction: perpendicular to the hip axis, or along the torso when the hips
    are stacked vertically (lying on the side)."""
    right = frames[LINK["right_hip"]] - frames[LINK["left_hip"]]
    right_h = right * np.array([1.0, 0.0, 1.0])
    if np.linalg.norm(right_h) > 0.3 * np.linalg.norm(right):
        fwd = np.array([right_h[2], 0.0, -right_h[0]])  # (0, 1, 0) x right
    else:
        fwd = (frames[LINK["neck"]] - frames[LINK["root"]]) * np.array([1.0, 0.0, 1.0])
    return fwd / (np.linalg.norm(fwd) + 1e-12)


def _camera(rng: np.random.Generator, frames: np.ndarray, aabbs: np.ndarray, sector: int) -> Camera:
    pelvis = frames[LINK["root"]]
    fwd = _facing(frames)
    az_rel = sector * 360.0 / NUM_SECTORS + rng.uniform(-0.5, 0.5) * 360.0 / NUM_SECTORS
    azimuth = math.degrees(math.atan2(fwd[2], fwd[0])) + az_rel
    corners = np.concatenate([aabbs[:, 0], aabbs[:, 1]])
    reach = float(np.linalg.norm(corners - pelvis, axis=1).max())
    fov = rng.uniform(35, 60)
    distance = reach / (rng.uniform(0.42, 0.58) * math.tan(math.radians(fov) / 2))
    target = pelvis + rng.normal(0, 0.04 * reach, 3)
    elevation = rng.uniform(-5, 35)
    # Keep the eye at least 0.8 m above the floor, as mounted or hand-held cameras are: lower, it sees
    # a lying body edge-on (or sinks into the floor).
    min_el = math.degrees(math.asin(min(1.0, max(-1.0, (0.8 - target[1]) / distance))))
    return Camera(tuple(target), distance, azimuth, max(elevation, min_el), fov)


def _crop(rgb: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator, max_side: int):
    """Crop around ``box`` with a 15-35 % context margin per side, downscale to ``max_side``; return the
    crop and the box relative to it."""
    from PIL import Image

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    m = rng.uniform(0.15, 0.35, 4)
    cx0, cy0 = max(0, int(math.floor(x0 - m[0] * bw))), max(0, int(math.floor(y0 - m[1] * bh)))
    cx1, cy1 = min(w, int(math.ceil(x1 + m[2] * bw))), min(h, int(math.ceil(y1 + m[3] * bh)))
    crop = rgb[cy0:cy1, cx0:cx1]
    cw, ch = cx1 - cx0, cy1 - cy0
    scale = min(1.0, max_side / max(cw, ch))
    if scale < 1.0:
        size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
        crop = np.asarray(Image.fromarray(crop).resize(size, Image.BILINEAR))
    rel = [(x0 - cx0) / cw, (y0 - cy0) / ch, (x1 - cx0) / cw, (y1 - cy0) / ch]
    return crop, rel


def render_sample(renderer: HumanoidRenderer, seed: int, index: int,
                  max_side: int = 96) -> tuple[dict | None, Counter]:
    """Render sample ``index`` of a postures set; deterministic in ``(seed, index)``.

    Returns:
        ``(row, dropped)``: the Parquet row (``None`` if no draw passed in :data:`MAX_DRAWS`) and
        the count of rejected draws by reason (``ambiguous:<generator>``, ``not_visible``,
        ``lying_end_on``).
    """
    from actkit.data.schema import encode_png

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    split = SPLITS[rng.choice(len(SPLITS), p=SPLIT_WEIGHTS)]
    dropped: Counter = Counter()
    for _ in range(MAX_DRAWS):
        renderer.hide_props()
        scene = _draw_scene(renderer, rng)
        frames, aabbs = renderer.link_frames(), renderer.link_aabbs()
        geom = measure_posture(frames, aabbs, scene.support)
        label = label_posture(geom)
        if label is None:
            dropped[f"ambiguous:{scene.generator}"] += 1
            continue
        if scene.prop is not None:
            renderer.place_prop(*scene.prop)
        sector = int(rng.choice(SPLIT_SECTORS[split]))
        palette = int(rng.choice(SPLIT_PALETTES[split]))
        renderer.set_camera(_camera(rng, frames, aabbs, sector))
        renderer.set_outfit(draw_outfit(rng, palette))
        renderer.set_light(draw_light(rng))
        tile = rng.uniform(0.8, 2.5)
        renderer.set_ground_texture(int(rng.choice(SPLIT_TEXTURES[split])), tuple(rng.uniform(0.8, 1.1, 3)),
                                    tile, tuple(rng.uniform(0, tile, 2)))
        renderer.set_background(make_background(rng, RENDER_SIZE, RENDER_SIZE))
        rgb, box = renderer.render(RENDER_SIZE, RENDER_SIZE)
        # A person cut by the frame or only a sliver would make a misleading crop.
        if box is None or min(box[:2]) <= 0 or box[2] >= RENDER_SIZE or box[3] >= RENDER_SIZE \
                or max(box[2] - box[0], box[3] - box[1]) < 16:
            dropped["not_visible"] += 1
            continue
        # Seen from the head or the feet, a lying body is foreshortened into an upright-looking
        # figure that people read as standing or jumping (about 9 % of lying views): redraw.
        if label == "lying" and box[3] - box[1] > box[2] - box[0]:
            dropped["lying_end_on"] += 1
            continue
        crop, rel = _crop(rgb, box, rng, max_side)
        return {
            "split": split, "label": label, "class_id": LABELS.index(label), "image_bytes": encode_png(crop),
            "group": f"postures-{seed}-{index:06d}", "width": crop.shape[1], "height": crop.shape[0],
            "source": f"synth:postures:{scene.source}", "box": [float(v) for v in rel],
            "camera_sector": sector, "palette": palette, "generator": scene.generator,
            "torso_angle": geom.torso_angle, "thigh_angle": geom.thigh_angle,
        }, dropped
    return None, dropped


# ----------------------------------------------------------------------------- workers

def _init_worker(seed: int, num_textures: int) -> None:
    init_process_renderer(seed, num_textures)
    for name in CLIP_NAMES:  # parse the motion files once per process, not per sample
        load_clip(name)


def _render_chunk(args: tuple[int, list[int], int]) -> tuple[list[tuple[int, dict | None]], Counter]:
    seed, indices, max_side = args
    rows, dropped = [], Counter()
    for i in indices:
        row, d = render_sample(process_renderer(), seed, i, max_side)
        rows.append((i, row))
        dropped.update(d)
    return rows, dropped


COLUMN_TYPES = {"split": "string", "label": "string", "class_id": "int64", "image_bytes": "binary",
                "group": "string", "width": "int32", "height": "int32", "source": "string",
                "box": "list<float32>", "camera_sector": "int32", "palette": "int32", "generator": "string",
                "torso_angle": "float32", "thigh_angle": "float32"}


def _table(rows: list[dict]):
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "int32": pa.int32(), "binary": pa.binary(),
             "float32": pa.float32(), "list<float32>": pa.list_(pa.float32())}
    return pa.table({col: pa.array([r[col] for r in rows], type=types[t]) for col, t in COLUMN_TYPES.items()})


def render_postures(out: str | Path, n: int = 3000, seed: int = 0, workers: int = 2,
                    sheet: str | Path | None = None, max_side: int = 96, progress: bool | None = None) -> dict:
    """Render ``n`` labelled person crops to a Parquet file (see the module docstring for the scheme).

    Args:
        out: destination ``.parquet`` path (written atomically).
        n: number of samples; each draws bodies until the geometry gives a clear label (a sample
            still ambiguous after :data:`MAX_DRAWS` draws is left out, see ``failed``).
        seed: dataset seed; same seed and arguments give identical content for any ``workers``.
        workers: rendering processes (each with its own pybullet connection); 1 renders in-process.
        sheet: optional PNG path for a contact sheet (12 crops per label, box drawn).
        max_side: longest side of the stored crops in pixels.
        progress: show a progress bar (default: when stderr is a terminal).

    Returns:
        A summary: ``path``, ``n``, ``rows``, ``labels`` and ``splits`` (counts), ``dropped`` (rejected
        draws by reason), ``failed``, ``seconds``, ``samples_per_s``, ``frames_per_s`` and ``sheet``.
    """
    from actkit.utils import atomic_write_parquet
    from actkit.utils import progress as progress_bar

    if n < 1 or workers < 1:
        raise ValueError(f"n and workers must be >= 1, got n={n}, workers={workers}")
    start = time.perf_counter()
    workers = min(workers, n)
    chunk = int(np.clip(n // (workers * 8), 4, 64))
    jobs = [(seed, list(range(i, min(i + chunk, n))), max_side) for i in range(0, n, chunk)]
    results: list[tuple[int, dict | None]] = []
    dropped: Counter = Counter()
    bar = progress_bar(total=n, desc="postures", unit="img", enable=progress)
    try:
        with contextlib.closing(run_jobs(_render_chunk, jobs, workers, (seed, NUM_TEXTURES), init=_init_worker)) as parts:
            for rows, d in parts:
                results.extend(rows)
                dropped.update(d)
                bar.update(len(rows))
    finally:
        bar.close()
    results.sort(key=lambda r: r[0])
    rows = [row for _, row in results if row is not None]
    if not rows:
        raise RuntimeError("no sample passed the posture geometry; nothing to write")
    atomic_write_parquet(out, _table(rows))
    seconds = time.perf_counter() - start
    frames = len(rows) + dropped["not_visible"] + dropped["lying_end_on"]
    summary = {
        "path": str(out), "n": n, "seed": seed, "workers": workers, "rows": len(rows),
        "failed": sum(row is None for _, row in results),
        "labels": dict(sorted(Counter(r["label"] for r in rows).items())),
        "splits": {s: dict(sorted(Counter(r["label"] for r in rows if r["split"] == s).items())) for s in SPLITS},
        "dropped": dict(sorted(dropped.items())),
        "seconds": round(seconds, 2), "samples_per_s": round(len(rows) / seconds, 1),
        "frames_per_s": round(frames / seconds, 1), "sheet": None,
    }
    if sheet is not None:
        postures_sheet(rows, LABELS, sheet)
        summary["sheet"] = str(sheet)
    logger.info("wrote %d crops to %s in %.1f s (%.0f/s): %s", len(rows), out, seconds,
                summary["samples_per_s"], summary["labels"])
    return summary


# ----------------------------------------------------------------------------- contact sheet

