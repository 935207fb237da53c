"""The one video writer: the synthetic sets, ``actkit predict --annotate`` and ``actkit stream
--out-video`` all encode through :class:`VideoWriter`.

:func:`pick_codec` chooses H.264 where an encoder exists (PyAV's libx264, else OpenCV's ``avc1``), else
``mp4v``. :func:`write_video` encodes a whole sequence atomically (a temporary file renamed into place);
:class:`VideoWriter` takes frames one at a time, for a live stream of unknown length.
"""
from __future__ import annotations

import functools
import itertools
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ...utils.io import atomic_path, quiet_native_output

CODECS = ("h264-pyav", "avc1", "mp4v")


@functools.lru_cache(maxsize=None)
def pick_codec(h264: bool | None = None) -> str:
    """The video codec: H.264 by default, ``"mp4v"`` when asked for (``h264=False`` or ACTKIT_H264=0).

    H.264 is ``"h264-pyav"`` if PyAV with libx264 is installed, else OpenCV's ``"avc1"`` if its
    FFmpeg can encode it, else ``"mp4v"`` (MPEG-4 Part 2, what pip's opencv wheels can always
    write). libx264 is run single-threaded and without macroblock-tree rate control: the
    mbtree pass gave different bytes (and different decoded pixels) for the same frames
    depending on what the process had done before, which broke "same seed, same frames".
    """
    if h264 is None:
        h264 = os.environ.get("ACTKIT_H264", "1") not in ("0", "", "false")
    if not h264:
        return "mp4v"
    try:
        import av

        av.codec.Codec("libx264", "w")
        return "h264-pyav"
    except Exception:  # noqa: BLE001 - missing package or encoder both mean: try the next one
        pass
    import tempfile

    import cv2

    with tempfile.TemporaryDirectory() as d, quiet_native_output():
        w = cv2.VideoWriter(str(Path(d) / "probe.mp4"), cv2.VideoWriter_fourcc(*"avc1"), 16, (64, 64))
        ok = w.isOpened()
        if ok:
            w.write(np.zeros((64, 64, 3), np.uint8))
        w.release()
    return "avc1" if ok else "mp4v"


class VideoWriter:
    """An mp4 encoder fed RGB frames one at a time; opened at the first frame's size.

    Args:
        path: the file to write (its folder is created).
        fps: frame rate.
        codec: ``"h264-pyav"`` (PyAV libx264, deterministic settings), or an OpenCV fourcc such as
            ``"avc1"`` / ``"mp4v"``.
        x264: libx264 options replacing the deterministic defaults (``"h264-pyav"`` only), e.g.
            ``{"crf": "23", "preset": "veryfast", "g": "60"}`` for a set keyframe interval.
    """

    def __init__(self, path: str | Path, fps: float, codec: str = "mp4v", x264: dict[str, str] | None = None) -> None:
        if x264 is not None and codec != "h264-pyav":
            raise ValueError(f"x264 options need codec 'h264-pyav', not {codec!r}")
        self.path, self.fps, self.codec, self.x264 = Path(path), fps, codec, x264
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._cv: Any = None

    def _open(self, h: int, w: int) -> None:
        if self.codec == "h264-pyav":
            import av

            self._container = av.open(str(self.path), "w", format="mp4")
            # The same seed must give the same bytes: one encoder thread (threaded modes
            # depend on timing) and no mbtree (its result depended on process history).
            self._stream = self._container.add_stream("libx264", rate=round(self.fps), options=self.x264 or {
                "crf": "20", "threads": "1",
                "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0:no-mbtree=1"})
            self._stream.width, self._stream.height, self._stream.pix_fmt = w, h, "yuv420p"
            if self.x264 is None:
                self._stream.codec_context.thread_count = 1
                self._stream.codec_context.thread_type = "NONE"
            return
        import cv2

        self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.codec), self.fps, (w, h))
        if not self._cv.isOpened():
            raise ValueError(f"{self.path}: cannot write {self.codec!r} video (no such encoder in this OpenCV build?)")

    def write(self, rgb: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        if self._container is None and self._cv is None:
            self._open(*rgb.shape[:2])
        if self._cv is not None:
            self._cv.write(np.ascontiguousarray(rgb[..., ::-1]))
        else:
            import av

            self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._container is not None:
            self._container.mux(self._stream.encode())
            self._container.close()
            self._container = None


def write_video(path: str | Path, images: Iterable[np.ndarray], fps: int, codec: str,
                x264: dict[str, str] | None = None) -> None:
    """Encode RGB ``images`` to an mp4 at ``path`` atomically (temporary file, then rename); ``x264``: see
    :class:`VideoWriter`.

    ``images`` may be a generator: frames are encoded as they come, so a long video never sits in
    memory, and the generator's code after its last frame runs before the rename.
    """
    frames = iter(images)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{path}: no frames to write")
    with atomic_path(path) as tmp:
        writer = VideoWriter(tmp, fps, codec, x264)
        try:
            for img in itertools.chain([first], frames):
                writer.write(img)
        finally:
            writer.close()
        if tmp.stat().st_size == 0:
            raise RuntimeError(f"encoder wrote nothing for {path}")
