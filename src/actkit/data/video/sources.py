"""Every way actkit opens frames: camera index, video file, URL (rtsp/http...), folder of images.

:func:`open_source` is the one entry point; ``actkit predict``, ``actkit stream``, ``actkit eval`` and
the benchmarks read frames through it. A :class:`FrameSource` yields RGB uint8 frames one at a time.
"""
from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

log = logging.getLogger(__name__)
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")


class FrameSource:
    """An opened source. ``read()`` returns the next RGB frame or None at the end.

    Attributes:
        name: what to print and put in ``Results.source``.
        fps: frames per second (0 when unknown).
        live: frames arrive on their own clock (camera, URL): never paced, always drop-oldest.
    """

    name: str = ""
    fps: float = 0.0
    live: bool = False
    frames_promised: int = 0  # frames the container lists (0: unknown, e.g. a camera)

    def read(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass


class CvSource(FrameSource):
    """An OpenCV ``VideoCapture`` (camera index, file or URL)."""

    def __init__(self, cap: Any, name: str, live: bool, fps: float | None = None) -> None:
        import cv2

        self._cap, self.name, self.live = cap, name, live
        got = cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = float(fps or (got if math.isfinite(got) and 0 < got < 1000 else 0.0))
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0
        self.frames_promised = 0 if live or not math.isfinite(n) else max(0, int(n))
        self._pending: np.ndarray | None = None

    def prime(self) -> bool:
        """Read the first frame now, so an undecodable file fails at open time; False if none."""
        self._pending = self._read()
        return self._pending is not None

    def _read(self) -> np.ndarray | None:
        import cv2

        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            f, self._pending = self._pending, None
            return f
        return self._read()

    def close(self) -> None:
        self._cap.release()


class AvSource(FrameSource):
    """PyAV decoding, the fallback for files OpenCV cannot open."""

    def __init__(self, path: Path, fps: float | None = None) -> None:
        import av

        self.name = str(path)
        self._container = av.open(str(path))
        stream = self._container.streams.video[0]
        rate = float(stream.average_rate or 0)
        self.fps = float(fps or rate)
        self._frames = self._container.decode(stream)
        self.frames_promised = int(stream.frames or 0)

    def read(self) -> np.ndarray | None:
        try:
            return next(self._frames).to_ndarray(format="rgb24")
        except StopIteration:
            return None

    def close(self) -> None:
        self._container.close()


class FolderSource(FrameSource):
    """Sorted image files of a folder as frames (unreadable files are skipped with a warning)."""

    def __init__(self, folder: Path, fps: float | None = None) -> None:
        self.name = str(folder)
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
        if not self.files:
            raise ValueError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTS))}) to stream")
        self.fps = float(fps or 10.0)
        self._i = 0

    def read(self) -> np.ndarray | None:
        import cv2

        while self._i < len(self.files):
            path = self.files[self._i]
            self._i += 1
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None:
                return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            log.warning("%s: unreadable image, skipped", path)
        return None


class ImageSource(FolderSource):
    """One image file as a one-frame source (for the commands that take photos as well as videos)."""

    def __init__(self, path: Path) -> None:
        self.name, self.files, self.fps, self._i = str(path), [Path(path)], 0.0, 0
        self.frames_promised = 1


class LoopSource(FrameSource):
    """A video file or frame folder played again from the start at its end (for runs longer than the file).

    The stream's frame index keeps increasing across restarts; ``loops`` counts them. The file is
    reopened each time, so decoder setup and teardown are part of a long run too.

    Args:
        source: video file or folder of frames (not a camera or URL).
        fps: frame rate override, as for :func:`open_source`.

    Raises:
        ValueError: a live source, or a file that yields no frame after a restart.
    """

    def __init__(self, source: str | Path, fps: float | None = None) -> None:
        self._source, self._fps = source, fps
        self._src = open_source(source, fps)
        if self._src.live:
            self._src.close()
            raise ValueError(f"{self._src.name}: a live source (camera, URL) cannot be looped")
        self.name, self.fps, self.loops = self._src.name, self._src.fps, 0

    def read(self) -> np.ndarray | None:
        img = self._src.read()
        if img is None:
            self._src.close()
            self._src = open_source(self._source, self._fps)
            self.loops += 1
            img = self._src.read()
            if img is None:
                raise ValueError(f"{self.name}: no frames after restarting the loop")
        return img

    def close(self) -> None:
        self._src.close()


