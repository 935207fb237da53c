"""``actkit synth eyes``: drawn 24x40 eye crops labelled open / closed, the shape of OCEC's eye-state crops.

Each sample is drawn at four times its size and shrunk with area averaging (as :func:`eye_crop` does to a
video frame): skin with shading and pores, an almond eye between two corners, sclera, an iris with pupil and
a catch light, lids whose gap is the sample's *openness* (0 shut .. 1 wide), a lash line, the lid crease,
sometimes a brow at the top and a glasses rim; then light, colour cast, contrast, sometimes grey (an infrared
camera), blur, noise and JPEG artefacts.

The crop geometry is the one the drowsiness app cuts from face landmarks: the eye's corners level, the eye
about ``1 / EYE_SPAN`` of the crop's width, drawn here with the spread that landmark noise gives (width,
centre, tilt). Labels: ``closed`` for openness below 0.15, ``open`` above 0.4; nothing in between is drawn.

Splits never share a look: skin tones, iris colours and lighting are drawn from per-split ranges
(:data:`SKIN` and :data:`IRIS` are cut in three), so the test split measures eyes the model has not seen.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CROP_HW = (24, 40)
EYE_SPAN = 1.6  # crop width over eye width (corner to corner)
LABELS = ("closed", "open")  # sorted: class_id is the index
SCALE = 4  # drawn at 4x, shrunk with area averaging
SPLIT_SHARES = {"train": 0.7, "val": 0.15, "test": 0.15}

# Skin base colours (RGB), light to dark, and iris colours; each split draws from its own interleaved share.
SKIN = np.array([[236, 200, 180], [226, 185, 160], [210, 165, 135], [198, 150, 118], [180, 130, 100],
                 [160, 112, 84], [141, 95, 70], [120, 80, 58], [98, 66, 48], [80, 54, 40], [245, 215, 195],
                 [218, 178, 150]], np.float32)
IRIS = np.array([[70, 45, 25], [100, 70, 40], [60, 90, 140], [90, 120, 150], [80, 110, 70], [40, 30, 25],
                 [120, 95, 60], [110, 130, 130], [55, 70, 110]], np.float32)
SPLIT_OF_INDEX = ("train", "train", "val", "train", "train", "test", "train", "train", "val", "test", "train",
                  "test")


def palette(split: str, table: np.ndarray) -> np.ndarray:
    """The rows of ``table`` a split may draw (rows assigned round-robin by :data:`SPLIT_OF_INDEX`)."""
    return table[[i for i in range(len(table)) if SPLIT_OF_INDEX[i % len(SPLIT_OF_INDEX)] == split]]


def _lid(x: np.ndarray, half: float, height: float, skew: float) -> np.ndarray:
    """A lid's height above (or below) the corner line at ``x`` (relative to the eye centre)."""
    u = np.clip(x / half, -1, 1)
    return height * (1 - u ** 2) * (1 + skew * u)


