"""Clip models on long videos: sliding windows, a timeline (JSON / CSV) and an annotated mp4.

A clip model sees ``num_frames`` frames. On a long video, :func:`iter_windows` slides a window
of ``window`` source frames (default: ``num_frames`` frames at the model's frame rate) by
``stride`` frames, samples ``num_frames`` frames evenly inside each window and classifies
them. The video is decoded once, front to back, keeping only the preprocessed frames of the
current window, so memory does not grow with the length of the video.

:func:`merge_segments` turns the window predictions into labelled segments (consecutive
windows with the same label), which is what a person reading a timeline wants.
"""
from __future__ import annotations

import csv
import io
import logging
import math
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..results import Results

log = logging.getLogger(__name__)


def video_fps(path: str | Path) -> float:
    """Frame rate from the container; 0 when unknown or unreadable."""
    from ..data.video.sources import open_source

    try:
        src = open_source(path)
    except (ValueError, FileNotFoundError):
        return 0.0
    try:
        return float(src.fps or 0.0)
    finally:
        src.close()


def window_geometry(num_frames: int, model_fps: float, source_fps: float, window: int | None = None,
                    stride: int | None = None) -> tuple[int, int]:
    """(window, stride) in source frames. Default window: ``num_frames`` at the model's frame rate."""
    if window is None:
        step = max(1, round(source_fps / model_fps)) if model_fps > 0 and source_fps > 0 else 1
        window = num_frames * step
    if window < 1:
        raise ValueError(f"window must be >= 1 frame, got {window}")
    stride = stride if stride is not None else max(1, window // 2)
    if stride < 1:
        raise ValueError(f"stride must be >= 1 frame, got {stride}")
    return int(window), int(stride)


def sample_positions(window: int, num_frames: int) -> np.ndarray:
    """Which of a window's ``window`` frames feed the model: ``num_frames`` evenly spread (repeats if short)."""
    return np.floor((np.arange(num_frames) + 0.5) * window / num_frames).astype(int).clip(0, window - 1)


def iter_windows(predictor: Any, source: str | Path, window: int | None = None, stride: int | None = None,
                 batch: int = 4) -> Iterator[Results]:
    """Classify sliding windows of a video with a clip model; one :class:`Results` per window.

    ``Results.frame`` is the window's first frame and ``Results.end_frame`` its last; a video
    shorter than the window gives one window over all its frames (repeated frames fill it).

    Args:
        predictor: a loaded clip model (:class:`actkit.engine.predictor.Predictor`).
        source: a video file.
        window: window length in source frames (default: ``num_frames`` at the model's fps).
        stride: frames between window starts (default: half a window).
        batch: windows per inference call.
    """
    from ..data.video import ClipTransform
    from ..data.video.sources import iter_video

    cfg = predictor.data_cfg
    fps = video_fps(source)
    window, stride = window_geometry(cfg.num_frames, cfg.fps, fps, window, stride)
    picks = sample_positions(window, cfg.num_frames)
    transform = ClipTransform(cfg)
    params = None
    recent: deque[np.ndarray] = deque(maxlen=window)
    pending: list[tuple[int, int, np.ndarray]] = []
    next_start, last, last_end = 0, -1, -1

    def flush() -> Iterator[Results]:
        if not pending:
            return
        import time

        t0 = time.perf_counter()
        probs = predictor.infer(np.stack([x for _, _, x in pending]))
        ms = (time.perf_counter() - t0) * 1e3 / len(pending)
        for (s, e, _), p in zip(pending, probs):
            yield Results(p, predictor.class_names, predictor.threshold, str(source), None, s,
                          timings={"inference": ms}, timestamp=s / fps if fps else None, end_frame=e)
        pending.clear()

    def clip_of(frames: list[np.ndarray]) -> np.ndarray:
        chosen = sample_positions(len(frames), cfg.num_frames) if len(frames) < window else picks
        return np.concatenate([frames[i] for i in chosen], axis=1)

    for i, frame in iter_video(source):
        if params is None:
            params = transform.draw(*frame.shape[:2])
        recent.append(transform.apply(frame[None], params))  # (C, 1, h, w)
        last = i
        if i - next_start + 1 == window:
            pending.append((next_start, i, clip_of(list(recent))))
            next_start, last_end = next_start + stride, i
            if len(pending) >= batch:
                yield from flush()
    if last >= 0 and last_end < 0:  # shorter than one window: one window over everything
        pending.append((0, last, clip_of(list(recent))))
    elif last > last_end:  # the tail the stride stepped over: one more window ending at the last frame
        pending.append((last - window + 1, last, clip_of(list(recent))))
    yield from flush()


def merge_segments(results: list[Results]) -> list[dict[str, Any]]:
    """Consecutive windows with the same label as segments ``{label, start_frame, end_frame, confidence}``."""
    segments: list[dict[str, Any]] = []
    for r in results:
        if segments and segments[-1]["label"] == r.label and r.frame <= segments[-1]["end_frame"] + 1:
            seg = segments[-1]
            seg["end_frame"] = max(seg["end_frame"], r.end_frame)
            seg["_conf"].append(r.confidence)
        else:
            segments.append({"label": r.label, "start_frame": r.frame, "end_frame": r.end_frame, "_conf": [r.confidence]})
    for seg in segments:
        seg["confidence"] = float(np.mean(seg.pop("_conf")))
    return segments


def write_timeline(path: str | Path, results: list[Results], source: str | Path, fps: float, window: int,
                   stride: int, model: str) -> dict[str, Any]:
    """Write the window predictions and merged segments as JSON (``.json``) or CSV (any other suffix)."""
    from ..utils.io import atomic_write, atomic_write_json

    segments = merge_segments(results)
    doc = {"source": str(source), "model": model, "fps": fps, "window": window, "stride": stride,
           "class_names": results[0].names if results else [], "segments": segments,
           "windows": [{"start_frame": r.frame, "end_frame": r.end_frame, "label": r.label,
                        "confidence": r.confidence, "probs": [float(p) for p in r.probs]} for r in results]}
    path = Path(path)
    if path.suffix.lower() == ".json":
        atomic_write_json(path, doc)
        return doc
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_frame", "end_frame", "start_s", "end_s", "label", "confidence"])
    for r in results:
        w.writerow([r.frame, r.end_frame, _sec(r.frame, fps), _sec(r.end_frame + 1, fps), r.label, f"{r.confidence:.4f}"])
    with atomic_write(path, "w") as f:
        f.write(buf.getvalue())
    return doc


def _sec(frame: int, fps: float) -> str:
    return f"{frame / fps:.3f}" if fps else ""


def label_per_frame(results: list[Results], num_frames: int) -> list[Results | None]:
    """For each frame, the window whose centre is nearest (None before any window)."""
    if not results:
        return [None] * num_frames
    centres = np.array([(r.frame + r.end_frame) / 2 for r in results])
    return [results[int(np.argmin(np.abs(centres - i)))] for i in range(num_frames)]


def write_annotated(path: str | Path, source: str | Path, results: list[Results], fps: float | None = None) -> None:
    """Re-decode ``source`` and write it with each frame's label and confidence drawn on it (mp4)."""
    import cv2

    from ..data.video.writer import pick_codec, write_video
    from ..data.video.sources import iter_video

    fps = fps or video_fps(source) or 16.0
    frames = [f for _, f in iter_video(source)]
    per_frame = label_per_frame(results, len(frames))

    def drawn() -> Iterator[np.ndarray]:
        for img, r in zip(frames, per_frame):
            img = np.ascontiguousarray(img)
            if r is not None:
                scale = max(0.35, img.shape[0] / 360)
                text = f"{r.label} {r.confidence:.2f}"
                (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
                cv2.rectangle(img, (0, 0), (tw + 8, th + 10), (0, 0, 0), -1)
                cv2.putText(img, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
            if img.shape[0] % 2 or img.shape[1] % 2:  # H.264 wants even sizes
                img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
            yield img

    write_video(path, drawn(), int(math.ceil(fps)), pick_codec())


def predict_video_timeline(predictor: Any, source: str | Path, window: int | None = None, stride: int | None = None,
                           timeline: str | Path | None = None, annotate: str | Path | None = None) -> list[Results]:
    """Sliding-window clip predictions over ``source``, optionally written as a timeline and an annotated mp4."""
    results = list(iter_windows(predictor, source, window, stride))
    if not results:
        raise ValueError(f"{source}: no frames to classify")
    fps = video_fps(source)
    w, s = window_geometry(predictor.data_cfg.num_frames, predictor.data_cfg.fps, fps, window, stride)
    if timeline:
        write_timeline(timeline, results, source, fps, w, s, predictor.model_name)
    if annotate:
        write_annotated(annotate, source, results, fps)
    log.info("%s: %d windows of %d frames (stride %d)", source, len(results), w, s)
    return results
