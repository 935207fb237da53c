"""Crop preprocessing shared by training, evaluation, prediction and export calibration.

One function, :func:`crop_to_input`, turns an RGB image plus a box into the model's input, so
the resize used in training is exactly the resize used at inference (the reference family
trains with PIL antialiasing and deploys with cv2 bilinear: a silent accuracy loss).
Augmentations are drawn once per sample from an explicit ``numpy`` Generator (reproducible).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..models._base import DataConfig


@dataclass
class CropAugment:
    """Training-time augmentation strengths (all drawn once per crop)."""

    box_jitter: float = 0.08
    scale_jitter: float = 0.12
    hflip: bool = True
    colour_jitter: float = 0.25
    hue_jitter: float = 0.0  # turn colours by up to this fraction of a full turn (0: off)

    def __post_init__(self) -> None:
        check_hue_jitter(self.hue_jitter)


def jitter_box(box: np.ndarray, rng: np.random.Generator, shift: float, scale: float) -> np.ndarray:
    """Randomly shift and scale a pixel box ``[x0, y0, x1, y1]`` (detector-like box noise)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + rng.uniform(-shift, shift) * w
    cy = (y0 + y1) / 2 + rng.uniform(-shift, shift) * h
    sw = w * (1 + rng.uniform(-scale, scale))
    sh = h * (1 + rng.uniform(-scale, scale))
    return np.array([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2], dtype=np.float32)


def crop_resize(img: np.ndarray, box: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """Crop pixel ``box`` (may extend past the image: border pixels are replicated) and resize to (H, W).

    Downscaling uses area averaging (no aliasing on thin limbs), upscaling bilinear.
    """
    import cv2

    h, w = img.shape[:2]
    if box is not None:
        x0, y0, x1, y1 = [int(round(v)) for v in box]
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        pad = max(0, -x0, -y0, x1 - w, y1 - h)
        if pad:
            img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
        img = img[y0:y1, x0:x1]
    th, tw = size
    interp = cv2.INTER_AREA if img.shape[0] > th or img.shape[1] > tw else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(img), (tw, th), interpolation=interp)


