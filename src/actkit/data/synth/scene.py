"""What the synthetic sets share about a scene: the humanoid's links, generated textures and
backgrounds, clothes, light and cameras, the held-out splits of viewpoints, palettes and ground
textures, and the body-part rotations the pose generators are built from."""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np

from .mocap import Pose, quat_rotate

NUM_LINKS = 15


LINKS = ("root", "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
         "right_wrist", "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist")


LINK = {name: i for i, name in enumerate(LINKS)}  # link index == joint index with URDF_MAINTAIN_LINK_ORDER


LEFT_LINKS = frozenset(i for i, name in enumerate(LINKS) if name.startswith("left_"))


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1] (float32): a ``cells`` x ``cells`` random grid upsampled bilinearly."""
    grid = rng.random((cells + 1, cells + 1), dtype=np.float32)
    ys = np.linspace(0, cells, height, endpoint=False, dtype=np.float32)
    xs = np.linspace(0, cells, width, endpoint=False, dtype=np.float32)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top, bottom = grid[y0], grid[y0 + 1]
    g = top[:, x0] * (1 - fx) + top[:, x0 + 1] * fx
    h = bottom[:, x0] * (1 - fx) + bottom[:, x0 + 1] * fx
    return g * (1 - fy) + h * fy


def _to_uint8(base: np.ndarray, other: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Blend two RGB colours (in [0, 1]) by the HxWx1 weight ``m`` in [0, 1] into an HxWx3 uint8 image."""
    base, other = (np.asarray(c, np.float32) * 255 for c in (base, other))
    return (base + np.clip(np.asarray(m, np.float32), 0, 1) * (other - base)).astype(np.uint8)


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxW uint32 holding opaque RGBA bytes (the layout of a pybullet image row)."""
    rgb = rgb.astype(np.uint32)
    return rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16) | np.uint32(0xFF000000)


def make_ground_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A floor texture (tiles, planks, stripes, carpet noise or grass), HxWx3 uint8."""
    base = rng.uniform(0.15, 0.85, 3)
    other = np.clip(base + rng.uniform(-0.35, 0.35, 3), 0, 1)
    yy, xx = np.ogrid[0:size, 0:size]
    yy, xx = yy / size, xx / size
    kind = rng.integers(5)
    if kind == 0:  # checker / tiles
        n = int(rng.choice([2, 4]))
        m = (np.floor(yy * n) + np.floor(xx * n)) % 2
    elif kind == 1:  # planks with grain
        n = int(rng.choice([4, 6, 8]))
        m = (np.floor(yy * n) % 2) * 0.5 + 0.5 * smooth_noise(rng, size, size, 16) ** 2
    elif kind == 2:  # stripes
        m = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + yy) * int(rng.choice([2, 4])))
    elif kind == 3:  # carpet / concrete
        m = 0.6 * smooth_noise(rng, size, size, 8) + 0.4 * rng.random((size, size))
    else:  # grass / gravel
        m = 0.5 * smooth_noise(rng, size, size, 4) + 0.5 * rng.random((size, size))
    return _to_uint8(base, other, np.broadcast_to(m, (size, size))[..., None])


