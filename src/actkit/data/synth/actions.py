"""``actkit synth actions``: the 15 motion-capture clips as a 15-class video set in UCF-101 layout.

Every video shows one of pybullet's clips (:mod:`actkit.data.synth.mocap`) played by the
humanoid, with the variety a single take allows: camera, appearance, time window, playback
speed, mirroring and a little joint noise.

**Output** (``out/``), readable by any UCF-101 reader:

* ``videos/<Class>/v_<Class>_g<NN>_c<KK>.mp4``: class names in CamelCase (``Backflip``, ``DanceA``,
  ``GetupFacedown`` ...); ``gNN`` is a scene group (appearance, light, ground, backdrop, camera
  sector), ``cKK`` a clip within it. Groups hold :data:`CLIPS_PER_GROUP` clips and never straddle
  splits.
* ``classInd.txt`` (``1 Backflip``), ``trainlist01.txt`` and ``vallist01.txt``
  (``Backflip/v_Backflip_g01_c01.mp4 1``), ``testlist01.txt`` (path only).
* ``manifest.csv``: ``path,label,group,split,frames,fps,mirror,speed,camera_sector,palette``
  (``label`` is the class name, ``group`` the ``<Class>_gNN`` scene id).
* ``boxes/<Class>/<video stem>.json``: ``{"frames": [[x0, y0, x1, y1] | null, ...]}``, the person's
  visible pixel box per frame (``x1``, ``y1`` exclusive) from the segmentation mask.
* ``summary.json`` (counts, codec, speed in frames/s) and ``render_config.json`` (the arguments;
  a re-run into the same folder with other arguments is refused).

**Clips and windows.** Walk and run loop seamlessly: a random start phase, time wraps and the
body keeps travelling. The other 13 are one-shot (their loops jump). For those the *active part*
is where 5 %..95 % of the clip's motion (summed joint rotation and root travel) happens, and
the window is drawn so that the active part lies inside it, or, when the active part is longer
than the window, the window lies inside the active part; for the short events (backflip,
cartwheel, jump, kick, punch, spinkick, getups, roll) playback is sped up (up to 2x) when
needed so the whole event fits. Frame ``j`` shows clip time ``start + speed * j / fps``.
The camera target follows the smoothed root position (tightly for travelling clips, loosely
for the rest), so travelling bodies stay in frame; distance is set so the body fits in every
frame, and azimuth, elevation and distance drift slowly over the clip.

**Honest splits.** Group ``g`` (0-based) of class ``c`` goes to ``SPLIT_CYCLE[(g + c) % 10]``
(6 train, 2 val, 2 test in every 10 groups, so 20 clips per class give 12 / 4 / 4). The split
then fixes, as in :mod:`actkit.data.synth.postures`:

* the camera azimuth sector, measured from the body's facing at the start of the window
  (8 sectors of 45 deg, 0 in front): train {0, 2, 4, 6}, val {3, 5}, test {1, 7} (both mirror
  images of a held-out diagonal are held out, so mirroring cannot leak a test viewpoint);
* the clothes palette family: train {0, 1, 2, 4, 5, 7, 8, 10}, val {3, 9}, test {6, 11};
* the ground texture (pool of 12 generated from the seed): train 0-7, val 8-9, test 10-11;
* the playback speed: train 0.9-1.12x, val and test 0.8-0.9x or 1.12-1.25x.

**Held-out timeline** (``split_by="timeline"``; the default ``"appearance"`` is the above alone). The
appearance rules above still hold, and the split also decides which part of the motion the window
shows. For a one-shot clip with active part ``[t0, t1]`` of length ``L`` (clip seconds) and a
window of ``W = speed * (frames - 1) / fps`` clip seconds (events are not sped up in this mode):
train windows lie in ``[t0, t0 + max(0.6 L, W)]`` (start drawn in ``[t0, t0 + 0.6 L - W]`` when
positive, else ``t0``), val windows are centred in ``[t0 + 0.6 L, t0 + 0.8 L]``, and test windows
lie in ``[t1 - max(0.2 L, W), t1]``. A train and a test window thus share clip time only when
their widths exceed the 0.2 L val gap, and then at most
``min(L, max(0.6 L, W_train)) + min(L, max(0.2 L, W_test)) - L`` seconds of it (:func:`timeline_overlap`, at each split's fastest speed; ``summary.json`` lists it
per class). At the defaults (32 frames at 16 fps, W ~ 1.9 s) every class overlaps, by 0.8-2.2 s
(the active parts are only 0.7-3.7 s long: for backflip, dance_a, jump, kick, punch, roll and
spinkick the whole of it); with 16 frames getup_faceup and spin are disjoint, with 8 frames every
one-shot clip but kick (0.15 s) and spinkick (0.11 s). Walk and run loop: their windows
start at a cycle phase in [0, 0.6) (train), [0.6, 0.8) (val) or [0.8, 1) (test), but a window
longer than one cycle (1.27 s walk, 0.8 s run) shows every keyframe: for them only the start
phase is held out. ``manifest.csv`` gains ``clip_start,clip_end`` (clip seconds shown) in this mode.

Light, backdrop, skin tone and the in-sector camera are drawn freely for every split; mirroring
(50 %) and joint noise (up to 4 deg per joint, fixed over a clip) are per clip.

**Determinism and resuming.** Group-level draws use ``SeedSequence(seed, spawn_key=(GROUP_KEY, c, g))``,
clip draws ``SeedSequence(seed, spawn_key=(i,))`` with ``i = c * clips_per_class + k`` (``c`` the
class index among all 15; of each, child 0 draws the plan, child 1 the rendering), and every
piece of renderer state is set per clip, so output does not depend on ``workers`` or on which
clips were rendered before. Each video is written to a temporary file and renamed (its boxes
file first), so an existing video is complete: a re-run skips it (boxes too; a missing boxes
file makes the clip render again).
The lists, manifest and summary are rewritten at the end.
"""
from __future__ import annotations

