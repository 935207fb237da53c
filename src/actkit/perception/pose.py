"""BlazePose on one person: detector -> rotated region of interest -> 33 landmarks, in numpy.

The numbers follow MediaPipe's public graph configs (``mediapipe/modules/pose_detection/*.pbtxt`` and
``pose_landmark/*.pbtxt``, 0.10.21):

* detector input 224x224, letterboxed (aspect kept), values in [-1, 1]; 2254 SSD anchors from 5 layers with
  strides 8, 16, 32, 32, 32 (scales 0.1484375 .. 0.75, one interpolated scale per layer, fixed anchor size);
  12 regressors per anchor (box centre and size, 4 keypoints) scaled by 224; sigmoid scores above 0.5;
  weighted non-maximum suppression at IoU 0.3;
* region of interest: centred on keypoint 0 (hips), side twice the distance to keypoint 1, turned so that
  keypoint 0 -> 1 points up, then enlarged 1.25x and made square on its long side;
* landmark model input 256x256 in [0, 1]; 39 points (33 landmarks, then 6 for the next region) of (x, y, z,
  visibility, presence) in input pixels,
  visibility and presence through a sigmoid; projected back through the region's rotation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .litert import TfliteModel

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
NUM_LANDMARKS = 33


def ssd_anchors(input_size: int = DETECTOR_SIZE, strides: tuple[int, ...] = (8, 16, 32, 32, 32),
                min_scale: float = 0.1484375, max_scale: float = 0.75) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1] of MediaPipe's SsdAnchorsCalculator with one aspect ratio (1.0),
    an interpolated scale per layer and fixed anchor size (all anchors 1x1, so only the centres matter)."""
    centres, layer = [], 0
    while layer < len(strides):
        per_cell, last = 0, layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 2  # the layer's aspect ratio 1.0 and its interpolated scale
            last += 1
        cells = math.ceil(input_size / strides[layer])
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], 1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer = last
    return np.concatenate(centres).astype(np.float32)


ANCHORS = ssd_anchors()


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
    roi: tuple[float, float, float, float]
    aux: np.ndarray  # (2, 2): the hips centre and the body-size point the next frame's region comes from


