"""Headless rendering of the pybullet humanoid: poses, clothes, props, ground, light, camera.

One :class:`HumanoidRenderer` owns one pybullet ``DIRECT`` connection and renders any number
of frames (stills or video) with the CPU TinyRenderer. The world is Y-up, in metres; the
humanoid (``humanoid/humanoid.urdf`` at ``globalScaling=0.25``) faces +x with its right side
at +z in its rest pose, matching :mod:`actkit.data.synth.mocap`.

Everything a frame depends on (pose, outfit, prop, ground texture, light, camera, background)
is set explicitly before each :meth:`HumanoidRenderer.render`, so a frame never depends on
what the same renderer drew before: that is what makes worker-parallel datasets reproducible.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ...utils.io import quiet_native_output
from .mocap import Pose, cross3, quat_axis_angle
from .scene import NUM_LINKS, Camera, Light, Outfit, draw_light, make_background, make_ground_texture, pack_rgb

logger = logging.getLogger(__name__)

SCALE = 0.25  # DeepMimic's scale for humanoid.urdf: the clips' root heights are in metres at this scale
PROPS = ("chair", "stool", "box", "bench", "platform")
PROP_PARK = (0.0, -50.0, 0.0)  # unused props wait far below the ground, outside every view


def import_pybullet():
    """Import pybullet quietly, or raise an ImportError naming the install command."""
    from actkit.utils import require

    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    with quiet_native_output():
        return require("pybullet")


# ----------------------------------------------------------------------------- procedural images


# ----------------------------------------------------------------------------- appearance


# ----------------------------------------------------------------------------- renderer

class HumanoidRenderer:
    """A pybullet scene with one kinematic humanoid, optional seats, a textured ground and a camera.

    The ground plane y = 0 is not a pybullet body: TinyRenderer shades every ground pixel
    (a textured plane took 5 of 7.5 ms per 128 px frame), so it is ray-cast in numpy instead,
    using the depth buffer for occlusion (feet or prop legs below y = 0 are hidden). Its
    textures are a pool generated once per renderer and selected by index (no ``loadTexture``,
    whose memory pybullet never frees).

    Args:
        texture_seed: seed of the procedurally generated ground-texture pool.
        num_textures: size of that pool.
        texture_size: side of each ground texture in pixels.

    Example:
        >>> with HumanoidRenderer() as r:
        ...     r.set_pose(load_clip("walk").pose_at(0.5))
        ...     r.set_camera(Camera(target=(0, 0.9, 0), distance=3, azimuth=30, elevation=10))
        ...     rgb, box = r.render(128, 128)
    """

    NEAR, FAR = 0.05, 60.0

    def __init__(self, texture_seed: int = 0, num_textures: int = 12, texture_size: int = 64):
        self.p = p = import_pybullet()
        from actkit.utils import require

        data_path = require("pybullet_data", extra="synth").getDataPath()
        self.cid = p.connect(p.DIRECT)
        try:
            with quiet_native_output():  # the URDF lacks axis tags on spherical joints: harmless warnings
                self.body = p.loadURDF(str(Path(data_path) / "humanoid" / "humanoid.urdf"), [0, 0.9, 0],
                                       globalScaling=SCALE, useFixedBase=True,
                                       flags=p.URDF_MAINTAIN_LINK_ORDER, physicsClientId=self.cid)
            self.props = {name: self._make_prop(name) for name in PROPS}
        except BaseException:
            self.close()
            raise
        if texture_size & (texture_size - 1):  # texel lookup wraps with a bit mask
            raise ValueError(f"texture_size must be a power of two, got {texture_size}")
        self.textures = [make_ground_texture(np.random.default_rng(ss), texture_size).astype(np.float32)
                         for ss in np.random.SeedSequence(texture_seed).spawn(num_textures)]
        self._texture_means = [tex.mean(axis=(0, 1)) for tex in self.textures]
        self._texture_keys: dict[str, int] = {}  # add_ground_texture's keyed additions
        self._dither_cache: np.ndarray | None = None
        self._joint_ids = [i for i in range(NUM_LINKS) if i not in (0, 8, 14)]  # fixed joints carry no state
        self.camera = Camera(target=(0.0, 0.9, 0.0), distance=3.0, azimuth=0.0, elevation=10.0)
        self.light = Light()
        self.background: np.ndarray | None = None
        self.extra_bodies: list[int] = []  # more humanoids, loaded on demand by ensure_people
        self.set_ground_texture(0)
        self.set_outfit(Outfit((0.2, 0.4, 0.8), (0.2, 0.2, 0.25), (0.8, 0.6, 0.5), (0.1, 0.1, 0.1)))
        self.hide_props()

    # -- lifecycle
    def close(self) -> None:
        """Disconnect (idempotent)."""
        if getattr(self, "cid", None) is not None and self.p.isConnected(physicsClientId=self.cid):
            self.p.disconnect(physicsClientId=self.cid)
        self.cid = None

    def __enter__(self) -> "HumanoidRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scene construction
    def _make_prop(self, name: str) -> int:
        """A seat whose top surface is at the body origin; legs reach 1 m down so any seat height works
        (the part below the ground is hidden by it)."""
        p = self.p
        box, cyl = p.GEOM_BOX, p.GEOM_CYLINDER
        up = quat_axis_angle("x", -np.pi / 2).tolist()  # cylinders are z-aligned; seats are Y-up
        ident = [0, 0, 0, 1]
        if name == "chair":
            legs = [(sx * 0.19, -0.53, sz * 0.2) for sx in (-1, 1) for sz in (-1, 1)]
            shapes = [(box, (0.22, 0.025, 0.23), (0, -0.025, 0), ident)]
            shapes += [(box, (0.02, 0.5, 0.02), leg, ident) for leg in legs]
            shapes += [(box, (0.02, 0.2, 0.22), (-0.24, 0.32, 0), ident),
                       (box, (0.02, 0.17, 0.02), (-0.24, 0.09, 0.2), ident),
                       (box, (0.02, 0.17, 0.02), (-0.24, 0.09, -0.2), ident)]
        elif name == "stool":
            shapes = [(cyl, (0.19, 0.05), (0, -0.025, 0), up), (cyl, (0.035, 1.0), (0, -0.5, 0), up)]
        elif name == "box":
            shapes = [(box, (0.24, 0.5, 0.27), (0, -0.5, 0), ident)]
        elif name == "bench":
            shapes = [(box, (0.22, 0.03, 0.7), (0, -0.03, 0), ident),
                      (box, (0.18, 0.5, 0.03), (0, -0.53, 0.6), ident),
                      (box, (0.18, 0.5, 0.03), (0, -0.53, -0.6), ident)]
        elif name == "platform":
            # A diving platform: deck top at the origin, take-off edge at x = 0, the deck reaching 3 m
            # back (-x); a 12 m pillar holds it (the part under the water plane is hidden by it).
            shapes = [(box, (1.5, 0.15, 0.9), (-1.5, -0.15, 0), ident),
                      (box, (0.35, 6.0, 0.7), (-2.2, -6.3, 0), ident)]
        else:
            raise ValueError(f"unknown prop {name!r}; known: {PROPS}")
        kinds, extents, frames, orns = zip(*shapes)
        vs = p.createVisualShapeArray(
            shapeTypes=list(kinds),
            halfExtents=[list(e) if k == box else [0, 0, 0] for k, e in zip(kinds, extents)],
            radii=[e[0] if k == cyl else 0 for k, e in zip(kinds, extents)],
            lengths=[e[1] if k == cyl else 0 for k, e in zip(kinds, extents)],
            visualFramePositions=[list(f) for f in frames], visualFrameOrientations=[list(o) for o in orns],
            physicsClientId=self.cid)
        return p.createMultiBody(0, -1, vs, PROP_PARK, physicsClientId=self.cid)

    # -- several people
    def ensure_people(self, n: int) -> list[int]:
        """Body ids of ``n`` humanoids, the main one first; extra ones are loaded on first use and kept
        (parked out of sight by :meth:`park_people`), so one scene renders several people in one pass
        and the segmentation mask tells them apart (occlusion included)."""
        from actkit.utils import require

        urdf = Path(require("pybullet_data", extra="synth").getDataPath()) / "humanoid" / "humanoid.urdf"
        while 1 + len(self.extra_bodies) < n:
            with quiet_native_output():
                body = self.p.loadURDF(str(urdf), list(PROP_PARK), globalScaling=SCALE, useFixedBase=True,
                                       flags=self.p.URDF_MAINTAIN_LINK_ORDER, physicsClientId=self.cid)
            self.extra_bodies.append(body)
        return [self.body, *self.extra_bodies[:max(0, n - 1)]]

    def park_people(self, keep: int = 1) -> None:
        """Move the extra humanoids beyond the first ``keep`` people out of sight."""
        for body in self.extra_bodies[max(0, keep - 1):]:
            self.p.resetBasePositionAndOrientation(body, PROP_PARK, [0, 0, 0, 1], physicsClientId=self.cid)

    # -- per-frame state
    def set_pose(self, pose: Pose, body: int | None = None) -> None:
        """Place the humanoid (or ``body``, an id from :meth:`ensure_people`) kinematically (no physics step)."""
        p = self.p
        body = self.body if body is None else body
        p.resetBasePositionAndOrientation(body, np.asarray(pose.root_pos).tolist(),
                                          np.asarray(pose.root_orn).tolist(), physicsClientId=self.cid)
        ids = [j for j in self._joint_ids if j in pose.joints]
        p.resetJointStatesMultiDof(body, ids, [np.asarray(pose.joints[j]).tolist() for j in ids],
                                   physicsClientId=self.cid)

    def set_outfit(self, outfit: Outfit, body: int | None = None) -> None:
        """Colour every link of the humanoid (or ``body``) from ``outfit``."""
        body = self.body if body is None else body
        for link, rgb in enumerate(outfit.link_colors()):
            self.p.changeVisualShape(body, link, rgbaColor=[*rgb, 1.0], physicsClientId=self.cid)

    def set_ground_texture(self, index: int | None, tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
                           tile: float = 1.5, offset: tuple[float, float] = (0.0, 0.0)) -> None:
        """Draw the ground with texture ``index`` of the pool (``None``: no ground), multiplied by ``tint``,
        one texture repeat per ``tile`` metres, shifted by ``offset`` metres in (x, z)."""
        self.ground = None if index is None else (index, np.asarray(tint, np.float32), float(tile), offset)

    def add_ground_texture(self, image: np.ndarray, key: str | None = None) -> int:
        """Append ``image`` (SxSx3 uint8, S a power of two) to the ground-texture pool and return its index
        for :meth:`set_ground_texture`. With ``key``, a texture added earlier under the same key is reused
        instead, so a worker can register a set's own textures (water, say) once per renderer."""
        if key is not None and key in self._texture_keys:
            return self._texture_keys[key]
        image = np.asarray(image)
        size = image.shape[0] if image.ndim == 3 else 0
        if image.shape != (size, size, 3) or size < 1 or size & (size - 1):
            raise ValueError(f"ground texture must be SxSx3 with S a power of two, got {image.shape}")
        self.textures.append(image.astype(np.float32))
        self._texture_means.append(self.textures[-1].mean(axis=(0, 1)))
        if key is not None:
            self._texture_keys[key] = len(self.textures) - 1
        return len(self.textures) - 1

    def place_prop(self, name: str, position: tuple[float, float, float], yaw: float = 0.0,
                   color: tuple[float, float, float] = (0.5, 0.35, 0.2)) -> None:
        """Show prop ``name`` with its seat top at ``position``, front towards ``yaw`` (radians about +y
        from +x); hide the other props."""
        self.hide_props()
        body = self.props[name]
        self.p.resetBasePositionAndOrientation(body, list(position), quat_axis_angle("y", yaw).tolist(),
                                               physicsClientId=self.cid)
        self.p.changeVisualShape(body, -1, rgbaColor=[*color, 1.0], physicsClientId=self.cid)

    def hide_props(self) -> None:
        """Move every prop out of sight."""
        for body in self.props.values():
            self.p.resetBasePositionAndOrientation(body, PROP_PARK, [0, 0, 0, 1], physicsClientId=self.cid)

    def set_camera(self, camera: Camera) -> None:
        """Use ``camera`` for the next renders."""
        self.camera = camera

    def set_light(self, light: Light) -> None:
        """Use ``light`` for the next renders."""
        self.light = light

    def set_background(self, image: np.ndarray | None) -> None:
        """Paste ``image`` (HxWx3 uint8, the render size) where nothing was drawn; ``None`` leaves it white."""
        self.background = image

    # -- geometry
    def link_frames(self) -> np.ndarray:
        """(15, 3) world positions of the link frames, i.e. the joint pivots (hip, knee, ...), by link index."""
        states = self.p.getLinkStates(self.body, list(range(NUM_LINKS)), computeForwardKinematics=1,
                                      physicsClientId=self.cid)
        return np.array([s[4] for s in states])

    def link_aabbs(self, body: int | None = None) -> np.ndarray:
        """(15, 2, 3) world axis-aligned bounds (min, max) of every link's collision shape (of ``body``)."""
        body = self.body if body is None else body
        return np.array([self.p.getAABB(body, i, physicsClientId=self.cid) for i in range(NUM_LINKS)])

    def lowest_point(self) -> float:
        """Height of the lowest point of the body (metres; 0 is the ground)."""
        return float(self.link_aabbs()[:, 0, 1].min())

    # -- rendering
    def render(self, width: int, height: int) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
        """Render one frame.

        Returns:
            ``(rgb, box)``: the HxWx3 uint8 image and the humanoid's visible pixel box ``(x0, y0, x1, y1)``
            (``x1``/``y1`` exclusive) from the segmentation mask, or ``None`` when no pixel of it shows.
        """
        rgb, boxes = self.render_people(width, height, [self.body])
        return rgb, boxes[0]

    def render_people(self, width: int, height: int,
                      bodies: list[int]) -> tuple[np.ndarray, list[tuple[int, int, int, int] | None]]:
        """Render one frame with every visible humanoid; return the image and the visible pixel box of
        each of ``bodies`` (ids from :meth:`ensure_people`), as :meth:`render` does for one."""
        p, cam, light = self.p, self.camera, self.light
        eye = cam.eye()
        view = p.computeViewMatrix(eye.tolist(), list(cam.target), [0, 1, 0])
        proj = p.computeProjectionMatrixFOV(cam.fov, width / height, self.NEAR, self.FAR)
        _, _, rgba, depth, seg = p.getCameraImage(
            width, height, view, proj, lightDirection=list(light.direction), lightColor=list(light.color),
            shadow=0, lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse,
            lightSpecularCoeff=light.specular, renderer=p.ER_TINY_RENDERER, physicsClientId=self.cid)
        rgba = np.ascontiguousarray(np.reshape(rgba, (height, width, 4)), dtype=np.uint8)
        # Composite on whole RGBA pixels viewed as uint32: a third of the work of per-channel masking.
        px = rgba.view(np.uint32)[..., 0]
        seg = np.reshape(seg, (height, width))
        empty = seg < 0
        ground = None
        if self.ground is not None:
            ground = self._draw_ground(px, eye, np.reshape(depth, (height, width)), empty)
            empty &= ~ground
        if self.background is not None:
            if self.background.shape != (height, width, 3):
                raise ValueError(f"background is {self.background.shape}, render is {(height, width, 3)}")
            np.copyto(px, pack_rgb(self.background), where=empty)
        rgb = np.ascontiguousarray(rgba[..., :3])
        boxes = []
        for body in bodies:
            person = seg == body
            if ground is not None:
                person &= ~ground
            cols, rows = np.flatnonzero(person.any(axis=0)), np.flatnonzero(person.any(axis=1))
            boxes.append((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if len(cols) else None)
        return rgb, boxes

    def _draw_ground(self, px: np.ndarray, eye: np.ndarray, depth: np.ndarray, empty: np.ndarray) -> np.ndarray:
        """Ray-cast the plane y = 0 into the packed image ``px`` where it is nearer than what was drawn;
        return that mask."""
        cam, (index, tint, tile, offset) = self.camera, self.ground
        h, w = depth.shape
        f32 = np.float32
        fwd = np.asarray(cam.target, dtype=np.float64) - eye
        fwd /= np.linalg.norm(fwd)
        right = np.array([-fwd[2], 0.0, fwd[0]])  # fwd x (0, 1, 0)
        right /= np.linalg.norm(right)
        up = cross3(right, fwd)
        tan = np.tan(np.radians(cam.fov) / 2)
        # Rays fwd + nx*right + ny*up have unit forward component, so the ray parameter t is the
        # linear depth; right is horizontal, so where a ray meets the floor depends on its row only.
        ny = (1 - (np.arange(h) + 0.5) / h * 2) * tan
        dy = fwd[1] + ny * up[1]
        with np.errstate(divide="ignore"):
            t_row = np.where(dy < -1e-6, -eye[1] / np.minimum(dy, -1e-6), np.inf)
        mask = np.zeros((h, w), dtype=bool)
        below = np.flatnonzero(t_row < self.FAR)
        if len(below) == 0:
            return mask
        r0 = below[0]  # rows that see the floor form one block at the bottom
        near, far = self.NEAR, self.FAR
        t = t_row[r0:, None].astype(f32)
        drawn = far * near / (far - (far - near) * depth[r0:])  # depth buffer -> linear depth
        sub = (t < far) & (empty[r0:] | (t < drawn))
        mask[r0:] = sub
        tex = self._shaded_texture(index, tint)
        size = self.textures[index].shape[0]
        nx = (((np.arange(w) + 0.5) / w * 2 - 1) * tan * w / h).astype(f32)[None, :]
        nyr = ny[r0:, None].astype(f32)
        k = f32(size / tile)
        # A positive shift of a whole number of tiles keeps texel indices >= 0 before the wrap.
        x0, z0 = f32(eye[0] + offset[0] + 1000 * tile), f32(eye[2] + offset[1] + 1000 * tile)
        ix = (x0 + t * (f32(fwd[0]) + nyr * f32(up[0]) + nx * f32(right[0]))) * k
        iz = (z0 + t * (f32(fwd[2]) + nyr * f32(up[2]) + nx * f32(right[2]))) * k
        texel = tex[((iz.astype(np.int32) & (size - 1)) * size) | (ix.astype(np.int32) & (size - 1))]
        # Far away the texture aliases into noise: fade it to its mean colour like haze, dithered
        # (a per-pixel threshold) so the fade costs one comparison instead of a blend.
        fade = np.clip((t - 4.0) / 16.0, 0.0, 1.0)
        texel = np.where(fade > self._dither(h, w)[r0:], tex[-1], texel)
        np.copyto(px[r0:], texel, where=sub)
        return mask

    def _shaded_texture(self, index: int, tint: np.ndarray) -> np.ndarray:
        """Texture ``index`` lit by the current light and tinted, packed to uint32 and flattened, with its
        mean colour appended as the last element."""
        light = self.light
        ldir = np.asarray(light.direction, dtype=np.float64)
        shade = min(1.2, 1.1 * (light.ambient + light.diffuse * max(0.0, ldir[1] / np.linalg.norm(ldir))))
        gain = (tint * np.asarray(light.color, np.float32) * shade).astype(np.float32)
        tex = self.textures[index]
        lit = np.clip(np.concatenate([tex.reshape(-1, 3), self._texture_means[index][None]]) * gain, 0, 255)
        return pack_rgb(lit.astype(np.uint8))

    def _dither(self, h: int, w: int) -> np.ndarray:
        if self._dither_cache is None or self._dither_cache.shape != (h, w):
            self._dither_cache = np.random.default_rng(1234).random((h, w), dtype=np.float32)
        return self._dither_cache


# One renderer per process, used by the job functions that run_jobs calls: a pybullet connection
# cannot be pickled, so every worker builds its own once and reuses it for all its jobs.
_PROCESS_RENDERER: HumanoidRenderer | None = None


def init_process_renderer(seed: int, num_textures: int = 12) -> None:
    """Build this process's renderer (its texture pool drawn from ``seed``)."""
    global _PROCESS_RENDERER
    close_process_renderer()
    _PROCESS_RENDERER = HumanoidRenderer(texture_seed=seed, num_textures=num_textures)


def process_renderer() -> HumanoidRenderer:
    """The renderer :func:`init_process_renderer` built in this process."""
    if _PROCESS_RENDERER is None:
        raise RuntimeError("no renderer in this process: run jobs through run_jobs (or call init_process_renderer)")
    return _PROCESS_RENDERER


def close_process_renderer() -> None:
    """Release this process's renderer, if any."""
    global _PROCESS_RENDERER
    if _PROCESS_RENDERER is not None:
        _PROCESS_RENDERER.close()
        _PROCESS_RENDERER = None


def run_jobs(fn: Callable[[Any], Any], jobs: list, workers: int, initargs: tuple,
             init: Callable[..., None] = init_process_renderer,
             close: Callable[[], None] = close_process_renderer) -> Iterator[Any]:
    """Yield ``fn(job)`` for every job, in completion order: inline when ``workers <= 1``, else from
    ``workers`` spawn processes. ``init(*initargs)`` runs once per process (by default it builds
    the process renderer that ``fn`` gets from :func:`process_renderer`); ``close()`` releases the
    inline one. Use with ``contextlib.closing`` so an error in the caller's loop still shuts the
    pool down.
    """
    pool = None
    try:
        if workers <= 1:
            init(*initargs)
            yield from map(fn, jobs)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn, not fork: pybullet connections and native state must not be copied into children.
            # An executor (unlike multiprocessing.Pool) fails fast if a worker dies or its init raises.
            pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init, initargs=initargs)
            yield from (f.result() for f in as_completed([pool.submit(fn, job) for job in jobs]))
    finally:
        close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def claim_output(out: Path, config: dict[str, Any], stale: tuple[str, ...],
                 defaults: dict[str, Any] | None = None) -> None:
    """Make ``out`` a resumable render folder for ``config``.

    A folder rendered with other arguments is refused (mixing them would corrupt the set); the
    arguments are recorded in ``render_config.json``; temporary files an interrupted run left
    behind (globs ``stale``, relative to ``out``) are removed. ``defaults`` gives the value of
    arguments added after a folder was rendered (absent from its recorded config), so adding an
    option with a backward-compatible default does not refuse older folders.
    """
    import json

    from ...utils.io import atomic_write_json

    cfg_path = out / "render_config.json"
    if cfg_path.is_file():
        old = json.loads(cfg_path.read_text())
        old = {**(defaults or {}), **old}
        changed = {k for k in config if old.get(k) != config[k]}
        if changed:
            raise ValueError(f"{out} was rendered with other arguments ({sorted(changed)}): use a new folder")
    atomic_write_json(cfg_path, config)
    for pattern in stale:
        for path in out.glob(pattern):
            path.unlink(missing_ok=True)