import csv
import functools
import io
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sheets import actions_sheet
from ..video.writer import pick_codec, write_video
from .mocap import CLIP_NAMES, MocapClip, load_clip
from .render import HumanoidRenderer, claim_output, dress_scene, process_renderer, render_video_jobs
from .scene import (NUM_TEXTURES, SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES, Camera, draw_camera, draw_outfit,
                    smooth_series)

logger = logging.getLogger(__name__)

CLASS_NAMES = {name: "".join(part.capitalize() for part in name.split("_")) for name in CLIP_NAMES}
SPLITS = ("train", "val", "test")
SPLIT_CYCLE = ("train", "val", "test", "train", "train", "test", "train", "val", "train", "train")
SPLIT_SPEEDS = {"train": ((0.9, 1.12),), "val": ((0.8, 0.9), (1.12, 1.25)), "test": ((0.8, 0.9), (1.12, 1.25))}
CLIPS_PER_GROUP = 2
GROUP_KEY = 1 << 30  # spawn_key prefix of group-level draws, disjoint from clip indices
TRAVELLING = frozenset({"walk", "run", "crawl", "roll", "cartwheel", "jump", "backflip", "punch", "kick",
                        "dance_a", "spin"})
EVENTS = frozenset({"backflip", "cartwheel", "jump", "kick", "punch", "spinkick", "getup_facedown",
                    "getup_faceup", "roll"})
MAX_EVENT_SPEED = 2.0
JOINT_NOISE_DEG = 4.0
MANIFEST_COLUMNS = ("path", "label", "group", "split", "frames", "fps", "mirror", "speed", "camera_sector",
                    "palette")
SPLIT_MODES = ("appearance", "timeline")
# Fractions of the active part (one-shot clips) or of the cycle (walk, run) held by each split.
TIMELINE_PARTS = {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}


# ----------------------------------------------------------------------------- timing

@functools.lru_cache(maxsize=None)
def active_part(name: str) -> tuple[float, float]:
    """``(t0, t1)`` seconds of clip ``name`` between 5 % and 95 % of its cumulative motion."""
    clip = load_clip(name)
    dq = np.abs(np.sum(clip.quats[1:] * clip.quats[:-1], axis=-1)).clip(0, 1)
    energy = 2 * np.arccos(dq).sum(axis=1) + np.abs(np.diff(clip.angles, axis=0)).sum(axis=1)
    energy += 3.0 * np.linalg.norm(np.diff(clip.root_pos, axis=0), axis=1)
    dro = np.abs(np.sum(clip.root_orn[1:] * clip.root_orn[:-1], axis=-1)).clip(0, 1)
    energy += 2 * 2 * np.arccos(dro)
    cum = np.concatenate([[0.0], np.cumsum(energy)])
    cum /= max(cum[-1], 1e-9)
    return float(np.interp(0.05, cum, clip.times)), float(np.interp(0.95, cum, clip.times))


