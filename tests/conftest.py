"""Tiny synthetic fixtures: no test needs the internet or a real dataset."""
from __future__ import annotations

import numpy as np
import pytest

from actkit.data.schema import encode_png


def make_shape(kind: str, rng: np.random.Generator, h: int = 40, w: int = 30) -> np.ndarray:
    """A noisy crop with a bright vertical bar, horizontal bar or blob: learnable in a few epochs."""
    img = (rng.random((h, w, 3)) * 60).astype(np.uint8)
    colour = rng.integers(150, 256, 3)
    cy, cx = h // 2 + rng.integers(-3, 4), w // 2 + rng.integers(-3, 4)
    if kind == "tall":
        img[max(0, cy - 14):cy + 14, max(0, cx - 3):cx + 3] = colour
    elif kind == "wide":
        img[max(0, cy - 3):cy + 3, max(0, cx - 12):cx + 12] = colour
    else:
        img[max(0, cy - 6):cy + 6, max(0, cx - 6):cx + 6] = colour
    return img


def write_shapes_parquet(path, classes=("blob", "tall", "wide"), per_class: int = 60, seed: int = 0, extra_cols: bool = True):
    """Write an actkit-format crop Parquet of shapes with groups of 5 frames, split by group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rows = {k: [] for k in ("split", "label", "class_id", "image_bytes", "group", "width", "height", "source")}
    for cid, name in enumerate(sorted(classes)):
        for i in range(per_class):
            g = i // 5
            split = "test" if g % 6 == 0 else "val" if g % 6 == 1 else "train"
            img = make_shape(name, rng)
            rows["split"].append(split)
            rows["label"].append(name)
            rows["class_id"].append(cid)
            rows["image_bytes"].append(encode_png(img))
            rows["group"].append(f"{name}_{g}")
            rows["width"].append(img.shape[1])
            rows["height"].append(img.shape[0])
            rows["source"].append(f"synthetic:{name}:{i}")
    if not extra_cols:
        for k in ("group", "width", "height"):
            rows.pop(k)
    pq.write_table(pa.table(rows), path)
    return path


@pytest.fixture(scope="session")
def shapes_parquet(tmp_path_factory):
    return write_shapes_parquet(tmp_path_factory.mktemp("data") / "shapes.parquet")