def render_video_jobs(fn: Callable[[Any], tuple[int, int, float]], jobs: list, workers: int, initargs: tuple,
                      desc: str, progress: bool | None = None) -> tuple[int, float]:
    """Run video jobs (each returns ``(index, frames, render_seconds)``) with a progress bar.

    Returns:
        Total frames rendered and total render seconds (summed over workers).
    """
    from ...utils import progress as progress_bar

    frames, seconds = 0, 0.0
    if not jobs:
        return frames, seconds
    bar = progress_bar(total=len(jobs), desc=desc, unit="video", enable=progress)
    try:
        with contextlib.closing(run_jobs(fn, jobs, min(workers, len(jobs)), initargs)) as results:
            for _, n, s in results:
                frames += n
                seconds += s
                bar.update(1)
    finally:
        bar.close()
    return frames, seconds


def dress_scene(renderer: HumanoidRenderer, rng: np.random.Generator, texture: int, size: int) -> None:
    """Draw light, ground tint / tile / offset and background from ``rng`` (in that order) and hide props.

    Shared by the video sets; the draw order is part of each set's seed contract.
    """
    renderer.set_light(draw_light(rng))
    tile = rng.uniform(0.8, 2.5)
    renderer.set_ground_texture(texture, tuple(rng.uniform(0.8, 1.1, 3)), tile, tuple(rng.uniform(0, tile, 2)))
    renderer.set_background(make_background(rng, size, size))
    renderer.hide_props()