def choose_window(rng: np.random.Generator, clip: MocapClip, frames: int, fps: int,
                  speed: float) -> tuple[float, float]:
    """Draw ``(start, speed)``: frame ``j`` shows clip time ``start + speed * j / fps``."""
    if clip.loop:
        return float(rng.uniform(0, clip.duration)), speed
    t0, t1 = active_part(clip.name)
    span = (frames - 1) / fps
    if clip.name in EVENTS and speed * span < t1 - t0:
        speed = min(MAX_EVENT_SPEED, (t1 - t0) / span)
    width = speed * span
    lo, hi = sorted((t1 - width, t0))  # active part inside the window, or the window inside it
    return float(rng.uniform(lo, hi)), float(speed)


def timeline_window(rng: np.random.Generator, clip: MocapClip, frames: int, fps: int, speed: float,
                    split: str) -> tuple[float, float]:
    """Draw ``(start, speed)`` for the held-out-timeline split: the window comes from ``split``'s part
    of the clip's timeline (see the module docstring); the speed is kept."""
    speed = round(speed, 4)  # as the plan records it, so the window ends exactly where computed
    lo, hi = TIMELINE_PARTS[split]
    if clip.loop:
        return float(clip.duration * rng.uniform(lo, hi)), speed
    t0, t1 = active_part(clip.name)
    length, width = t1 - t0, speed * (frames - 1) / fps
    if split == "train":
        start = t0 + rng.uniform(0.0, max(0.0, hi * length - width))
    elif split == "test":
        start = t1 - width - rng.uniform(0.0, max(0.0, (1 - lo) * length - width))
    elif width <= (hi - lo) * length:  # val: inside its part when it fits, else centred on it
        start = t0 + lo * length + rng.uniform(0.0, (hi - lo) * length - width)
    else:
        start = t0 + length * (lo + hi) / 2 - width / 2
    return float(start), speed


def timeline_overlap(name: str, frames: int, fps: int) -> float:
    """The most clip seconds that a train and a test window of clip ``name`` can share with
    ``split_by="timeline"`` (at the fastest speed of each split)."""
    clip = load_clip(name)
    w_train, w_test = (max(hi for _, hi in SPLIT_SPEEDS[s]) * (frames - 1) / fps for s in ("train", "test"))
    if clip.loop:  # cycle phases shown, modulo the cycle d: train [0, 0.6 d + W], test [0.8 d, d + W]
        d = clip.duration
        phase = np.linspace(0.0, d, 2000, endpoint=False)

        def covered(a: float, b: float) -> np.ndarray:
            if b - a >= d:
                return np.ones_like(phase, dtype=bool)
            a, b = a % d, b % d
            return (phase >= a) & (phase <= b) if a <= b else (phase >= a) | (phase <= b)

        return float(np.mean(covered(0.0, 0.6 * d + w_train) & covered(0.8 * d, d + w_test)) * d)
    t0, t1 = active_part(name)
    length = t1 - t0
    # Train windows start at t0 and test windows end at t1, so what they share lies inside [t0, t1].
    reach_train, reach_test = min(length, max(0.6 * length, w_train)), min(length, max(0.2 * length, w_test))
    return float(max(0.0, reach_train + reach_test - length))


# ----------------------------------------------------------------------------- plan

@dataclass
class ClipPlan:
    """Everything that decides one video (drawn without a renderer, so resuming is cheap)."""

    index: int
    clip: str
    cls: str
    group: int
    member: int
    split: str
    sector: int
    palette: int
    texture: int
    mirror: bool
    speed: float
    start: float
    yaw: float
    group_seed: tuple
    clip_seed: tuple

    @property
    def stem(self) -> str:
        return f"v_{self.cls}_g{self.group:02d}_c{self.member:02d}"

    @property
    def relpath(self) -> str:
        return f"{self.cls}/{self.stem}.mp4"