def draw_eye(rng: np.random.Generator, openness: float, split: str = "train") -> np.ndarray:
    """One (24, 40, 3) uint8 eye crop with the given openness, in a look drawn from ``split``'s ranges."""
    import cv2

    h, w = CROP_HW[0] * SCALE, CROP_HW[1] * SCALE
    skin = palette(split, SKIN)[rng.integers(len(palette(split, SKIN)))] * rng.uniform(0.9, 1.1, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1 + rng.uniform(-0.25, 0.25) * (xx / w - 0.5) + rng.uniform(-0.2, 0.2) * (yy / h - 0.5)
    img = skin[None, None] * shade[..., None]
    img += rng.normal(0, rng.uniform(2, 7), (h, w, 1)).astype(np.float32)  # pores, sensor grain
    # The eye: corners level after the crop's rotation, spread as landmark noise spreads them.
    half = w / EYE_SPAN / 2 * rng.uniform(0.85, 1.15)
    cx, cy = w / 2 + rng.uniform(-0.08, 0.08) * w, h / 2 + rng.uniform(-0.1, 0.1) * h
    tilt = np.deg2rad(rng.uniform(-8, 8))
    xr = (xx - cx) * np.cos(tilt) + (yy - cy) * np.sin(tilt)  # coordinates in the eye's frame
    yr = -(xx - cx) * np.sin(tilt) + (yy - cy) * np.cos(tilt)
    skew = rng.uniform(-0.25, 0.25) * (1 if rng.random() < 0.5 else -1)
    full = half * rng.uniform(0.55, 0.8)  # the upper lid's height when wide open
    low = _lid(xr, half, full * rng.uniform(0.18, 0.35), -skew)
    # The upper lid's edge above the corner line; a shut lid sags onto the lower lid's curve.
    up = _lid(xr, half, max(openness, 0.0) * full, skew) - 0.8 * low * max(0.0, 1 - openness / 0.4)
    inside = (np.abs(xr) < half) & (yr > -up) & (yr < low)
    crease = np.abs(yr + _lid(xr, half * 1.08, full * rng.uniform(1.1, 1.5), skew)) < SCALE * 0.6
    img[crease & (np.abs(xr) < half)] *= rng.uniform(0.7, 0.88)
    sclera = np.array([235, 230, 225], np.float32) * rng.uniform(0.75, 1.0) * rng.uniform(0.95, 1.05, 3)
    img[inside] = sclera * (0.8 + 0.2 * (1 - np.abs(xr[inside]) / half))[:, None]
    r_iris = half * rng.uniform(0.36, 0.48)
    ix, iy = rng.uniform(-0.35, 0.35) * half, rng.uniform(-0.15, 0.1) * full
    d = np.hypot(xr - ix, yr - iy)
    iris = palette(split, IRIS)[rng.integers(len(palette(split, IRIS)))] * rng.uniform(0.8, 1.2, 3)
    img[inside & (d < r_iris)] = iris * (0.75 + 0.25 * rng.random())
    img[inside & (d < r_iris * rng.uniform(0.35, 0.55))] = rng.uniform(5, 25)
    glint = np.hypot(xr - ix - 0.3 * r_iris, yr - iy + 0.3 * r_iris) < r_iris * 0.15
    img[inside & glint] = 245
    taper = np.sqrt(np.clip(1 - (xr / half) ** 2, 0.1, 1))
    lash = (np.abs(xr) < half * 1.02) & (np.abs(yr + up) < SCALE * rng.uniform(0.4, 1.2) * taper)
    img[lash] = img[lash] * 0.25 + rng.uniform(10, 40)
    img[(np.abs(xr) < half) & (np.abs(yr - low) < SCALE * 0.4)] *= 0.8
    if rng.random() < 0.5:  # the brow along the top
        brow = np.abs(yr + full * rng.uniform(2.2, 3.0) - 0.002 * xr ** 2 / SCALE) < SCALE * rng.uniform(1.0, 2.2)
        img[brow & (np.abs(xr) < half * 1.3)] *= rng.uniform(0.35, 0.6)
    if rng.random() < 0.15:  # a glasses rim
        cv2.rectangle(img, (int(rng.uniform(-0.2, 0.1) * w), int(rng.uniform(0.0, 0.15) * h)),
                      (int(rng.uniform(0.9, 1.2) * w), int(rng.uniform(0.85, 1.0) * h)),
                      tuple(float(v) for v in rng.uniform(10, 80, 3)), int(SCALE * rng.uniform(0.5, 1.5)))
    img = img * rng.uniform(0.45, 1.3) + rng.uniform(-25, 25)  # exposure
    img *= rng.uniform(0.88, 1.12, 3)  # white balance
    img = img.mean() + (img - img.mean()) * rng.uniform(0.5, 1.0)  # contrast
    if rng.random() < 0.15:  # a grey camera (infrared, as in cabins)
        img = np.repeat(img.mean(2, keepdims=True), 3, axis=2)
    img = cv2.resize(np.clip(img, 0, 255).astype(np.uint8), CROP_HW[::-1], interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0))
    img = np.clip(img + rng.normal(0, rng.uniform(0, 6), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img[:, ::-1].copy() if rng.random() < 0.5 else img  # the tear duct on either side


def sample_openness(rng: np.random.Generator) -> tuple[float, str]:
    """An openness and its label: closed (0 .. 0.15) for 45 % of samples, open (0.4 .. 1.1) otherwise."""
    if rng.random() < 0.45:
        return float(rng.uniform(-0.05, 0.15)), "closed"
    return float(rng.uniform(0.4, 1.1)), "open"


def render_eyes(out: str | Path, n: int = 20000, seed: int = 0, progress: bool | None = None) -> dict:
    """Draw ``n`` labelled eye crops to a Parquet crop set (the columns :mod:`actkit.data.schema` requires,
    plus ``openness``); same seed, same file. Returns a summary (``path``, ``rows``, ``labels``, ``splits``,
    ``seconds``)."""
    import pyarrow as pa

    from ...utils import atomic_write_parquet
    from ...utils import progress as progress_bar
    from ..schema import encode_png

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    start = time.perf_counter()
    splits = list(SPLIT_SHARES)
    rows = []
    bar = progress_bar(total=n, desc="eyes", unit="img", enable=progress)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        split = splits[int(np.searchsorted(np.cumsum(list(SPLIT_SHARES.values())), rng.random(), side="right"))]
        openness, label = sample_openness(rng)
        img = draw_eye(rng, openness, split)
        rows.append({"split": split, "label": label, "class_id": LABELS.index(label), "image_bytes": encode_png(img),
                     "group": f"eyes-{seed}-{i:06d}", "width": CROP_HW[1], "height": CROP_HW[0],
                     "source": "synth:eyes", "openness": openness})
        bar.update(1)
    bar.close()
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    atomic_write_parquet(out, table)
    seconds = time.perf_counter() - start
    summary = {"path": str(out), "n": n, "seed": seed, "rows": len(rows),
               "labels": dict(sorted(Counter(r["label"] for r in rows).items())),
               "splits": {s: dict(sorted(Counter(r["label"] for r in rows if r["split"] == s).items())) for s in splits},
               "seconds": round(seconds, 2)}
    logger.info("wrote %d eye crops to %s in %.1f s", len(rows), out, seconds)
    return summary
