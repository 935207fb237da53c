"""Optional frame cache: each video decoded and resized once, kept as a uint8 ``.npy``.

For small datasets trained for many epochs, decoding dominates; with a cache every later epoch
reads a memory-mapped array instead. An entry is keyed by the video's absolute path, mtime,
size and the resize, so a changed file or another resize never reads a stale entry, and is
written atomically (temporary file, then rename), so parallel workers and interrupted runs
never leave a half-written entry that looks complete.

Size: ``frames x H x W x 3`` bytes per video (a 10 s, 30 fps clip at short side 128: ~20 MB).
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from actkit.utils.io import atomic_path

from .decode import VideoReader

logger = logging.getLogger(__name__)


def resized_shape(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """``(h, w)`` with the short side shrunk to ``short_side`` (aspect kept).

    Unchanged when None or when the short side is already at most ``short_side``: the cache never
    enlarges frames, since an enlarged copy is softer than the frames that evaluation and
    prediction read straight from the file, and a model trained on it sees other pixels than it
    is later run on.
    """
    if not short_side or min(height, width) <= short_side:
        return height, width
    s = short_side / min(height, width)
    return max(1, int(round(height * s))), max(1, int(round(width * s)))


class FrameCache:
    """Decoded, resized frames stored once per video under ``root``.

    Args:
        root: cache folder (created on first write).
        short_side: shrink every frame so its short side is this many pixels (None: keep the
            decoded size); smaller videos are kept at their decoded size, never enlarged.
            Pick it >= the transform's largest resized short side.
    """

    def __init__(self, root: str | os.PathLike, short_side: int | None = 128) -> None:
        self.root = Path(root)
        self.short_side = None if not short_side else int(short_side)

    def __repr__(self) -> str:
        return f"FrameCache({str(self.root)!r}, short_side={self.short_side})"

    def key(self, path: str | os.PathLike) -> str:
        """The entry name: a hash of the absolute path, mtime, size and the resize."""
        p = Path(path).resolve()
        st = p.stat()
        raw = f"{p}|{st.st_mtime_ns}|{st.st_size}|{self.short_side}|shrink-only".encode()
        return hashlib.sha1(raw).hexdigest()

    def entry(self, path: str | os.PathLike) -> Path:
        """Where the entry of ``path`` lives (it may not exist yet)."""
        k = self.key(path)
        return self.root / k[:2] / f"{k}.npy"

    def get(self, path: str | os.PathLike) -> np.ndarray | None:
        """The cached frames ``(N, H, W, 3)`` uint8 (memory-mapped), or None when not cached."""
        e = self.entry(path)
        if not e.is_file():
            return None
        try:
            return np.load(e, mmap_mode="r")
        except (ValueError, OSError) as err:  # damaged entry (disk full earlier): decode again
            logger.warning("frame cache entry %s for %s is unreadable (%s); decoding again", e, path, err)
            return None

    def put(self, path: str | os.PathLike, frames: np.ndarray) -> Path:
        """Store ``frames`` for ``path`` atomically; returns the entry path."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise ValueError(f"frame cache stores uint8 (N, H, W, 3) arrays, got {frames.dtype} {frames.shape}")
        e = self.entry(path)
        with atomic_path(e) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, frames)
        return e

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """The frames of ``path``: from the cache, or decoded (every frame, resized) and stored.

        Raises:
            VideoDecodeError: the video cannot be decoded.
        """
        hit = self.get(path)
        if hit is not None:
            return hit
        reader = VideoReader(path)
        try:
            size = resized_shape(*reader.size, self.short_side)
            frames = reader.read_all(size=None if size == tuple(reader.size) else size)
        finally:
            reader.close()
        try:
            self.put(path, frames)
        except OSError as e:  # a full disk slows training down; it must not stop it
            logger.warning("cannot write frame cache entry for %s: %s", path, e)
        return frames


__all__ = ["FrameCache", "resized_shape"]