def plan_clip(seed: int, clip_name: str, k: int, clips_per_class: int, frames: int, fps: int,
              split_by: str = "appearance") -> ClipPlan:
    """The plan of clip ``k`` of class ``clip_name`` (deterministic in its arguments); ``split_by``
    ``"timeline"`` also draws the window from the split's part of the timeline (:func:`timeline_window`)."""
    c = CLIP_NAMES.index(clip_name)
    g = k // CLIPS_PER_GROUP
    split = SPLIT_CYCLE[(g + c) % len(SPLIT_CYCLE)]
    group_key = (GROUP_KEY, c, g)
    grng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=group_key).spawn(2)[0])
    sector = int(grng.choice(SPLIT_SECTORS[split]))
    palette = int(grng.choice(SPLIT_PALETTES[split]))
    texture = int(grng.choice(SPLIT_TEXTURES[split]))
    i = c * clips_per_class + k
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)[0])
    ranges = SPLIT_SPEEDS[split]
    speed = float(rng.uniform(*ranges[int(rng.integers(len(ranges)))]))
    mirror = bool(rng.random() < 0.5)
    if split_by == "timeline":
        start, speed = timeline_window(rng, load_clip(clip_name), frames, fps, speed, split)
    else:
        start, speed = choose_window(rng, load_clip(clip_name), frames, fps, speed)
    return ClipPlan(i, clip_name, CLASS_NAMES[clip_name], g + 1, k % CLIPS_PER_GROUP + 1, split, sector, palette,
                    texture, mirror, round(speed, 4), start, float(rng.uniform(0, 2 * np.pi)), group_key, (i,))


# ----------------------------------------------------------------------------- rendering one clip


def render_clip(renderer: HumanoidRenderer, plan: ClipPlan, seed: int, frames: int, size: int,
                fps: int) -> tuple[list[np.ndarray], list[list[int] | None]]:
    """Render the frames of ``plan``: a list of HxWx3 uint8 RGB images and the per-frame person boxes."""
    clip = load_clip(plan.clip)
    # The second child of each seed: the first one drew the plan.
    grng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=plan.group_seed).spawn(2)[1])
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=plan.clip_seed).spawn(2)[1])
    noise_seed = int(rng.integers(1 << 31))

    times = plan.start + plan.speed * np.arange(frames) / fps
    poses = []
    first = clip.pose_at(float(times[0]), mirror=plan.mirror)
    origin = first.root_pos * np.array([1.0, 0.0, 1.0])
    for t in times:
        pose = clip.pose_at(float(t), mirror=plan.mirror)
        pose = pose.jittered(np.random.default_rng(noise_seed), JOINT_NOISE_DEG)  # same offsets every frame
        pose.root_pos = pose.root_pos - origin
        poses.append(pose.transformed(plan.yaw))
    lows, roots, corners = [], [], []
    for pose in poses:
        renderer.set_pose(pose)
        aabbs = renderer.link_aabbs()
        lows.append(aabbs[:, 0, 1].min())
        roots.append(pose.root_pos.copy())
        corners.append(np.concatenate([aabbs[:, 0], aabbs[:, 1]]))
    lift = max(0.0, -min(lows))  # some keyframes sink a few cm into the floor
    roots = np.array(roots) + [0.0, lift, 0.0]
    sigma = (0.25 if plan.clip in TRAVELLING else 0.8) * fps
    targets = smooth_series(roots, sigma)
    targets[:, 1] = float(np.clip(roots[:, 1].mean(), 0.35, 1.0))
    reach = max(float(np.linalg.norm(c + [0.0, lift, 0.0] - tgt, axis=1).max()) for c, tgt in zip(corners, targets))

    azimuth, fov, distance, elevation = draw_camera(rng, poses[0], plan.sector, reach)
    drift = rng.uniform(-15, 15), rng.uniform(-5, 5), rng.uniform(0.92, 1.08)

    renderer.set_outfit(draw_outfit(grng, plan.palette))
    dress_scene(renderer, grng, plan.texture, size)

    images, boxes = [], []
    for j, pose in enumerate(poses):
        u = j / max(1, frames - 1)
        pose.root_pos = pose.root_pos + [0.0, lift, 0.0]
        renderer.set_pose(pose)
        dist = distance * (1 + (drift[2] - 1) * u)
        el = elevation + drift[1] * u
        # Keep the eye at least 0.4 m above the floor.
        min_el = math.degrees(math.asin(min(1.0, max(-1.0, (0.4 - targets[j, 1]) / dist))))
        renderer.set_camera(Camera(tuple(targets[j]), dist, azimuth + drift[0] * u, max(el, min_el), fov))
        rgb, box = renderer.render(size, size)
        images.append(rgb)
        boxes.append(None if box is None else list(box))
    return images, boxes