class ReconnectingSource(FrameSource):
    """A network stream that reopens itself when it drops, with exponential back-off.

    A camera on the network restarts, Wi-Fi blips, a server closes idle connections: when a read
    fails, the stream is reopened up to ``retries`` times, waiting ``delay_s``, then twice as long
    each time (at most ``max_delay_s``); a frame read after a reopen resets the count. Only when
    every retry fails does the source end. ``reconnects`` counts successful reopens.

    Args:
        opener: opens the stream, returning a :class:`FrameSource`; raises ``ValueError`` when it cannot.
        name: what the stream is called in messages.
        retries: reopen attempts per outage (0: end at the first failure).
        delay_s, max_delay_s: back-off.
        sleep: the wait function (tests pass a fake).
    """

    live = True

    def __init__(self, opener: Callable[[], FrameSource], name: str, retries: int = 5, delay_s: float = 0.5,
                 max_delay_s: float = 8.0, sleep: Callable[[float], Any] = time.sleep) -> None:
        self._opener, self.name, self.retries = opener, name, int(retries)
        self.delay_s, self.max_delay_s, self._sleep = float(delay_s), float(max_delay_s), sleep
        self._src: FrameSource | None = opener()
        self.fps, self.reconnects = self._src.fps, 0

    def read(self) -> np.ndarray | None:
        img = self._src.read() if self._src is not None else None
        attempt = 0
        while img is None and attempt < self.retries:
            wait = min(self.max_delay_s, self.delay_s * 2 ** attempt)
            attempt += 1
            log.warning("%s: no frame; reconnecting in %.1f s (attempt %d of %d)", self.name, wait, attempt, self.retries)
            if self._src is not None:
                self._src.close()
                self._src = None
            self._sleep(wait)
            try:
                self._src = self._opener()
            except ValueError as e:
                log.warning("%s: reconnect failed: %s", self.name, e)
                continue
            img = self._src.read()
            if img is not None:
                self.reconnects += 1
        if img is None:
            log.warning("%s: stream ended%s", self.name, f" after {self.retries} reconnect attempts" if self.retries else "")
        return img

    def close(self) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None


def open_source(source: str | int | Path | FrameSource, fps: float | None = None, timeout_s: float = 10.0,
                retries: int = 5) -> FrameSource:
    """Open a camera index (``0`` or ``"0"``), URL, video file or folder of frames.

    Args:
        source: what to read (an opened :class:`FrameSource`, such as a :class:`LoopSource`, is used as is).
        fps: frame rate override (folders default to 10; files and cameras report theirs).
        timeout_s: open / read timeout for URLs.
        retries: URLs: reopen attempts when the stream drops (see :class:`ReconnectingSource`).

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a source that exists but cannot be opened or decoded (named in the message).
    """
    import cv2

    if isinstance(source, FrameSource):
        return source
    text = str(source)
    if isinstance(source, int) or text.isdigit():
        cap = cv2.VideoCapture(int(text))
        if not cap.isOpened():
            cap.release()
            raise ValueError(f"camera {text}: cannot open (no camera with that index, or it is busy)")
        return CvSource(cap, f"camera:{text}", live=True, fps=fps)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            raise ValueError(f"{text}: unsupported URL scheme {scheme!r} (use one of {', '.join(URL_SCHEMES)})")
        ms = int(timeout_s * 1000)

        def opener() -> CvSource:
            cap = cv2.VideoCapture(text, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
            if not cap.isOpened():
                cap.release()
                raise ValueError(f"{text}: cannot open stream (unreachable, wrong path or unsupported codec)")
            return CvSource(cap, text, live=True, fps=fps)

        return ReconnectingSource(opener, text, retries=retries)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"source not found: {path}")
    if path.is_dir():
        return FolderSource(path, fps)
    if path.suffix.lower() in IMAGE_EXTS:
        raise ValueError(f"{path}: a single image, not a video; give a video file, a camera index, a URL or a "
                         "folder of frames")
    if path.suffix.lower() == ".parquet":
        raise ValueError(f"{path}: a Parquet crop table, not a video; give a video file, a camera index, a URL "
                         "or a folder of frames")
    kind = image_kind(path)
    if kind:
        raise ValueError(f"{path}: holds a {kind} image, not a video (a wrong file extension?)")
    cap = cv2.VideoCapture(str(path))
    if cap.isOpened():
        src = CvSource(cap, str(path), live=False, fps=fps)
        if src.prime():
            return src
        src.close()
    else:
        cap.release()
    try:
        src = AvSource(path, fps)
        first = src.read()
    except Exception as e:  # PyAV missing, or its own error types for a foreign file
        raise ValueError(f"{path}: cannot open video (neither OpenCV nor PyAV can decode it: {type(e).__name__})") from e
    if first is None:
        src.close()
        raise ValueError(f"{path}: no decodable frames (empty or corrupt video)")
    src.close()
    return AvSource(path, fps)


def read_video(path: str | Path) -> list[np.ndarray]:
    """Every frame of a video as RGB uint8 arrays (an empty list for a file with no decodable frame)."""
    try:
        return [img for _, img in iter_video(path)]
    except (ValueError, FileNotFoundError):
        return []


_IMAGE_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP"}


def image_kind(path: str | os.PathLike) -> str | None:
    """The image format a file's first bytes announce, whatever its name says; None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return next((kind for magic, kind in _IMAGE_MAGIC.items() if head.startswith(magic)), None)


def iter_video(path: str | Path, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video's frames as (index, HxWx3 uint8 RGB), every ``every``-th one, through
    :func:`open_source`; ValueError naming the file if it cannot be decoded, and a warning when it ends
    before the frames its container lists (a truncated or damaged file)."""
    src = open_source(path)
    i = 0
    try:
        while (img := src.read()) is not None:
            if i % every == 0:
                yield i, img
            i += 1
    finally:
        src.close()
    short_of(src, i)


def short_of(src: FrameSource, read: int) -> bool:
    """Warn (and say True) when a file source gave fewer frames than its container lists."""
    promised = src.frames_promised
    if promised and read < promised - 1:  # containers round their count; one frame is noise
        log.warning("%s: decoded %d of the %d frames its container lists (truncated or damaged file)",
                    src.name, read, promised)
        return True
    return False
