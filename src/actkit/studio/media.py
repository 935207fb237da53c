"""Videos in the studio: uploads checked by decoding and stored as mp4, frame strips for annotation, and a
trained classifier run over a video (labels per frame, events, an annotated mp4)."""
from __future__ import annotations

import io
import logging
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
STRIP_FPS = 8.0  # frames per second of video shown in the annotation strip (one tag each)
THUMB_HEIGHT = 96


class TooLarge(ValueError):
    """An upload over the size limit."""


def save_upload(stream: Any, target: Path, limit: int, chunk: int = 1 << 20) -> int:
    """Copy ``stream`` (a file object) to ``target`` in chunks, stopping at ``limit`` bytes (the partial file
    removed)."""
    n = 0
    try:
        with open(target, "wb") as f:
            while block := stream.read(chunk):
                n += len(block)
                if n > limit:
                    raise TooLarge(f"upload over the limit of {limit / 1e6:g} MB")
                f.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return n


def receive_video(stream: Any, filename: str, dst: Path, limit: int) -> dict[str, Any]:
    """An upload checked by decoding and stored as the mp4 ``dst`` (its raw bytes kept beside only while
    converting); an error names the upload.

    Raises:
        TooLarge: over ``limit`` bytes. ValueError: not a video.
    """
    raw = dst.with_name(dst.name + ".upload")
    try:
        save_upload(stream, raw, limit)
        return to_mp4(raw, dst)
    except ValueError as e:  # TooLarge stays TooLarge (413), anything else is the upload's fault (400)
        raise type(e)(f"{filename}: {e}") from None
    finally:
        raw.unlink(missing_ok=True)


def to_mp4(src: Path, dst: Path, max_seconds: float = 600.0) -> dict[str, Any]:
    """Decode ``src`` (any container and codec PyAV reads: a browser's webm recording, mp4, avi, mov) and write
    it as an H.264 mp4 at ``dst``. The file's content decides, never its name.

    Raises:
        ValueError: not a video (no video stream, nothing decodable), named by its upload name.
    """
    import av

    from ..data.video.writer import VideoWriter, pick_codec

    try:
        container = av.open(str(src))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise ValueError(f"not a video file ({e.__class__.__name__})") from e
    frames = 0
    writer = None
    try:
        streams = container.streams.video
        if not streams:
            raise ValueError("no video stream in the file")
        vs = streams[0]
        rate = vs.average_rate or vs.guessed_rate
        fps = float(rate) if rate and 1 <= float(rate) <= 120 else 30.0
        writer = VideoWriter(dst, fps, pick_codec())
        for frame in container.decode(vs):
            rgb = frame.to_ndarray(format="rgb24")
            if rgb.shape[0] % 2 or rgb.shape[1] % 2:  # H.264 wants even sides
                rgb = rgb[:rgb.shape[0] // 2 * 2, :rgb.shape[1] // 2 * 2]
            writer.write(rgb)
            frames += 1
            if frames > max_seconds * fps:
                break
    except (av.error.FFmpegError, OSError) as e:
        if frames == 0:
            raise ValueError(f"not a decodable video ({e.__class__.__name__})") from e
        log.warning("%s: decoding stopped after %d frames (%s)", src, frames, e)
    finally:
        if writer is not None:
            writer.close()
        container.close()
    if frames == 0:
        dst.unlink(missing_ok=True)
        raise ValueError("no decodable video frames in the file")
    return {"frames": frames, "fps": fps}


class Strips:
    """Annotation strips: every video's frames at :data:`STRIP_FPS`, decoded once and kept (a few videos)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep, self._lock = keep, threading.Lock()
        self._cache: OrderedDict[tuple[str, float], tuple[list[np.ndarray], float]] = OrderedDict()

    def frames(self, path: Path) -> tuple[list[np.ndarray], float]:
        """(the strip's frames as small RGB images, the video's frame count per strip frame)."""
        from ..data.video.sources import open_source

        key = (str(path), path.stat().st_mtime)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        src = open_source(path)
        try:
            fps = src.fps or 30.0
            every = max(1.0, fps / STRIP_FPS)
            out, i, due = [], 0, 0.0
            while (rgb := src.read()) is not None:
                if i + 1e-9 >= due:
                    out.append(thumbnail(rgb))
                    due += every
                i += 1
        finally:
            src.close()
        if not out:
            raise ValueError(f"{path.name}: no decodable frames")
        with self._lock:
            self._cache[key] = (out, every)
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        return out, every

    def jpeg(self, path: Path, i: int) -> bytes:
        frames, _ = self.frames(path)
        if not 0 <= i < len(frames):
            raise IndexError(f"{path.name}: strip frame {i} of {len(frames)}")
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(frames[i]).save(buf, "JPEG", quality=80)
        return buf.getvalue()


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(1, round(w * THUMB_HEIGHT / h)), THUMB_HEIGHT), interpolation=cv2.INTER_AREA)


def test_video(model_dir: Path, video: Path, out_dir: Path, max_frames: int = 0) -> dict[str, Any]:
    """Run the classifier in ``model_dir`` over ``video`` as ``actkit stream`` would: per-frame labels and
    confidences, events, and ``out_dir/annotated.mp4``."""
    from ..perception.live import live_model
    from ..streaming.pipeline import Stream

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "annotated.partial.mp4"
    # the studio's own partial file, left by a test that was stopped: replaced, as the finished video is
    s = Stream(live_model(str(model_dir)), str(video), out_video=str(tmp), max_frames=max_frames, overwrite=True)
    labels, events = [], []
    for r in s:
        labels.append({"frame": r.frame, "label": r.label, "confidence": round(float(r.confidence), 4)})
        events += [{k: v for k, v in e.items() if isinstance(v, (int, float, str))} for e in (r.events or ())]
    shutil.move(str(tmp), out_dir / "annotated.mp4")
    return {"frames": len(labels), "labels": labels, "events": events, "video": "annotated.mp4",
            "classes": list(s.runner.class_names)}