def letterbox_square(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """``rgb`` scaled to fit ``size`` x ``size`` (aspect kept, black bars); returns (image, scale, (pad x, pad y))."""
    import cv2

    h, w = rgb.shape[:2]
    s = size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    out = np.zeros((size, size, 3), np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py:py + nh, px:px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return out, s, (px, py)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def decode_detections(regressors: np.ndarray, scores: np.ndarray, min_score: float = MIN_SCORE
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw detector outputs (2254, 12), (2254,) -> boxes (n, 4) xyxy and keypoints (n, 4, 2) in [0, 1] of the
    224 input, and scores (n,), for the anchors scoring above ``min_score``."""
    p = _sigmoid(scores.reshape(-1))
    keep = np.flatnonzero(p > min_score)
    r = regressors.reshape(-1, 12)[keep] / DETECTOR_SIZE
    a = ANCHORS[keep]
    cx, cy, w, h = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1], r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    kps = r[:, 4:].reshape(-1, 4, 2) + a[:, None, :]
    return boxes, kps, p[keep]


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each kept detection is the score-weighted mean of the
    boxes (and keypoints) that overlap the best remaining one above ``iou``, with the best one's score."""
    order = list(np.argsort(-scores))
    out = []
    while order:
        top = order[0]
        rest = np.array(order)
        b = boxes[rest]
        ix = np.clip(np.minimum(b[:, 2], boxes[top, 2]) - np.maximum(b[:, 0], boxes[top, 0]), 0, None)
        iy = np.clip(np.minimum(b[:, 3], boxes[top, 3]) - np.maximum(b[:, 1], boxes[top, 1]), 0, None)
        inter = ix * iy
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        top_area = (boxes[top, 2] - boxes[top, 0]) * (boxes[top, 3] - boxes[top, 1])
        overlap = inter / np.maximum(area + top_area - inter, 1e-9)
        group = rest[overlap > iou]
        w = scores[group][:, None]
        out.append(((boxes[group] * w).sum(0) / w.sum(), (kps[group] * w[:, :, None]).sum(0) / w.sum(),
                    float(scores[top])))
        order = [i for i in order if i not in set(group.tolist())]
    return out


def roi_from_keypoints(hips: np.ndarray, top: np.ndarray) -> tuple[float, float, float, float]:
    """The landmark model's region from two detector keypoints in pixels: (centre x, centre y, side, rotation)."""
    dx, dy = float(top[0] - hips[0]), float(top[1] - hips[1])
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
    return float(hips[0]), float(hips[1]), side, rotation


def roi_matrix(roi: tuple[float, float, float, float], size: int) -> np.ndarray:
    """The 2x3 affine map from image pixels to the ``size`` x ``size`` crop of the rotated square ``roi``."""
    import cv2

    cx, cy, side, rot = roi
    c, s = math.cos(rot), math.sin(rot)

    def corner(u: float, v: float) -> tuple[float, float]:  # (u, v) in [-0.5, 0.5] of the crop
        return cx + (c * u - s * v) * side, cy + (s * u + c * v) * side

    src = np.float32([corner(-0.5, -0.5), corner(0.5, -0.5), corner(-0.5, 0.5)])
    dst = np.float32([[0, 0], [size, 0], [0, size]])
    return cv2.getAffineTransform(src, dst)


class BlazePose:
    """Detector + landmarks on an RGB image (one person: the best detection).

    Args:
        threads: LiteRT threads per model.
    """

    def __init__(self, threads: int = 1) -> None:
        self.detector = TfliteModel("pose_detection", threads)
        self.landmarker = TfliteModel("pose_landmark_full", threads)

    def detect(self, rgb: np.ndarray) -> list[PoseDetection]:
        """Every person the detector finds, best first, in image pixels."""
        x, s, (px, py) = letterbox_square(rgb, DETECTOR_SIZE)
        out = self.detector((x[None].astype(np.float32) / 127.5) - 1.0)
        reg = next(v for v in out.values() if v.shape[-1] == 12)
        sc = next(v for v in out.values() if v.shape[-1] == 1)
        boxes, kps, scores = decode_detections(reg[0], sc[0])
        found = []
        for box, kp, score in weighted_nms(boxes, kps, scores):
            to_px = lambda v, pad: (v * DETECTOR_SIZE - pad) / s  # noqa: E731 - undo the letterbox
            b = np.array([to_px(box[0], px), to_px(box[1], py), to_px(box[2], px), to_px(box[3], py)], np.float32)
            k = np.stack([to_px(kp[:, 0], px), to_px(kp[:, 1], py)], 1).astype(np.float32)
            found.append(PoseDetection(b, k, score))
        return found

    def landmarks(self, rgb: np.ndarray, roi: tuple[float, float, float, float]) -> PoseLandmarks:
        """The 33 landmarks in the rotated square ``roi`` (pixels), projected back into the image."""
        import cv2

        m = roi_matrix(roi, LANDMARK_SIZE)
        crop = cv2.warpAffine(rgb, m, (LANDMARK_SIZE, LANDMARK_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        out = self.landmarker(crop[None].astype(np.float32) / 255.0)
        # 39 points of 5 values: the 33 landmarks, then 6 the graph uses for its next region of interest
        pts = next(v for v in out.values() if v.shape == (1, 195))[0].reshape(39, 5)
        raw = pts[:NUM_LANDMARKS]
        flag = float(next(v for v in out.values() if v.shape == (1, 1))[0, 0])
        inv = cv2.invertAffineTransform(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        return PoseLandmarks(xy[:NUM_LANDMARKS].astype(np.float32), (raw[:, 2] / LANDMARK_SIZE * roi[2]).astype(np.float32),
                             _sigmoid(raw[:, 3]).astype(np.float32), _sigmoid(raw[:, 4]).astype(np.float32), flag, roi,
                             xy[33:35].astype(np.float32))

    def __call__(self, rgb: np.ndarray, previous: PoseLandmarks | None = None) -> PoseLandmarks | None:
        """Landmarks of the best-scoring person, or None when nobody is found. Tracking mode: with the previous
        frame's landmarks (pose flag above 0.5) the region comes from them and the detector does not run."""
        if previous is not None and previous.score > MIN_SCORE:
            lm = self.landmarks(rgb, roi_from_keypoints(previous.aux[0], previous.aux[1]))
            if lm.score > MIN_SCORE:
                return lm
        found = self.detect(rgb)
        if not found:
            return None
        return self.landmarks(rgb, roi_from_keypoints(found[0].keypoints[0], found[0].keypoints[1]))
