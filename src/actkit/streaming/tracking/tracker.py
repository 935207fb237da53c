"""The IoU tracker: greedy (or Hungarian, with scipy) IoU matching against constant-velocity
predictions, so two people crossing keep their ids; stable ids, ``max_age`` and ``min_hits``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

from .matching import greedy_match, hungarian_match, iou_matrix


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)


@dataclass
class Track:
    """One tracked person.

    Attributes:
        id: stable identity (never reused within a tracker).
        box: last matched box (xyxy pixels), or the prediction while the track is coasting.
        score: last detection score.
        hits: frames with a matched detection.
        misses: consecutive frames without one.
        velocity: per-frame displacement of the box centre (smoothed), used to predict the next box.
    """

    id: int
    box: np.ndarray
    score: float = 0.0
    hits: int = 1
    misses: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))

    def predict(self) -> np.ndarray:
        """The last box moved by the centre velocity (its size is kept: limbs make sizes jumpy)."""
        dx, dy = self.velocity * (self.misses + 1)
        return self.box + np.array([dx, dy, dx, dy], np.float32)


class IoUTracker:
    """Greedy IoU tracker with constant-velocity prediction.

    Each frame, live tracks are predicted one frame ahead (last box moved by the smoothed velocity of
    its centre) and matched to detections greedily by IoU, taking for each pair the better of the
    predicted and the last box; unmatched detections start tracks; tracks unmatched for more than
    ``max_age`` frames end. The prediction is what keeps ids when two people cross (each predicted
    box overlaps its own person more than the other one); the last box keeps a track whose motion
    estimate is off (a sudden stop, a box shrinking behind someone).

    Args:
        iou_threshold: minimum IoU between a prediction and a detection to match.
        max_age: frames a track survives without a detection (short misses keep the id).
        min_hits: matched frames before a track is reported (suppresses one-frame false positives).
        velocity_momentum: smoothing of the velocity estimate (0: last displacement only).
        matching: ``greedy`` (highest IoU first) or ``hungarian`` (maximum total IoU; needs scipy).
    """

    def __init__(self, iou_threshold: float = 0.2, max_age: int = 5, min_hits: int = 1, velocity_momentum: float = 0.5,
                 matching: str = "greedy") -> None:
        self.iou_threshold, self.max_age, self.min_hits = iou_threshold, max_age, min_hits
        self.momentum = velocity_momentum
        if matching not in ("greedy", "hungarian"):
            raise ValueError(f"unknown matching {matching!r}: greedy or hungarian")
        if matching == "hungarian":
            hungarian_match(np.zeros((0, 0)), 0.0)  # fail now, not on the first frame, when scipy is missing
        self._match = greedy_match if matching == "greedy" else hungarian_match
        self.tracks: list[Track] = []
        self._next_id = 1
        self.ended: list[int] = []  # ids that ended on the last update (for per-track state cleanup)

    def reset(self) -> None:
        self.tracks, self._next_id, self.ended = [], 1, []

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None) -> list[Track]:
        """Feed one frame's detections; returns the reported tracks matched on this frame.

        Args:
            boxes: (N, 4) xyxy pixel boxes.
            scores: (N,) detection scores (default ones).
        """
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(scores, np.float32).reshape(-1)
        preds = np.array([t.predict() for t in self.tracks], np.float32).reshape(-1, 4)
        last = np.array([t.box for t in self.tracks], np.float32).reshape(-1, 4)
        # The better of predicted and last position: prediction separates crossing people, the last
        # box keeps a track whose motion estimate is off (a sudden stop, a box shrinking behind someone).
        pairs = self._match(np.maximum(iou_matrix(preds, boxes), iou_matrix(last, boxes)), self.iou_threshold)
        matched_t = {r for r, _ in pairs}
        matched_d = {c for _, c in pairs}
        for r, c in pairs:
            t = self.tracks[r]
            step = (_centre(boxes[c]) - _centre(t.box)) / (t.misses + 1)
            t.velocity = self.momentum * t.velocity + (1 - self.momentum) * step if t.hits > 1 else step
            t.box, t.score, t.hits, t.misses = boxes[c].copy(), float(scores[c]), t.hits + 1, 0
        for i, t in enumerate(self.tracks):
            if i not in matched_t:
                t.misses += 1
        self.ended = [t.id for t in self.tracks if t.misses > self.max_age]
        self.tracks = [t for t in self.tracks if t.misses <= self.max_age]
        for c in range(len(boxes)):
            if c not in matched_d:
                self.tracks.append(Track(self._next_id, boxes[c].copy(), float(scores[c])))
                self._next_id += 1
        return [t for t in self.tracks if t.misses == 0 and t.hits >= self.min_hits]

    @property
    def live_ids(self) -> set[int]:
        return {t.id for t in self.tracks}

