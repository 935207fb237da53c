"""The keypoint sequence format later models read: a Parquet table, one row per video.

Columns: ``source`` (string), ``fps`` (float), ``frames``, ``people``, ``joints`` (ints), ``layout``
(``mediapipe33``) and ``keypoints``: a flat float32 list of frames x people x joints x 4 values
(x, y in pixels, z on x's scale, visibility), NaN where nobody was found.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..results import Results
from ..utils.io import atomic_write_parquet

LAYOUTS = {"mediapipe33": 33}


def sequence_array(results: Sequence[Results], people: int = 1, joints: int = 33) -> np.ndarray:
    """(frames, people, joints, 4) from per-frame Results (their ``keypoints``; NaN for frames without)."""
    out = np.full((len(results), people, joints, 4), np.nan, np.float32)
    for t, r in enumerate(results):
        kp = r.keypoints
        if kp is not None:
            out[t, 0, :, :2] = np.asarray(kp["xy"], np.float32)
            out[t, 0, :, 2] = np.asarray(kp["z"], np.float32)
            out[t, 0, :, 3] = np.asarray(kp["visibility"], np.float32)
    return out


def save_sequences(path: str | Path, videos: Sequence[dict[str, Any]]) -> Path:
    """Write ``[{"source", "fps", "keypoints": (frames, people, joints, 4) array, "layout"}]`` atomically."""
    import pyarrow as pa

    rows = {"source": [], "fps": [], "frames": [], "people": [], "joints": [], "layout": [], "keypoints": []}
    for v in videos:
        a = np.asarray(v["keypoints"], np.float32)
        if a.ndim != 4 or a.shape[3] != 4 or a.shape[2] != LAYOUTS.get(v.get("layout", "mediapipe33"), -1):
            raise ValueError(f"{v.get('source')}: keypoints must be (frames, people, joints, 4) in a known layout, "
                             f"got {a.shape}")
        for k, val in (("source", str(v["source"])), ("fps", float(v["fps"])), ("frames", a.shape[0]),
                       ("people", a.shape[1]), ("joints", a.shape[2]), ("layout", v.get("layout", "mediapipe33")),
                       ("keypoints", a.ravel().tolist())):
            rows[k].append(val)
    table = pa.table({k: pa.array(v, pa.list_(pa.float32()) if k == "keypoints" else None) for k, v in rows.items()})
    atomic_write_parquet(path, table)
    return Path(path)


def load_sequences(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a keypoint Parquet with ``keypoints`` reshaped to (frames, people, joints, 4)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"keypoint file not found: {path}")
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise ValueError(f"{path}: not a readable Parquet file ({type(e).__name__})") from None
    out = []
    for i, r in enumerate(rows):
        try:
            shape = (int(r["frames"]), int(r["people"]), int(r["joints"]), 4)
            a = np.asarray(r["keypoints"], np.float32).reshape(shape)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}, row {i}: not a keypoint sequence ({e})") from None
        out.append({**{k: r[k] for k in ("source", "fps", "layout")}, "keypoints": a})
    return out