# ----------------------------------------------------------------------------- encoding

# ----------------------------------------------------------------------------- workers

def _render_job(args: tuple) -> tuple[int, int, float]:
    plan, out, seed, frames, size, fps, codec = args
    start = time.perf_counter()
    images, boxes = render_clip(process_renderer(), plan, seed, frames, size, fps)
    render_s = time.perf_counter() - start
    from actkit.utils.io import atomic_write_json

    # Boxes first: an existing video then always has its boxes.
    atomic_write_json(Path(out) / "boxes" / plan.cls / f"{plan.stem}.json", {"frames": boxes}, indent=None)
    write_video(Path(out) / "videos" / plan.relpath, images, fps, codec)
    return plan.index, len(images), render_s


# ----------------------------------------------------------------------------- the set

def _warn_missing_splits(plans: list[ClipPlan], names: tuple[str, ...], seed: int, frames: int, fps: int,
                         split_by: str) -> None:
    """Say which classes a split lacks, and how many clips per class give every split every class."""
    missing = sorted({(p0, n) for n in names for p0 in SPLITS} - {(p.split, p.clip) for p in plans})
    if not missing:
        return
    need = len(plans) // max(1, len(names))
    while need < 200 and any({plan_clip(seed, n, k, need, frames, fps, split_by).split for k in range(need)}
                             != set(SPLITS) for n in names):
        need += 1
    logger.warning("actions: %d clips per class leave %s; --clips-per-class %d gives every split every class",
                   len(plans) // max(1, len(names)), ", ".join(f"{s} without {n}" for s, n in missing[:6]), need)


def _write_lists(out: Path, plans: list[ClipPlan], names: tuple[str, ...], frames: int, fps: int,
                 timeline: bool) -> None:
    """UCF-101's ``classInd.txt`` and split lists, and the manifest CSV (atomically)."""
    from actkit.utils.io import atomic_write

    label_of = {CLASS_NAMES[n]: i + 1 for i, n in enumerate(names)}
    with atomic_write(out / "classInd.txt", "w") as f:
        f.writelines(f"{i} {c}\n" for c, i in label_of.items())
    for split, name in (("train", "trainlist01.txt"), ("val", "vallist01.txt"), ("test", "testlist01.txt")):
        with atomic_write(out / name, "w") as f:
            for p in plans:
                if p.split == split:
                    f.write(f"{p.relpath} {label_of[p.cls]}\n" if split != "test" else f"{p.relpath}\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS + (("clip_start", "clip_end") if timeline else ()))
    for p in plans:
        row = [f"videos/{p.relpath}", p.cls, f"{p.cls}_g{p.group:02d}", p.split, frames, fps, int(p.mirror), p.speed,
               p.sector, p.palette]
        if timeline:  # the clip seconds the window shows
            row += [round(p.start, 4), round(p.start + p.speed * (frames - 1) / fps, 4)]
        writer.writerow(row)
    with atomic_write(out / "manifest.csv", "w") as f:
        f.write(buf.getvalue())


def render_actions(out: str | Path, clips_per_class: int = 20, frames: int = 32, size: int = 112, fps: int = 16,
                   seed: int = 0, workers: int = 2, sheet: str | Path | None = None,
                   progress: bool | None = None, classes: tuple[str, ...] | list[str] | None = None,
                   split_by: str = "appearance") -> dict:
    """Render the mocap action videos into ``out`` in UCF-101 layout (see the module docstring).

    Args:
        out: output folder; an interrupted run into it resumes (finished videos are kept).
        clips_per_class: videos per class.
        frames: frames per video.
        size: video side in pixels (even).
        fps: frame rate written into the video and used for timing.
        seed: dataset seed; same seed and arguments give the same videos for any ``workers``.
        workers: rendering processes (spawned, one pybullet connection each); 1 renders in-process.
        sheet: optional contact-sheet PNG: one row per class, 6 frames of its first video.
        progress: show a progress bar (default: when stderr is a terminal).
        classes: clip names to render (default: all 15, see :data:`CLASS_NAMES`).
        split_by: ``"appearance"`` (camera sector, palette, texture, speed held out) or ``"timeline"``
            (those, plus each split's windows from its own part of every motion's timeline).

    Raises:
        ValueError: for unknown classes, an unknown ``split_by`` or bad sizes, or when ``out`` holds a render made with
            other arguments (its ``render_config.json`` differs).

    Returns:
        The summary also written to ``out/summary.json``: counts per split, ``rendered`` and
        ``skipped`` videos, ``codec``, ``seconds``, ``frames_per_s`` (render + encode of the
        rendered videos, all workers) and ``render_ms_per_frame`` (one process).
    """
    from actkit.utils.io import atomic_write_json

    names = tuple(CLIP_NAMES) if classes is None else tuple(n for n in CLIP_NAMES if n in set(classes))
    unknown = set(classes or ()) - set(CLIP_NAMES)
    if unknown or not names:
        raise ValueError(f"unknown classes {sorted(unknown)}; known: {CLIP_NAMES}")
    if clips_per_class < 1 or frames < 2 or workers < 1 or fps < 1 or size < 16 or size % 2:
        raise ValueError("need clips_per_class >= 1, frames >= 2, workers >= 1, fps >= 1, even size >= 16")
    if split_by not in SPLIT_MODES:
        raise ValueError(f"unknown split_by {split_by!r}; known: {SPLIT_MODES}")
    out = Path(out)
    config = {"clips_per_class": clips_per_class, "frames": frames, "size": size, "fps": fps, "seed": seed,
              "classes": list(names), "split_by": split_by}
    # Temporary files of an interrupted run are named ".<stem>.<random><suffix>" (atomic_path).
    # Folders rendered before split_by existed used the appearance split.
    claim_output(out, config, ("videos/*/.v_*.mp4", "boxes/*/.v_*.json"), defaults={"split_by": "appearance"})

    start = time.perf_counter()
    codec = pick_codec()
    plans = [plan_clip(seed, n, k, clips_per_class, frames, fps, split_by) for n in names
             for k in range(clips_per_class)]
    _warn_missing_splits(plans, names, seed, frames, fps, split_by)
    todo = [p for p in plans if not (out / "videos" / p.relpath).is_file()
            or not (out / "boxes" / p.cls / f"{p.stem}.json").is_file()]
    jobs = [(p, str(out), seed, frames, size, fps, codec) for p in todo]
    rendered_frames, render_s = render_video_jobs(_render_job, jobs, workers, (seed, NUM_TEXTURES), "actions", progress)
    seconds = time.perf_counter() - start

    _write_lists(out, plans, names, frames, fps, split_by == "timeline")
    timeline = split_by == "timeline"

    summary = {
        "out": str(out), **config, "classes": [CLASS_NAMES[n] for n in names], "workers": workers,
        "videos": len(plans), "rendered": len(todo), "skipped": len(plans) - len(todo),
        "splits": dict(Counter(p.split for p in plans)),
        "groups": {s: len({(p.cls, p.group) for p in plans if p.split == s}) for s in SPLITS},
        "codec": codec, "container": "mp4", "boxes": "boxes/<Class>/<video stem>.json",
        "seconds": round(seconds, 2),
        "frames_per_s": round(rendered_frames / seconds, 1) if rendered_frames else None,
        "render_ms_per_frame": round(1000 * render_s / rendered_frames, 2) if rendered_frames else None,
        "sheet": None,
    }
    if timeline:
        summary["timeline_overlap_s"] = {CLASS_NAMES[n]: round(timeline_overlap(n, frames, fps), 3) for n in names}
    if sheet is not None:
        actions_sheet(out, [next(p for p in plans if p.clip == n) for n in names], sheet)
        summary["sheet"] = str(sheet)
    atomic_write_json(out / "summary.json", summary)
    logger.info("actions: %d videos in %s (%d rendered) in %.1f s, codec %s", len(plans), out, len(todo),
                seconds, codec)
    return summary


__all__ = ["CLASS_NAMES", "SPLITS", "ClipPlan", "plan_clip", "render_actions", "render_clip",
           "active_part", "choose_window", "timeline_window", "timeline_overlap"]
