"""MediaPipe Hands in numpy: palm detector -> rotated hand region -> 21 landmarks and handedness, up to N hands.

The numbers follow ``mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt`` and
``mediapipe/modules/hand_landmark/*.pbtxt`` (0.10.21, model complexity 1, the ``full`` models):

* palm detector input 192x192, letterboxed, values in [0, 1]; 2016 anchors (strides 8, 16, 16, 16); 18
  regressors (box, 7 palm keypoints) scaled by 192; scores above 0.5; weighted NMS at IoU 0.3;
* hand region from a palm: the box turned so that keypoint 0 (wrist) -> 2 (middle finger base) points up,
  shifted half its height towards the fingers, square on its long side, 2.6x;
* landmark model input 224x224 in [0, 1]: 21 points (x, y, z) in input pixels, a presence score (kept above
  0.5) and a handedness score; the next frame's region comes from the landmarks (wrist and finger bases,
  bounds along the rotation, shifted 0.1 of the height, 2.0x), so the palm detector only runs while fewer
  than ``max_hands`` hands are tracked, and a new palm overlapping a tracked hand by IoU > 0.5 is dropped.

Handedness is reported for the person in an ordinary (unmirrored) picture; MediaPipe's own label assumes a
mirrored selfie view and is the opposite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .litert import TfliteModel
from .regions import Region, crop, detect_in, iou, project, region_from_box, region_from_points, ssd_anchors

PALM_SIZE = 192
LANDMARK_SIZE = 224
MIN_SCORE = 0.5
NUM_LANDMARKS = 21
PALM_ANCHORS = ssd_anchors(PALM_SIZE, (8, 16, 16, 16))
# Wrist and the two lowest joints of each finger: what the tracking region is drawn around.
TRACK_POINTS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
# The 21 points: wrist, then thumb, index, middle, ring and little finger, four joints each from the base.
BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
         (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20))


@dataclass
class HandLandmarks:
    """One hand: ``xy`` (21, 2) image pixels, ``z`` (21,) (x's scale, wrist-relative depth), ``world`` (21, 3)
    metres, ``score`` (presence), ``handedness`` (``left`` / ``right``, the person's own hand) and its
    probability, ``roi`` the region it was found in."""

    xy: np.ndarray
    z: np.ndarray
    world: np.ndarray
    score: float
    handedness: str
    handedness_score: float
    roi: Region

    def next_roi(self) -> Region:
        """HandLandmarksToRect + RectTransformation: the region for the next frame."""
        pts = self.xy[list(TRACK_POINTS)]
        end = ((self.xy[5] + self.xy[13]) / 2 + self.xy[9]) / 2
        return region_from_points(pts, self.xy[0], end, math.pi / 2, 2.0, -0.1, rotated_bounds=True)

    def box(self) -> np.ndarray:
        return np.concatenate([self.xy.min(0), self.xy.max(0)]).astype(np.float32)


def _region_box(roi: Region) -> np.ndarray:
    cx, cy, side, _ = roi
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)


class Hands:
    """Palm detector + hand landmarks on RGB frames, with tracking across calls.

    Args:
        max_hands: the most hands reported per frame.
        threads: LiteRT threads per model.
        lite: the lighter models (``palm_detection_lite``, ``hand_landmark_lite``).
    """

    def __init__(self, max_hands: int = 2, threads: int = 1, lite: bool = False) -> None:
        kind = "lite" if lite else "full"
        self.detector = TfliteModel(f"palm_detection_{kind}", threads)
        self.landmarker = TfliteModel(f"hand_landmark_{kind}", threads)
        self.max_hands = max_hands

    def palms(self, rgb: np.ndarray, box: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Palm detections ``(box, keypoints (7, 2), score)`` in image pixels, best first (inside ``box``)."""
        return detect_in(self.detector, rgb, box, PALM_ANCHORS, (0.0, 1.0), MIN_SCORE, 0.3)

    def landmarks(self, rgb: np.ndarray, roi: Region) -> HandLandmarks:
        """The 21 landmarks in a hand region, projected back into the image."""
        x, inv = crop(rgb, roi, LANDMARK_SIZE)
        pts, presence, handed, world = (v[0] for v in self.landmarker(x).values())
        pts = pts.reshape(NUM_LANDMARKS, 3)
        c, s = math.cos(roi[3]), math.sin(roi[3])
        w = world.reshape(NUM_LANDMARKS, 3)
        world = np.column_stack([w[:, 0] * c - w[:, 1] * s, w[:, 0] * s + w[:, 1] * c, w[:, 2]])
        left = float(handed[0])  # MediaPipe's "Left" for a mirrored view: the person's right hand here
        return HandLandmarks(project(pts, inv), (pts[:, 2] / LANDMARK_SIZE / 0.4 * roi[2]).astype(np.float32),
                             world.astype(np.float32), float(presence[0]), "right" if left >= 0.5 else "left",
                             max(left, 1.0 - left), roi)

    def __call__(self, rgb: np.ndarray, previous: list[HandLandmarks] | None = None,
                 box: np.ndarray | None = None) -> list[HandLandmarks]:
        """Hands in ``rgb`` (new ones looked for inside ``box`` when given); pass the previous frame's result to
        track (no palm detector while all hands hold)."""
        regions = [h.next_roi() for h in previous or []][: self.max_hands]
        if len(regions) < self.max_hands:
            tracked = np.array([_region_box(r) for r in regions], np.float32).reshape(-1, 4)
            for palm, kp, _ in self.palms(rgb, box):
                roi = region_from_box(palm, kp[0], kp[2], math.pi / 2, 2.6, -0.5)
                if len(tracked) and iou(_region_box(roi), tracked).max() > 0.5:
                    continue
                regions.append(roi)
                tracked = np.vstack([tracked, _region_box(roi)[None]])
                if len(regions) == self.max_hands:
                    break
        hands = [h for h in (self.landmarks(rgb, r) for r in regions) if h.score > MIN_SCORE]
        return hands
