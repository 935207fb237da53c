"""`actkit keypoints`: body keypoints of the main person in every frame of a source (file, camera, URL, folder).

One BlazePose run per frame in tracking mode (the region comes from the previous frame's landmarks; the
detector runs only when they are lost). Each frame gives an :class:`~actkit.results.Results` whose
``keypoints`` hold MediaPipe's 33 points (``COCO17`` indexes the COCO-17 view of them); ``label`` is
``person`` or ``none`` with the pose score as its probability.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.video.sources import open_source
from ..results import Results
from ..utils.io import atomic_write
from .filters import OneEuroFilter, object_scale
from .pose import NUM_LANDMARKS, BlazePose


PARTS = ("body", "hands", "face")
# MediaPipe-33 indices of COCO-17's nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles.
COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# Lines of the drawn skeleton (MediaPipe-33 indices).
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27),
         (24, 26), (26, 28), (27, 31), (28, 32), (0, 11), (0, 12))


def check_parts(parts: Sequence[str]) -> tuple[str, ...]:
    parts = tuple(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ValueError(f"unknown parts {unknown or parts}; choose from {', '.join(PARTS)}")
    if set(parts) - {"body"}:
        raise ValueError(f"{', '.join(sorted(set(parts) - {'body'}))}: not available yet; `--parts body` is")
    return parts


def keypoints(source: str | int | Path, parts: Sequence[str] = ("body",), threads: int = 1,
              max_frames: int | None = None) -> Iterator[Results]:
    """Body keypoints, frame by frame: ``for r in actkit.keypoints("video.mp4"): r.keypoints["xy"]``.

    Args:
        source: camera index, video file, URL or folder of frames (as ``actkit stream`` takes).
        parts: what to find; ``body`` for now.
        threads: LiteRT threads per model.
        max_frames: stop after this many frames.
    """
    for r, _ in KeypointRun(source, parts, threads, max_frames):
        yield r


class KeypointRun:
    """Iterate ``(Results, frame)`` over a source; ``fps`` is the source's (opened at construction, so a bad
    source fails at once)."""

    def __init__(self, source: str | int | Path, parts: Sequence[str] = ("body",), threads: int = 1,
                 max_frames: int | None = None, smooth: bool = True) -> None:
        check_parts(parts)
        self.pose = BlazePose(threads)
        self.src = open_source(source)
        self.fps = self.src.fps or 10.0
        self.max_frames = max_frames
        # One Euro on coordinates divided by the body's size (as MediaPipe smooths pose landmarks)
        self.filter = OneEuroFilter() if smooth else None

    def __iter__(self) -> Iterator[tuple[Results, np.ndarray]]:
        src, previous, i = self.src, None, 0
        try:
            while (self.max_frames is None or i < self.max_frames) and (rgb := src.read()) is not None:
                t0 = time.perf_counter()
                previous = lm = self.pose(rgb, previous)
                score = float(np.clip(lm.score, 0.0, 1.0)) if lm is not None else 0.0
                kp = None if lm is None else {"layout": "mediapipe33", "xy": lm.xy, "z": lm.z,
                                              "visibility": lm.visibility, "presence": lm.presence, "score": score}
                if self.filter is not None:
                    if kp is None:
                        self.filter.reset()
                    else:  # the tracking region keeps the raw landmarks; what is reported is smoothed
                        sm = self.filter(np.column_stack([lm.xy, lm.z]), i / self.fps, object_scale(lm.xy))
                        kp["xy"], kp["z"] = sm[:, :2].astype(np.float32), sm[:, 2].astype(np.float32)
                yield Results(np.array([1.0 - score, score], np.float32), ["none", "person"], source=src.name,
                              frame=i, timings={"keypoints": (time.perf_counter() - t0) * 1e3}, keypoints=kp,
                              timestamp=round(i / src.fps, 4) if src.fps and not src.live else None), rgb
                i += 1
        finally:
            src.close()


def draw(rgb: np.ndarray, r: Results, min_visibility: float = 0.5) -> np.ndarray:
    """An RGB copy of ``rgb`` with the skeleton of ``r.keypoints`` drawn (visible points only)."""
    import cv2

    out = np.ascontiguousarray(rgb.copy())
    kp = r.keypoints
    if kp is None:
        return out
    xy, vis = np.asarray(kp["xy"]), np.asarray(kp["visibility"])
    for a, b in BONES:
        if vis[a] >= min_visibility and vis[b] >= min_visibility:
            cv2.line(out, tuple(int(v) for v in xy[a]), tuple(int(v) for v in xy[b]), (0, 220, 0), 2, cv2.LINE_AA)
    for k in range(NUM_LANDMARKS):
        if vis[k] >= min_visibility:
            cv2.circle(out, tuple(int(v) for v in xy[k]), 3, (255, 60, 60), -1, cv2.LINE_AA)
    return out


def run_keypoints(source: str | int | Path, out: str | Path | None = None, annotate: str | Path | None = None,
                  parts: Sequence[str] = ("body",), threads: int = 1, max_frames: int | None = None) -> dict[str, Any]:
    """The ``actkit keypoints`` verb: ``out`` as JSON lines (one per frame) or, for a ``.parquet`` name, the
    keypoint sequence format (:mod:`.sequence`), written atomically at the end; an annotated mp4 to
    ``annotate``; returns a summary."""
    from ..data.video.writer import VideoWriter

    run = KeypointRun(source, parts, threads, max_frames)
    frames = found = 0
    ms: list[float] = []
    kept: list[Results] = []
    writer = VideoWriter(annotate, run.fps, "mp4v") if annotate else None
    try:
        for r, rgb in run:
            frames += 1
            found += r.keypoints is not None
            ms.append(r.timings["keypoints"])
            kept.append(r)
            if writer is not None:
                writer.write(draw(rgb, r))
    finally:
        if writer is not None:
            writer.close()
    if out and Path(out).suffix == ".parquet":
        from .sequence import save_sequences, sequence_array

        save_sequences(out, [{"source": str(source), "fps": run.fps, "keypoints": sequence_array(kept)}])
    elif out:
        with atomic_write(out, "w") as f:
            f.writelines(json.dumps(r.to_dict()) + "\n" for r in kept)
    return {"frames": frames, "with_person": found, "ms_per_frame_median": float(np.median(ms)) if ms else None,
            "out": str(out) if out else None, "annotate": str(annotate) if annotate else None}