def letterbox(img: np.ndarray, size: tuple[int, int], value: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and pad to (H, W); returns (image, scale, (pad_x, pad_y))."""
    import cv2

    th, tw = size
    h, w = img.shape[:2]
    r = min(th / h, tw / w)
    nh, nw = max(1, round(h * r)), max(1, round(w * r))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(img), (nw, nh), interpolation=interp)
    py, px = (th - nh) // 2, (tw - nw) // 2
    out = np.full((th, tw, img.shape[2]), value, np.uint8)
    out[py:py + nh, px:px + nw] = resized
    return out, r, (px, py)


def convert_colour(rgb: np.ndarray, mode: str) -> np.ndarray:
    """float32 RGB in [0, 1] (H, W, 3) -> the model's colour mode, each channel scaled to [0, 1]."""
    import cv2

    if mode == "rgb":
        return rgb
    if mode == "y":
        return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    if mode == "lab":
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        return ((lab + np.array([0, 128, 128], np.float32)) / np.array([100, 255, 255], np.float32)).astype(np.float32)
    if mode == "luv":
        luv = cv2.cvtColor(rgb, cv2.COLOR_RGB2Luv)
        return ((luv + np.array([0, 134, 140], np.float32)) / np.array([100, 354, 262], np.float32)).astype(np.float32)
    raise ValueError(f"unknown colour mode {mode!r}")


@functools.lru_cache(maxsize=16)
def _level_tables(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256, 1) float32: the normalised value ``(v / 255 - mean) / std`` of each uint8 level, per channel."""
    levels = np.arange(256, dtype=np.float32)[None, :] * np.float32(1.0 / 255.0)
    tables = (levels - np.asarray(mean, np.float32)[:, None]) * (1.0 / np.asarray(std, np.float32))[:, None]
    return np.ascontiguousarray(tables.astype(np.float32)[..., None])


def normalise_u8(rgb: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """uint8 RGB ``(..., H, W, 3)`` (a frame or a clip) -> the model's float32 input, channels first ``(C, ..., H, W)``.

    RGB models take one lookup table per channel (each of the 256 levels normalised once): one pass,
    no float intermediate. Other colour modes convert in float first. Every video input normalises
    here (clip training and evaluation, streams training windows, the live per-frame ``stream_input``),
    so they agree to the bit; crops, jittered in float, keep :func:`crop_to_input`.
    """
    import cv2

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim < 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected uint8 RGB (..., H, W, 3), got {rgb.dtype} {rgb.shape}")
    lead, w = rgb.shape[:-1], rgb.shape[-2]
    if cfg.colour == "rgb":
        planes = np.ascontiguousarray(np.moveaxis(rgb, -1, 0)).reshape(3, -1, w)
        tables = _level_tables(tuple(map(float, cfg.mean)), tuple(map(float, cfg.std)))
        out = np.empty(planes.shape, np.float32)
        for c in range(3):
            cv2.LUT(planes[c], tables[c], dst=out[c])
        return out.reshape(3, *lead)
    x = convert_colour(rgb.reshape(-1, w, 3).astype(np.float32) * np.float32(1.0 / 255.0), cfg.colour)
    x = (x - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x.reshape(*lead, x.shape[-1]), -1, 0), dtype=np.float32)


GREY = np.array([0.299, 0.587, 0.114], np.float32)  # luma weights of the colour jitter's grey


def jitter_draw(rng: np.random.Generator, strength: float) -> tuple[np.float64, np.float64, np.float64]:
    """Brightness offset, contrast and saturation factors of one colour-jitter draw (crops and clips alike);
    float64 scalars, so the float jitter computes in float64 before its cast back."""
    b, c, s = rng.uniform(-strength, strength, 3) * np.array([0.5, 1, 1]) + np.array([0, 1, 1])
    return b, c, s


def check_hue_jitter(hue: float) -> float:
    """``hue`` if it is a fraction of a turn in [0, 0.5], else ValueError."""
    if not 0 <= hue <= 0.5:
        raise ValueError(f"hue_jitter must be a fraction of a turn in [0, 0.5], got {hue}")
    return float(hue)


def hue_rotation(angle: float) -> np.ndarray:
    """The 3x3 RGB matrix that turns colours by ``angle`` radians about the grey axis (Rodrigues):
    greys stay grey, saturation and brightness are kept up to clipping; 2*pi/3 maps R -> G -> B -> R."""
    k = np.full(3, 1 / np.sqrt(3))
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return (np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(k, k)).astype(np.float32)


def hue_draw(rng: np.random.Generator, hue: float) -> np.ndarray:
    """One hue-jitter draw (crops and clips alike): :func:`hue_rotation` by an angle in ``[-hue, hue]`` of a turn."""
    return hue_rotation(float(rng.uniform(-hue, hue)) * 2 * np.pi)


def colour_jitter(rgb: np.ndarray, rng: np.random.Generator, strength: float, hue: float = 0.0) -> np.ndarray:
    """Brightness, contrast and saturation jitter on float RGB in [0, 1], one draw per crop; ``hue`` > 0 then
    turns every colour about the grey axis by an angle drawn in ``[-hue, hue]`` of a full turn (drawn last,
    so ``hue=0`` keeps the same draws)."""
    b, c, s = jitter_draw(rng, strength)
    grey = rgb @ GREY
    mean = float(grey.mean())
    # saturation (blend with grey), then contrast around the mean, then brightness: one pass
    out = (rgb * s + grey[..., None] * (1 - s) - mean) * c + (mean + b)
    if hue > 0:
        out = out @ hue_draw(rng, hue).T
    return np.clip(out, 0, 1, out=out).astype(np.float32, copy=False)


MAX_UPSCALE = 8.0  # a crop blown up more than this to the model's input carries little to decide on


def check_crop(image_hw: tuple[int, int], box: Sequence[float] | None, input_size: tuple[int, int],
               source: str = "input") -> float:
    """How many times the crop ``box`` (pixels ``x0, y0, x1, y1``; None: the whole image) is enlarged to the
    model's ``input_size``. A box with no area, or entirely outside the image, is a ValueError naming
    ``source``; callers warn when the factor exceeds :data:`MAX_UPSCALE`."""
    h, w = image_hw
    if box is None:
        x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
    else:
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"{source}: box {tuple(box)} has no area (need x0 < x1 and y0 < y1)")
        if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
            raise ValueError(f"{source}: box {tuple(box)} lies entirely outside the {w}x{h} image")
        x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h))
    return max(input_size[0] / max(y1 - y0, 1e-6), input_size[1] / max(x1 - x0, 1e-6))


def crop_to_input(img: np.ndarray, box_rel: np.ndarray | None, data_cfg: DataConfig,
                  rng: np.random.Generator | None = None, aug: CropAugment | None = None) -> np.ndarray:
    """RGB uint8 image + relative box -> float32 CHW model input (augmented when ``rng`` and ``aug``).

    Args:
        img: (H, W, 3) uint8 RGB.
        box_rel: ``[x0, y0, x1, y1]`` in [0, 1] relative to ``img``, or None for the whole image.
        data_cfg: the model's preprocessing (input size, colour mode, mean/std).
        rng: random generator for augmentation; None means deterministic (evaluation).
        aug: augmentation strengths; None means no augmentation.
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    h, w = img.shape[:2]
    box = None if box_rel is None else np.asarray(box_rel, np.float32) * np.array([w, h, w, h], np.float32)
    train = rng is not None and aug is not None
    if train and (aug.box_jitter or aug.scale_jitter):
        box = jitter_box(box if box is not None else np.array([0, 0, w, h], np.float32), rng, aug.box_jitter, aug.scale_jitter)
    out = crop_resize(img, box, data_cfg.input_size).astype(np.float32) / 255.0
    if train and aug.hflip and rng.random() < 0.5:
        out = out[:, ::-1]
    if train and (aug.colour_jitter or aug.hue_jitter):
        out = colour_jitter(out, rng, aug.colour_jitter, aug.hue_jitter)
    out = convert_colour(np.ascontiguousarray(out, dtype=np.float32), data_cfg.colour)
    out = (out - np.asarray(data_cfg.mean, np.float32)) / np.asarray(data_cfg.std, np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)
