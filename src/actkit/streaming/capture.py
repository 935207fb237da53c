"""Capture side of the live pipeline: the bounded queue between threads and the captured frame.

``DropOldestQueue`` is the one place frames wait: live sources (camera, URL) and paced files drop the
oldest frame when inference falls behind, so the label is always about the newest frame; offline
runs block instead, so every frame is seen.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
END = object()  # queue sentinel: the producer has finished
# --------------------------------------------------------------------------- queue

class DropOldestQueue:
    """A bounded FIFO between two threads.

    Args:
        maxsize: the bound (>= 1); the queue never holds more.
        drop: when full, ``put`` discards the oldest item (and counts it) instead of waiting.
    """

    def __init__(self, maxsize: int, drop: bool = True) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be >= 1, got {maxsize}")
        self.maxsize, self.drop = int(maxsize), drop
        self._items: deque[Any] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.max_len = 0  # high-water mark, for tests and stats

    def __len__(self) -> int:
        with self._cv:
            return len(self._items)

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Add ``item``; False when the queue was closed (or ``stop`` set while waiting for room)."""
        with self._cv:
            if self.drop:
                while len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.maxsize and not self._closed and not (stop and stop.is_set()):
                    self._cv.wait(0.05)
            if self._closed or (stop is not None and stop.is_set()):
                return False
            self._items.append(item)
            self.max_len = max(self.max_len, len(self._items))
            self._cv.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any:
        """The oldest item; :data:`END` once closed and drained; None on timeout."""
        with self._cv:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._items and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cv.wait(left)
            if self._items:
                item = self._items.popleft()
                self._cv.notify_all()
                return item
            return END

    def close(self) -> None:
        """No more puts; getters drain what is left, then get :data:`END`."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()


# --------------------------------------------------------------------------- sources

@dataclass
class Frame:
    """One captured frame.

    Attributes:
        index: position in the source (gaps mean dropped frames).
        image: HxWx3 uint8 RGB.
        t_capture: ``time.perf_counter()`` when the frame became available.
        pts: stream time in seconds (index / fps for files and folders; capture clock for live sources).
    """

    index: int
    image: np.ndarray
    t_capture: float
    pts: float

