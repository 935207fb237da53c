"""Where live results go: an annotated mp4, JSON lines, a window; :func:`annotate` draws one frame."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

from ..results import Results
from .capture import Frame

# --------------------------------------------------------------------------- sinks

def _colour(track_id: Any) -> tuple[int, int, int]:
    if track_id is None:
        return (0, 200, 0)
    rng = np.random.default_rng(int(track_id) * 7919)
    return tuple(int(v) for v in rng.integers(60, 256, 3))


def annotate(rgb: np.ndarray, r: Results) -> np.ndarray:
    """BGR copy of ``rgb`` with label, confidence, boxes with track ids, counters and latency drawn."""
    import cv2

    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    h, w = img.shape[:2]
    fs = max(0.3, min(h, w) / 480)
    th = max(1, round(fs * 2))

    def text(s: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
        cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, fs, colour, th, cv2.LINE_AA)

    line = int(22 * fs) + 4
    if r.tracks is not None:
        for t in r.tracks:
            x0, y0, x1, y1 = (int(round(v)) for v in t.box)
            c = _colour(t.track_id)
            cv2.rectangle(img, (x0, y0), (x1, y1), c, th)
            tag = f"#{t.track_id} {t.label} {t.confidence:.2f}" + (" *" if t.vote else "")
            text(tag, (x0 + 2, max(line, y0 - 4)), c)
        head = f"{len(r.tracks)} tracked"
    else:
        head = f"{r.label} {r.confidence:.2f}" + (" *" if r.vote else "")
    text(head, (4, line), (0, 255, 0))
    y = h - 6
    if r.counts:
        text("  ".join(f"{k}: {v}" for k, v in r.counts.items()), (4, y), (0, 255, 255))
        y -= line
    if r.latency_ms is not None:
        text(f"{r.latency_ms:.0f} ms", (4, y), (255, 255, 255))
    return img


class Sink:
    """Receives each annotated frame and its result."""

    stop_requested = False

    def write(self, r: Results, frame: Frame, annotated: Callable[[], np.ndarray]) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self, summary: dict[str, Any] | None = None) -> None:
        pass


class JsonlSink(Sink):
    """One JSON line per frame (``Results.to_dict()``), then one ``{"summary": ...}`` line at the end."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w", buffering=1)

    def write(self, r, frame, annotated):
        self._f.write(json.dumps(r.to_dict(), default=_json_default) + "\n")

    def close(self, summary=None):
        if summary is not None:
            self._f.write(json.dumps({"summary": summary}, default=_json_default) + "\n")
        self._f.close()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


class VideoSink(Sink):
    """Annotated mp4 (``mp4v``, through :class:`~actkit.data.video.writer.VideoWriter`)."""

    def __init__(self, path: str | Path, fps: float) -> None:
        from ..data.video.writer import VideoWriter

        self._w = VideoWriter(path, float(fps or 10.0), "mp4v")
        self.path = self._w.path

    @property
    def frames(self) -> int:
        return self._w.frames

    def write(self, r, frame, annotated):
        self._w.write(annotated()[..., ::-1])  # annotate() draws on a BGR copy

    def close(self, summary=None):
        self._w.close()


class DisplaySink(Sink):
    """An OpenCV window ('q' or Esc stops); without GUI support it warns once and goes headless."""

    def __init__(self, title: str = "actkit stream") -> None:
        self.title, self.enabled = title, True

    def write(self, r, frame, annotated):
        if not self.enabled:
            return
        import cv2

        try:
            cv2.imshow(self.title, annotated())
            key = cv2.waitKey(1) & 0xFF
        except cv2.error:
            log.warning("no window support in this OpenCV build (headless wheel): continuing without display")
            self.enabled = False
            return
        if key in (ord("q"), 27):
            self.stop_requested = True

    def close(self, summary=None):
        if self.enabled:
            import cv2

            try:
                cv2.destroyWindow(self.title)
            except cv2.error:
                pass


