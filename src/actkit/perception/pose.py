"""BlazePose: detector (or another detector's person box) -> rotated region of interest -> 33 landmarks, in numpy.

The numbers follow MediaPipe's public graph configs (``mediapipe/modules/pose_detection/*.pbtxt`` and
``pose_landmark/*.pbtxt``, 0.10.21):

* detector input 224x224, letterboxed (aspect kept), values in [-1, 1]; 2254 SSD anchors from 5 layers with
  strides 8, 16, 32, 32, 32 (scales 0.1484375 .. 0.75, one interpolated scale per layer, fixed anchor size);
  12 regressors per anchor (box centre and size, 4 keypoints) scaled by 224; sigmoid scores above 0.5;
  weighted non-maximum suppression at IoU 0.3;
* region of interest: centred on keypoint 0 (hips), side twice the distance to keypoint 1, turned so that
  keypoint 0 -> 1 points up, then enlarged 1.25x and made square on its long side;
* landmark model input 256x256 in [0, 1]; 39 points (33 landmarks, then 6 for the next region) of (x, y, z,
  visibility, presence) in input pixels, visibility and presence through a sigmoid; each point moved to the
  weighted centre of its 64x64 heatmap around it (7x7 cells, where the peak reaches 0.5); projected back
  through the region's rotation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .litert import TfliteModel
from .regions import Region, crop, decode, detect, project, rotation, sigmoid, ssd_anchors

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
NUM_LANDMARKS = 33


ANCHORS = ssd_anchors(DETECTOR_SIZE, (8, 16, 32, 32, 32))


@dataclass
class PoseDetection:
    """One detected person: ``box`` (x0, y0, x1, y1) and ``keypoints`` (4, 2) in image pixels, ``score``."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float


@dataclass
class PoseLandmarks:
    """33 landmarks in MediaPipe's order: ``xy`` (33, 2) in image pixels, ``z`` (33,) (same scale as x),
    ``visibility`` and ``presence`` (33,) in [0, 1]; ``score``: the model's pose flag; ``roi``:
    (centre x, centre y, side, rotation in radians) in pixels."""

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    score: float
    roi: Region
    aux: np.ndarray  # (2, 2): the hips centre and the body-size point the next frame's region comes from
    world: np.ndarray  # (33, 3): metres, origin between the hips

    def next_roi(self) -> Region:
        """The region the next frame's landmarks are looked for in (tracking mode)."""
        return roi_from_keypoints(self.aux[0], self.aux[1])


