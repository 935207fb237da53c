"""Seeking video decoder (PyAV): decode only the frames a clip needs.

Training on a 16-frame clip of a 60 s video should not decode 1800 frames. :class:`VideoReader`
probes the container header (frame count, rate, size) without decoding, and
:meth:`VideoReader.get_frames` seeks to the keyframe before each requested frame and decodes
forward only as far as needed. Frames are numbered as a full decode numbers them: frame ``i`` is
the ``i``-th frame in presentation order, found from its timestamp
``round((pts - first_pts) * time_base * fps)``, so files whose timestamps do not start at 0
(MPEG-TS, trimmed MP4s) index the same as files that do.

While decoding towards a target, packets of frames nobody asked for that no other frame
references (most B-frames) are not decoded at all (``skip_nonref``); reference frames always are,
so the frames returned are bit-identical to a full decode.
"""
from __future__ import annotations

import logging
import os
import statistics
import threading
import time
from typing import Sequence

import numpy as np

from ...utils.deps import require
from .sources import image_kind

logger = logging.getLogger(__name__)


class VideoDecodeError(ValueError):
    """A video that cannot be opened or decoded; the message names the file."""


class VideoReader:
    """Random access to the frames of one video file.

    Example::

        with VideoReader("clip.mp4") as r:
            clip = r.get_frames([0, 8, 16, 24])  # (4, H, W, 3) uint8 RGB

    Args:
        path: the video file.
        skip_nonref: while decoding towards a requested frame, skip packets of unrequested
            non-reference frames (identical output, less work).
        threads: decoder threads; slice threading only, so ``skip_nonref`` stays exact.
        num_frames: the frame count when already known (skips counting packets).

    Attributes:
        path: the file, as given.
        num_frames: frame count from the header (MP4, AVI, MOV), else counted from the packets
            without decoding (MKV, WebM, MPEG-TS: one pass over the file).
        fps: average frame rate.
        size: ``(height, width)`` in pixels.
        duration: seconds.

    Raises:
        VideoDecodeError: the file is missing, empty, not a video or has no video stream.
    """

    def __init__(self, path: str | os.PathLike, *, skip_nonref: bool = True, threads: int = 1,
                 num_frames: int | None = None) -> None:
        self.path = str(path)
        self.skip_nonref = skip_nonref
        self.threads = max(1, int(threads))
        self._container = self._stream = self._packets = None
        self._open()
        s = self._stream
        rate = s.average_rate or s.guessed_rate or s.base_rate
        if not rate or float(rate) <= 0:
            self._fail("has no frame rate")
        self.fps = float(rate)
        self._tb = float(s.time_base)
        self._start = s.start_time if s.start_time is not None else 0
        if s.duration is not None:
            self.duration = float(s.duration * s.time_base)
        elif self._container.duration is not None:
            self.duration = self._container.duration / 1e6
        else:
            self.duration = 0.0
        n = int(num_frames or s.frames or 0)
        if n <= 0:  # no count in the header (MKV, WebM, MPEG-TS): count packets, decoding nothing
            n = self._count_packets()
        self.num_frames = n
        self.size = (int(s.codec_context.height), int(s.codec_context.width))
        if self.num_frames <= 0 or min(self.size) <= 0:
            self._fail(f"looks empty ({self.num_frames} frames, size {self.size})")
        # Keyframe spacing, learnt while decoding: exact once two keyframes were seen in one run
        # (_gop), else a lower bound (_gop_lb, frames seen past a keyframe) or a guess of 1 s.
        self._gop: int | None = None
        self._gop_lb = 0
        # Decoder position: the current frame, a one-frame lookahead, the last keyframe seen.
        self._cur = self._ahead = self._last_key = None
        self._pending: list = []
        self._target, self._wanted = 0, set()

    # ----------------------------------------------------------------------- plumbing

    def _fail(self, what: str, err: Exception | None = None) -> None:
        self.close()
        detail = f": {err}" if err is not None else ""
        raise VideoDecodeError(f"video {self.path!r} {what}{detail}") from err

    def _open(self) -> None:
        av = require("av")
        if not os.path.isfile(self.path):
            raise VideoDecodeError(f"video {self.path!r} does not exist")
        if os.path.getsize(self.path) == 0:
            raise VideoDecodeError(f"video {self.path!r} is empty (0 bytes)")
        kind = image_kind(self.path)
        if kind:
            raise VideoDecodeError(f"video {self.path!r} holds a {kind} image, not a video (a wrong file extension?)")
        try:
            self._container = av.open(self.path, "r")
        except Exception as e:  # noqa: BLE001 - every FFmpeg failure means the same thing here
            self._fail("cannot be opened", e)
        if not self._container.streams.video:
            self._fail("has no video stream")
        self._stream = self._container.streams.video[0]
        cc = self._stream.codec_context
        cc.thread_type = "SLICE"  # frame threading would apply skip_frame to the wrong packet
        cc.thread_count = self.threads

    def _count_packets(self) -> int:
        try:
            n = sum(1 for p in self._container.demux(self._stream) if p.size)
        except Exception as e:  # noqa: BLE001
            self._fail("cannot be read", e)
        self.close()
        self._open()
        return n

    def close(self) -> None:
        """Release the file (the reader reopens it on the next :meth:`get_frames`)."""
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = self._stream = self._packets = None
                self._cur = self._ahead = None
                self._pending = []

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.num_frames

    def __getstate__(self) -> dict:  # open containers do not pickle; reopen in the new process
        d = dict(self.__dict__)
        d["_container"] = d["_stream"] = d["_packets"] = None
        d["_cur"] = d["_ahead"] = None
        d["_pending"] = []
        return d

    def __repr__(self) -> str:
        return (f"VideoReader({self.path!r}, num_frames={self.num_frames}, fps={self.fps:.3f}, "
                f"size={self.size})")

    def _index(self, pts: int | None) -> int | None:
        if pts is None:
            return None
        return int(round((pts - self._start) * self._tb * self.fps))

    def _seek(self, index: int) -> None:
        """Put the demuxer on the keyframe at or before frame ``index`` (per the container index)."""
        if index <= 0:
            # Reopen rather than seek to 0: some demuxers (MPEG-TS) land on a later keyframe.
            self.close()
            self._open()
        else:
            target = int(self._start + index / self.fps / self._tb)
            self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
            self._stream.codec_context.flush_buffers()
        self._packets = self._container.demux(self._stream)
        self._pending = []
        self._cur = self._ahead = self._last_key = None

    def _decode_next(self):
        """The next ``(index, frame)`` in presentation order, or None at the end of the stream."""
        cc = self._stream.codec_context
        while not self._pending:
            packet = next(self._packets, None)
            if packet is None:
                return None
            if packet.size == 0:  # the demuxer's end marker: drain the decoder
                cc.skip_frame = "DEFAULT"
                self._pending.extend(cc.decode(None))
                if not self._pending:
                    return None
                break
            if self.skip_nonref:
                i = self._index(packet.pts)
                # Only frames before the target may be skipped: later ones may be asked for next.
                skip = i is not None and i < self._target and i not in self._wanted
                cc.skip_frame = "NONREF" if skip else "DEFAULT"
            self._pending.extend(cc.decode(packet))
        frame = self._pending.pop(0)
        i = self._index(frame.pts)
        if i is None:  # no timestamp: count on from the previous frame
            i = 0 if self._cur is None else self._cur[0] + 1
        if frame.key_frame:
            if self._last_key is not None and i > self._last_key:
                # The largest spacing seen: a short scene-cut GOP must not trigger useless seeks.
                self._gop = max(self._gop or 0, i - self._last_key)
            self._last_key = i
        elif self._last_key is not None:
            self._gop_lb = max(self._gop_lb, i - self._last_key + 1)
        return i, frame

    def _advance(self):
        if self._ahead is not None:
            nxt, self._ahead = self._ahead, None
            return nxt
        return self._decode_next()

    def _seek_before(self, t: int) -> None:
        """Seek so that the first decoded frame is at or before ``t``; retries earlier when the
        container index lands after it (MP4 seeks by decode time, B-frames shift display time)."""
        back = 0
        while True:
            self._seek(t - back)
            first = self._decode_next()
            if first is not None and (first[0] <= t or t - back <= 0):
                self._cur = first
                return
            if first is None and t - back <= 0:
                self._fail("has no decodable frames")
            back = max(2 * back, self._gop or self._gop_lb, 1)

    # ----------------------------------------------------------------------- reading

    def get_frames(self, indices: Sequence[int] | np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode the frames at ``indices`` (any order, repeats allowed).

        Args:
            indices: frame numbers in ``[0, num_frames)``. A frame past the real end of a file
                whose header over-counts returns the last frame there is; a frame missing from a
                variable-rate file returns the frame before it.
            size: optional ``(height, width)`` to scale each frame to while converting to RGB
                (area interpolation).

        Returns:
            uint8 array ``(len(indices), H, W, 3)``, RGB.

        Raises:
            IndexError: an index outside ``[0, num_frames)``.
            VideoDecodeError: the file cannot be decoded.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            raise IndexError(f"frame indices {idx.min()}..{idx.max()} outside [0, {self.num_frames}) "
                             f"of video {self.path!r}")
        h, w = self.size if size is None else (int(size[0]), int(size[1]))
        if idx.size == 0:
            return np.zeros((0, h, w, 3), np.uint8)
        try:
            if self._container is None:
                self._open()
                self._cur = None
            got = self._decode_sorted(sorted(set(idx.tolist())), size)
        except VideoDecodeError:
            raise
        except Exception as e:  # noqa: BLE001 - FFmpeg raises many types; all mean a bad file
            self._fail("cannot be decoded", e)
        return np.stack([got[i] for i in idx.tolist()])

    def _convert(self, frame, size: tuple[int, int] | None) -> np.ndarray:
        return _to_rgb(_reformatter(), frame, size)

    def _should_seek(self, t: int) -> bool:
        """Seek only when a keyframe lies between the decoder position and ``t``: otherwise the
        seek lands on the keyframe already decoded from and repeats that work."""
        if self._cur is None or t < self._cur[0]:
            return True
        if self._gop is not None and self._last_key is not None:
            return t >= self._last_key + self._gop
        return t - self._cur[0] > max(self._gop_lb, int(round(self.fps)))

    def _decode_sorted(self, targets: list[int], size) -> dict[int, np.ndarray]:
        self._wanted = set(targets)
        got: dict[int, np.ndarray] = {}
        for t in targets:
            self._target = t
            if self._should_seek(t):
                self._seek_before(t)
            while self._cur[0] < t:
                nxt = self._advance()
                if nxt is None:  # end of stream: the header over-counted frames
                    logger.debug("%s: frame %d is past the end; using frame %d", self.path, t, self._cur[0])
                    break
                if nxt[0] > t:  # no frame with this index: keep the one before it
                    self._ahead = nxt
                    break
                self._cur = nxt
            got[t] = self._convert(self._cur[1], size)
        return got

    def read_all(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode every frame in order (no seeking): ``(N, H, W, 3)`` uint8, N as decoded."""
        av = require("av")
        try:
            with av.open(self.path, "r") as c:
                s = c.streams.video[0]
                s.codec_context.thread_type = "SLICE"
                s.codec_context.thread_count = self.threads
                frames = [self._convert(f, size) for f in c.decode(s)]
        except Exception as e:  # noqa: BLE001
            raise VideoDecodeError(f"video {self.path!r} cannot be decoded: {e}") from e
        if not frames:
            raise VideoDecodeError(f"video {self.path!r} has no decodable frames")
        return np.stack(frames)


_local = threading.local()


def _reformatter():
    """This thread's RGB converter, shared by every reader (its swscale context is cached).

    Keyed by process id too: a DataLoader worker forked from a process that converted frames must
    not reuse the parent's context (a context built with worker threads hangs after a fork).
    """
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.reformatter = require("av").video.reformatter.VideoReformatter()
        _local.pid = pid
    return _local.reformatter


def _to_rgb(reformatter, frame, size: tuple[int, int] | None) -> np.ndarray:
    """Frame -> uint8 RGB (optionally scaled), through one reused converter.

    ``frame.to_ndarray`` builds a new swscale context for every frame (5.8 ms per 640x360 frame
    here, more than decoding it, vs 0.7 ms reused); reusing one gives identical pixels.
    """
    # One conversion thread: loaders run one process per core already.
    if size is None:
        return reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
    return reformatter.reformat(frame, format="rgb24", width=int(size[1]), height=int(size[0]),
                                interpolation="AREA", threads=1).to_ndarray()


def _decode_whole(path: str, indices: np.ndarray) -> np.ndarray:
    """The baseline: decode every frame of the file in order, keeping (converting) only ``indices``."""
    av = require("av")
    reformatter = _reformatter()
    keep = {int(i) for i in indices}
    out: dict[int, np.ndarray] = {}
    with av.open(path, "r") as c:
        s = c.streams.video[0]
        s.codec_context.thread_type = "SLICE"
        s.codec_context.thread_count = 1
        for n, frame in enumerate(c.decode(s)):
            if n in keep:
                out[n] = _to_rgb(reformatter, frame, None)
    last = max(out)
    return np.stack([out.get(int(i), out[last]) for i in indices])


def bench_decode(path: str | os.PathLike, frames: int = 16, repeats: int = 5) -> dict:
    """Time sparse (seeking) decode of ``frames`` uniformly spread frames against a whole-file decode.

    The two are interleaved (sparse, whole, whole, sparse, ...) so drift in machine load hits both,
    and median times are compared. The whole-file baseline decodes every frame but converts only
    the wanted ones to RGB, so the ratio is not inflated by colour conversion. Both open the file
    inside the timed region, and the frames they return are checked to be identical.

    Args:
        path: the video.
        frames: frames to sample (centres of ``frames`` equal segments).
        repeats: timed runs of each.

    Returns:
        ``{"path", "num_frames", "fps", "size", "frames", "sparse_ms", "whole_ms", "ratio",
        "sparse_nonref_off_ms", "identical"}``; ``ratio`` is whole / sparse (higher is better) and
        ``sparse_nonref_off_ms`` times sparse decode with ``skip_nonref=False``.
    """
    path = str(path)
    probe = VideoReader(path)
    probe.close()
    n = probe.num_frames
    idx = np.minimum(((np.arange(frames) + 0.5) * n / frames).astype(np.int64), n - 1)

    def sparse(skip: bool = True) -> np.ndarray:
        with VideoReader(path, skip_nonref=skip) as r:
            return r.get_frames(idx)

    times: dict[str, list[float]] = {"sparse": [], "whole": [], "plain": []}
    runs = {"sparse": sparse, "whole": lambda: _decode_whole(path, idx), "plain": lambda: sparse(False)}
    identical = True
    ref = None
    for r in range(repeats):
        order = ["sparse", "whole", "plain"] if r % 2 == 0 else ["plain", "whole", "sparse"]
        for name in order:
            t0 = time.perf_counter()
            out = runs[name]()
            times[name].append(time.perf_counter() - t0)
            if ref is None:
                ref = out
            identical &= bool(np.array_equal(out, ref))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    return {"path": path, "num_frames": n, "fps": probe.fps, "size": list(probe.size), "frames": frames,
            "sparse_ms": round(med["sparse"], 2), "whole_ms": round(med["whole"], 2),
            "ratio": round(med["whole"] / med["sparse"], 2), "sparse_nonref_off_ms": round(med["plain"], 2),
            "identical": identical}


__all__ = ["VideoDecodeError", "VideoReader", "bench_decode"]