def make_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random backdrop (sky gradient, wall with noise, stripes or blotches), HxWx3 uint8.

    Drawn at half resolution and upscaled: a quarter of the pixel work, and smoother images
    compress faster to PNG.
    """
    from PIL import Image

    h, w = max(1, height // 2), max(1, width // 2)
    c0, c1 = rng.uniform(0.05, 0.95, 3), rng.uniform(0.05, 0.95, 3)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    kind = rng.integers(4)
    if kind == 0:  # vertical gradient
        m = np.broadcast_to(yy, (h, w))
    elif kind == 1:  # diagonal gradient plus noise
        a = rng.uniform(0, 2 * np.pi)
        m = np.float32(np.cos(a)) * xx + np.float32(np.sin(a)) * yy
        m = (m - m.min()) / (m.max() - m.min() + 1e-6) * 0.7 + 0.3 * rng.random((h, w), dtype=np.float32)
    elif kind == 2:  # vertical stripes (shelves, curtains, fences)
        period = rng.uniform(3, 15) / w
        m = 0.8 * (np.sin(2 * np.pi * xx / np.float32(period)) > 0) + 0.2 * rng.random((h, w), dtype=np.float32)
    else:  # blotches
        m = smooth_noise(rng, h, w, int(rng.integers(2, 8)))
    small = Image.fromarray(_to_uint8(c0, c1, m[..., None]))
    return np.asarray(small.resize((width, height), Image.BILINEAR))


@dataclass
class Outfit:
    """Colours (RGB in [0, 1]) of a rendered person.

    Attributes:
        shirt: chest and upper arms (and forearms with ``long_sleeves``).
        trousers: pelvis and thighs (and shins unless ``shorts``).
        skin: head, hands and bare limbs.
        shoes: feet.
        long_sleeves: forearms wear the shirt colour.
        shorts: shins show skin.
        left_shade: brightness factor of the left side, so a mirrored body looks different.
    """

    shirt: tuple[float, float, float]
    trousers: tuple[float, float, float]
    skin: tuple[float, float, float]
    shoes: tuple[float, float, float]
    long_sleeves: bool = True
    shorts: bool = False
    left_shade: float = 0.82

    def link_colors(self) -> list[tuple[float, float, float]]:
        """RGB per link index."""
        part = {"root": self.trousers, "chest": self.shirt, "neck": self.skin, "hip": self.trousers,
                "knee": self.skin if self.shorts else self.trousers, "ankle": self.shoes, "shoulder": self.shirt,
                "elbow": self.shirt if self.long_sleeves else self.skin, "wrist": self.skin}
        colors = []
        for i, name in enumerate(LINKS):
            rgb = part[name.split("_")[-1]]
            colors.append(tuple(min(1.0, c * (self.left_shade if i in LEFT_LINKS else 1.0)) for c in rgb))
        return colors


@dataclass
class Light:
    """TinyRenderer lighting for one frame (``shadow`` stays off: it doubles the render time)."""

    direction: tuple[float, float, float] = (0.4, 1.0, 0.3)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05


@dataclass
class Camera:
    """A look-at camera: ``azimuth`` and ``elevation`` in degrees, azimuth about +y from +x towards +z."""

    target: tuple[float, float, float]
    distance: float
    azimuth: float
    elevation: float
    fov: float = 45.0

    def eye(self) -> np.ndarray:
        """Camera position in world coordinates."""
        az, el = np.radians(self.azimuth), np.radians(self.elevation)
        direction = np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
        return np.asarray(self.target, dtype=np.float64) + self.distance * direction


SPLITS = ("train", "val", "test")


SPLIT_WEIGHTS = (0.70, 0.15, 0.15)


NUM_SECTORS = 8


SPLIT_SECTORS = {"train": (0, 2, 4, 6), "val": (3, 5), "test": (1, 7)}


NUM_PALETTES = 12


SPLIT_PALETTES = {"train": (0, 1, 2, 4, 5, 7, 8, 10), "val": (3, 9), "test": (6, 11)}


NUM_TEXTURES = 12


SPLIT_TEXTURES = {"train": tuple(range(8)), "val": (8, 9), "test": (10, 11)}


LEG_LENGTH = 0.8814  # hip joint to sole of the upright humanoid, metres


def draw_outfit(rng: np.random.Generator, palette: int) -> Outfit:
    hue = palette * 30.0
    shirt = colorsys.hsv_to_rgb(((hue + rng.uniform(-12, 12)) % 360) / 360, rng.uniform(0.35, 0.9),
                                rng.uniform(0.45, 0.95))
    trousers = colorsys.hsv_to_rgb(((hue + 195 + rng.uniform(-12, 12)) % 360) / 360, rng.uniform(0.15, 0.7),
                                   rng.uniform(0.2, 0.65))
    tone = rng.random()  # light to dark skin along a natural ramp
    skin = tuple(np.array([0.96, 0.82, 0.70]) * (1 - tone) + np.array([0.33, 0.21, 0.14]) * tone)
    shoes = tuple(np.full(3, rng.uniform(0.05, 0.45)) * rng.uniform(0.8, 1.2, 3))
    return Outfit(shirt, trousers, skin, shoes, long_sleeves=bool(rng.random() < 0.6),
                  shorts=bool(rng.random() < 0.25), left_shade=rng.uniform(0.78, 0.88))


def draw_light(rng: np.random.Generator) -> Light:
    direction = rng.normal(size=3)
    direction[1] = abs(direction[1]) + 0.4
    return Light(tuple(direction / np.linalg.norm(direction)), tuple(1.0 - rng.uniform(0, 0.25, 3)),
                 ambient=rng.uniform(0.45, 0.75), diffuse=rng.uniform(0.2, 0.6), specular=rng.uniform(0.0, 0.3))


def facing_direction(pose: Pose) -> np.ndarray:
    """Horizontal facing of the pelvis: perpendicular to its right (+z) axis."""
    right = quat_rotate(pose.root_orn, np.array([0.0, 0.0, 1.0]))
    fwd = np.array([right[2], 0.0, -right[0]])
    n = np.linalg.norm(fwd)
    if n < 1e-3:  # hips stacked vertically: use the pelvis forward axis
        fwd = quat_rotate(pose.root_orn, np.array([1.0, 0.0, 0.0])) * np.array([1.0, 0.0, 1.0])
        n = np.linalg.norm(fwd) + 1e-12
    return fwd / n


def draw_camera(rng: np.random.Generator, pose: Pose, sector: int, reach: float) -> tuple[float, float, float, float]:
    """A camera in azimuth ``sector`` measured from the body's facing in ``pose``, far enough for a
    body of radius ``reach`` to fit: ``(azimuth, fov, distance, elevation)``, degrees and metres."""
    fwd = facing_direction(pose)
    az_rel = sector * 360.0 / NUM_SECTORS + rng.uniform(-0.5, 0.5) * 360.0 / NUM_SECTORS
    azimuth = math.degrees(math.atan2(fwd[2], fwd[0])) + az_rel
    fov = rng.uniform(35, 60)
    distance = reach / (rng.uniform(0.8, 1.0) * math.tan(math.radians(fov) / 2))
    elevation = rng.uniform(-2, 30)
    return azimuth, fov, distance, elevation


def smooth_series(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (edge-padded), ``sigma`` in samples."""
    if sigma <= 0:
        return x
    r = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.concatenate([np.repeat(x[:1], r, 0), x, np.repeat(x[-1:], r, 0)])
    return np.stack([np.convolve(pad[:, d], k, mode="valid") for d in range(x.shape[1])], axis=1)


