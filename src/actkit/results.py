"""One results type shared by the CLI, the Python API, the studio and the stream loop."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _plain(v: Any) -> Any:
    """Arrays (rounded to 3 decimals) and nested dicts / lists of them as JSON-ready values."""
    if isinstance(v, np.ndarray):
        return np.round(v.astype(np.float64), 3).tolist()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


@dataclass
class Results:
    """The prediction for one input (an image, a crop of it, or a video frame).

    Attributes:
        probs: class probabilities, shape (C,), C >= 2 (binary models give [1-p, p]).
        names: class names, aligned with ``probs``.
        threshold: binary decision threshold on ``probs[1]`` (None: argmax).
        source: where the input came from (path, ``path[frame]``, camera id).
        box: the crop box in pixels ``(x0, y0, x1, y1)`` or None for the whole image.
        frame: frame index for video sources (a clip window's first frame).
        end_frame: a clip window's last frame (clip models on videos).
        track_id: tracker identity, when a tracker produced the box.
        timings: milliseconds per stage (``preprocess``, ``inference``, ``postprocess``).
        timestamp: stream time of the frame in seconds (source time for files, capture clock for live).
        latency_ms: end-to-end latency, frame capture to label (stream loop).
        events: events that ended on this frame, ``{label, start_frame, end_frame[, track_id]}`` (stream loop).
        counts: running event / repetition counts (stream loop).
        tracks: one result per tracked person on this frame (stream loop with tracking).
        vote: k-of-n vote on the positive class (stream loop with a vote rule).
        keypoints: a person's keypoints (``actkit keypoints``): ``layout`` (``mediapipe33``), ``xy`` (N, 2) pixels,
            ``z``, ``visibility``, ``presence`` (N,), ``world`` (N, 3) metres, ``score``; with hands, ``hands``
            (``xy`` (21, 2), ``z``, ``world``, ``handedness``, ``score`` each); with the face, ``faces`` (``xy``
            (468, 2), ``z``, ``score``, ``irises`` {``left``, ``right``: (5, 2)} each).
    """

    probs: np.ndarray
    names: list[str]
    threshold: float | None = None
    source: str | None = None
    box: tuple[float, float, float, float] | None = None
    frame: int | None = None
    track_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    timestamp: float | None = None
    latency_ms: float | None = None
    events: list[dict[str, Any]] | None = None
    counts: dict[str, int] | None = None
    tracks: list["Results"] | None = None
    vote: bool | None = None
    end_frame: int | None = None
    keypoints: dict[str, Any] | None = None
    app: dict[str, Any] | None = None  # an application's own fields (actkit app NAME)

    @property
    def index(self) -> int:
        """Index of the decided class (threshold rule for binary models)."""
        if len(self.probs) == 2 and self.threshold is not None:
            return int(self.probs[1] >= self.threshold)
        return int(np.argmax(self.probs))

    @property
    def label(self) -> str:
        return self.names[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probs[self.index])

    def topk(self, k: int = 5) -> list[tuple[str, float]]:
        """The k most probable classes as (name, probability), most probable first."""
        order = np.argsort(-self.probs)[:k]
        return [(self.names[i], float(self.probs[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "confidence": self.confidence,
                             "probs": {n: float(p) for n, p in zip(self.names, self.probs)},
                             "topk": self.topk(min(5, len(self.names))), "timings_ms": dict(self.timings)}
        for key in ("source", "frame", "end_frame", "track_id", "threshold"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.box is not None:
            d["box"] = [float(v) for v in self.box]
        for key in ("timestamp", "latency_ms", "events", "counts", "vote"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.tracks is not None:
            d["tracks"] = [t.to_dict() for t in self.tracks]
        if self.keypoints is not None:
            d["keypoints"] = _plain(self.keypoints)
        if self.app is not None:
            d["app"] = _plain(self.app)
        return d

    def __repr__(self) -> str:
        where = f" {self.source}" if self.source else ""
        return f"Results({self.label} {self.confidence:.3f}{where})"
