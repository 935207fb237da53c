"""The keypoint sequence format later models read: a Parquet table, one row per video.

Columns: ``source`` (string), ``fps`` (float), ``frames``, ``people``, ``joints`` (ints), ``layout`` and
``keypoints``: a flat float32 list of frames x people x joints x 4 values (x, y in pixels, z on x's scale,
visibility), NaN where nobody was found. Layouts: ``mediapipe33`` (the body) and ``holistic`` (553 joints: the
33 body points, the person's left hand's 21, the right hand's 21, the face's 468, then the right and left
irises' 5 each; hand and face points found get visibility 1). Tracked people are in order of first
appearance.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..results import Results
from ..utils.io import atomic_write_parquet

LAYOUTS = {"mediapipe33": 33, "holistic": 553}
HAND_OFFSET = {"left": 33, "right": 54}
FACE_OFFSET, IRIS_OFFSET = 75, 543


def layout_for(parts: Sequence[str]) -> str:
    """``mediapipe33`` for the body alone, else ``holistic``."""
    return "mediapipe33" if set(parts) == {"body"} else "holistic"


def person_rows(kp: dict[str, Any] | None, layout: str = "mediapipe33") -> np.ndarray:
    """(joints, 4) rows of one person's ``Results.keypoints`` in ``layout`` (NaN for what was not found)."""
    out = np.full((LAYOUTS[layout], 4), np.nan, np.float32)
    if kp is None:
        return out
    if "xy" in kp:
        out[:33, :2], out[:33, 2], out[:33, 3] = kp["xy"], kp["z"], kp["visibility"]
    if layout == "holistic":
        for hand in kp.get("hands", []):
            o = HAND_OFFSET[hand["handedness"]]
            out[o:o + 21, :2], out[o:o + 21, 2], out[o:o + 21, 3] = hand["xy"], hand["z"], 1.0
        for face in kp.get("faces", [])[:1]:
            out[FACE_OFFSET:FACE_OFFSET + 468, :2], out[FACE_OFFSET:FACE_OFFSET + 468, 2] = face["xy"], face["z"]
            out[FACE_OFFSET:FACE_OFFSET + 468, 3] = 1.0
            for k, eye in enumerate(("right", "left")):
                if eye in face["irises"]:
                    o = IRIS_OFFSET + 5 * k
                    out[o:o + 5, :2], out[o:o + 5, 3] = face["irises"][eye], 1.0
    return out


def sequence_array(results: Sequence[Results], layout: str = "mediapipe33") -> np.ndarray:
    """(frames, people, joints, 4) from per-frame Results (their ``keypoints``, or their ``tracks``' in order of
    first appearance; NaN where a person is missing)."""
    slots: dict[int, int] = {}
    for r in results:
        for t in r.tracks or []:
            slots.setdefault(t.track_id, len(slots))
    out = np.full((len(results), max(1, len(slots)), LAYOUTS[layout], 4), np.nan, np.float32)
    for f, r in enumerate(results):
        if r.tracks is not None:
            for t in r.tracks:
                if t.keypoints is not None:
                    out[f, slots[t.track_id]] = person_rows(t.keypoints, layout)
        elif r.keypoints is not None:
            out[f, 0] = person_rows(r.keypoints, layout)
    return out


CORE = ("source", "fps", "frames", "people", "joints", "layout", "keypoints")


def save_sequences(path: str | Path, videos: Sequence[dict[str, Any]]) -> Path:
    """Write ``[{"source", "fps", "keypoints": (frames, people, joints, 4) array, "layout", ...}]`` atomically.
    Other keys with plain values (a ``label``, a ``split``, ...) become columns of their own."""
    import pyarrow as pa

    rows: dict[str, list] = {k: [] for k in CORE if k != "keypoints"}
    extra = sorted({k for v in videos for k in v if k not in CORE})
    blocks = []
    for v in videos:
        a = np.asarray(v["keypoints"], np.float32)
        if a.ndim != 4 or a.shape[3] != 4 or a.shape[2] != LAYOUTS.get(v.get("layout", "mediapipe33"), -1):
            raise ValueError(f"{v.get('source')}: keypoints must be (frames, people, joints, 4) in a known layout, "
                             f"got {a.shape}")
        for k, val in (("source", str(v["source"])), ("fps", float(v["fps"])), ("frames", a.shape[0]),
                       ("people", a.shape[1]), ("joints", a.shape[2]), ("layout", v.get("layout", "mediapipe33"))):
            rows[k].append(val)
        blocks.append(a.ravel())
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blocks])]).astype(np.int64)
    values = pa.array(np.concatenate(blocks) if blocks else np.zeros(0, np.float32), pa.float32())
    columns = {k: pa.array(v) for k, v in rows.items()}
    columns["keypoints"] = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    for k in extra:
        columns[k] = pa.array([v.get(k) for v in videos])
    atomic_write_parquet(path, pa.table(columns))
    return Path(path)


def load_sequences(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a keypoint Parquet with ``keypoints`` reshaped to (frames, people, joints, 4), and every
    other column as it is."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"keypoint file not found: {path}")
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise ValueError(f"{path}: not a readable Parquet file ({type(e).__name__})") from None
    missing = [k for k in CORE if k not in table.column_names]
    if missing:
        raise ValueError(f"{path}: not a keypoint sequence file (no {', '.join(missing)} column)")
    kp = table.column("keypoints").combine_chunks()
    flat = kp.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    offsets = kp.offsets.to_numpy()
    meta = table.drop_columns(["keypoints"]).to_pylist()
    out = []
    for i, r in enumerate(meta):
        try:
            shape = (int(r["frames"]), int(r["people"]), int(r["joints"]), 4)
            a = flat[offsets[i]:offsets[i + 1]].reshape(shape)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}, row {i}: not a keypoint sequence ({e})") from None
        out.append({**{k: v for k, v in r.items() if k not in ("frames", "people", "joints")}, "keypoints": a})
    return out