def decode_detections(regressors: np.ndarray, scores: np.ndarray, min_score: float = MIN_SCORE
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw detector outputs (2254, 12), (2254,) -> boxes (n, 4) xyxy and keypoints (n, 4, 2) in [0, 1] of the 224
    input, and scores (n,), for the anchors scoring above ``min_score``."""
    return decode(regressors, scores, ANCHORS, DETECTOR_SIZE, min_score)


def refine_from_heatmap(pts: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_confidence: float = 0.5
                        ) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: each point (input pixels) moved to the sigmoid-weighted mean of the
    ``kernel`` x ``kernel`` heatmap cells around it (cells off the map weigh nothing), where the peak there
    reaches ``min_confidence``; points off the map are kept."""
    hm_h, hm_w, n = heatmap.shape
    half = (kernel - 1) // 2
    col = np.trunc(pts[:n, 0] / LANDMARK_SIZE * hm_w).astype(int)  # truncated towards zero, as MediaPipe does
    row = np.trunc(pts[:n, 1] / LANDMARK_SIZE * hm_h).astype(int)
    inside = (col >= 0) & (col < hm_w) & (row >= 0) & (row < hm_h)
    padded = np.pad(heatmap, ((half, half), (half, half), (0, 0)), constant_values=-100.0)
    offsets = np.arange(kernel)
    rows = np.clip(row, 0, hm_h - 1)[:, None] + offsets  # window rows in the padded map
    cols = np.clip(col, 0, hm_w - 1)[:, None] + offsets
    conf = sigmoid(padded[rows[:, :, None], cols[:, None, :], np.arange(n)[:, None, None]])  # (n, k, k)
    total = conf.sum((1, 2))
    ok = inside & (conf.max((1, 2)) >= min_confidence) & (total > 0)
    r_idx, c_idx = rows - half, cols - half  # back to heatmap cells
    out = pts.copy()
    wc = (conf * c_idx[:, None, :]).sum((1, 2)) / np.maximum(total, 1e-12)
    wr = (conf * r_idx[:, :, None]).sum((1, 2)) / np.maximum(total, 1e-12)
    out[:n, 0] = np.where(ok, wc / hm_w * LANDMARK_SIZE, pts[:n, 0])
    out[:n, 1] = np.where(ok, wr / hm_h * LANDMARK_SIZE, pts[:n, 1])
    return out


def roi_from_keypoints(hips: np.ndarray, top: np.ndarray) -> Region:
    """The landmark model's region from two detector keypoints in pixels: (centre x, centre y, side, rotation)."""
    side = 2.0 * math.hypot(float(top[0] - hips[0]), float(top[1] - hips[1])) * ROI_SCALE
    return float(hips[0]), float(hips[1]), side, rotation(hips, top, math.pi / 2)


class BlazePose:
    """Detector + landmarks on an RGB image.

    Args:
        threads: LiteRT threads per model.
    """

    def __init__(self, threads: int = 1) -> None:
        self.detector = TfliteModel("pose_detection", threads)
        self.landmarker = TfliteModel("pose_landmark_full", threads)

    def detect(self, rgb: np.ndarray) -> list[PoseDetection]:
        """Every person the detector finds, best first, in image pixels."""
        return [PoseDetection(b, k, s) for b, k, s in detect(self.detector, rgb, ANCHORS, (-1.0, 1.0), MIN_SCORE, NMS_IOU)]

    def landmarks(self, rgb: np.ndarray, roi: Region) -> PoseLandmarks:
        """The 33 landmarks in the rotated square ``roi`` (pixels), projected back into the image."""
        x, inv = crop(rgb, roi, LANDMARK_SIZE)
        out = list(self.landmarker(x).values())
        # 39 points of 5 values: the 33 landmarks, then 6 the graph uses for its next region of interest
        pts = out[0][0].reshape(39, 5)
        raw = pts[:NUM_LANDMARKS]
        xy = project(refine_from_heatmap(pts[:, :2], out[3][0]), inv)
        world = out[4][0].reshape(39, 3)[:NUM_LANDMARKS] if len(out) > 4 else np.zeros((NUM_LANDMARKS, 3))
        return PoseLandmarks(xy[:NUM_LANDMARKS], (raw[:, 2] / LANDMARK_SIZE * roi[2]).astype(np.float32),
                             sigmoid(raw[:, 3]).astype(np.float32), sigmoid(raw[:, 4]).astype(np.float32),
                             float(out[1][0, 0]), roi, xy[33:35], world.astype(np.float32))

    def __call__(self, rgb: np.ndarray, previous: PoseLandmarks | None = None) -> PoseLandmarks | None:
        """Landmarks of the best-scoring person, or None when nobody is found. Tracking mode: with the previous
        frame's landmarks (pose flag above 0.5) the region comes from them and the detector does not run."""
        if previous is not None and previous.score > MIN_SCORE:
            lm = self.landmarks(rgb, previous.next_roi())
            if lm.score > MIN_SCORE:
                return lm
        found = self.detect(rgb)
        if not found:
            return None
        lm = self.landmarks(rgb, roi_from_keypoints(found[0].keypoints[0], found[0].keypoints[1]))
        return lm if lm.score > MIN_SCORE else None

    def in_box(self, rgb: np.ndarray, box: np.ndarray, previous: PoseLandmarks | None = None) -> PoseLandmarks | None:
        """Landmarks of the person in a box from another detector (xyxy pixels): tracked from ``previous`` when
        it is still good, else the pose detector on the box enlarged by half, else the box itself as the
        region."""
        if previous is not None and previous.score > MIN_SCORE:
            lm = self.landmarks(rgb, previous.next_roi())
            if lm.score > MIN_SCORE:
                return lm
        x0, y0, x1, y1 = (float(v) for v in box)
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * 1.5
        h, w = rgb.shape[:2]
        ox, oy = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        patch = rgb[oy:int(min(h, cy + side / 2)), ox:int(min(w, cx + side / 2))]
        found = self.detect(patch) if patch.size else []
        if found:
            k = found[0].keypoints + np.float32([ox, oy])
            lm = self.landmarks(rgb, roi_from_keypoints(k[0], k[1]))
        else:
            lm = self.landmarks(rgb, (cx, cy, max(x1 - x0, y1 - y0) * ROI_SCALE, 0.0))
        return lm if lm.score > MIN_SCORE else None
