"""The geometry MediaPipe's graphs share, in numpy: SSD anchors and decoding, weighted non-maximum suppression,
rotated square regions of interest, the affine crop into a model's input and the projection back.

A region is ``(centre x, centre y, side, rotation)`` in image pixels and radians; every MediaPipe landmark graph
ends its region with ``square_long: true``, so a side is enough. The calculators these mirror (``SsdAnchors``,
``TensorsToDetections``, ``NonMaxSuppression`` (weighted), ``DetectionsToRects``, ``RectTransformation``,
``HandLandmarksToRect``, ``LandmarkProjection``) are in ``mediapipe/calculators`` and
``mediapipe/modules/*/calculators`` of github.com/google-ai-edge/mediapipe.
"""
from __future__ import annotations

import math

import numpy as np

Region = tuple[float, float, float, float]


def ssd_anchors(input_size: int, strides: tuple[int, ...], min_scale: float = 0.1484375,
                max_scale: float = 0.75) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1] of the SsdAnchorsCalculator with one aspect ratio (1.0), an
    interpolated scale per layer and fixed anchor size (all anchors 1x1, so only the centres matter). Layers
    with the same stride share one grid, two anchors per layer per cell."""
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def decode(regressors: np.ndarray, scores: np.ndarray, anchors: np.ndarray, input_size: int,
           min_score: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SSD outputs (N, 4 + 2K), (N,) -> boxes (n, 4) xyxy, keypoints (n, K, 2) in [0, 1] of the square
    input, and sigmoid scores (n,), for the anchors scoring above ``min_score``."""
    p = sigmoid(scores.reshape(-1))
    keep = np.flatnonzero(p > min_score)
    r = regressors.reshape(len(anchors), regressors.shape[-1])[keep] / input_size
    a = anchors[keep]
    cx, cy, w, h = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1], r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    kps = r[:, 4:].reshape(len(keep), (r.shape[1] - 4) // 2, 2) + a[:, None, :]
    return boxes, kps, p[keep]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xyxy box with each of ``boxes``."""
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    inter = ix * iy
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + (box[2] - box[0]) * (box[3] - box[1]) - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, threshold: float = 0.3
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each kept detection is the score-weighted mean of the
    boxes (and keypoints) that overlap the best remaining one above ``threshold`` IoU, with the best one's
    score."""
    remaining = np.argsort(-scores)
    out = []
    while len(remaining):
        top = remaining[0]
        overlap = iou(boxes[top], boxes[remaining])
        group = remaining[overlap > threshold]
        w = scores[group][:, None]
        out.append(((boxes[group] * w).sum(0) / w.sum(), (kps[group] * w[:, :, None]).sum(0) / w.sum(),
                    float(scores[top])))
        remaining = remaining[overlap <= threshold]
    return out


def letterbox_square(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """``rgb`` scaled to fit ``size`` x ``size`` (aspect kept, black bars), corner to corner as MediaPipe's
    ImageToTensorCalculator maps it; returns (image, scale, (pad x, pad y))."""
    import cv2

    h, w = rgb.shape[:2]
    s = size / max(h, w)
    px, py = (size - w * s) / 2, (size - h * s) / 2
    m = np.float32([[s, 0, px], [0, s, py]])
    out = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return out, s, (px, py)


def detect(model, rgb: np.ndarray, anchors: np.ndarray, value_range: tuple[float, float], min_score: float = 0.5,
           nms: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """One SSD detector over the whole (letterboxed) image: ``(box xyxy, keypoints (K, 2), score)`` in image
    pixels, best first."""
    size = model.input_shape[1]
    x, s, (px, py) = letterbox_square(rgb, size)
    lo, hi = value_range
    out = list(model(x[None].astype(np.float32) * ((hi - lo) / 255.0) + lo).values())
    reg, sc = (out[0], out[1]) if out[0].shape[-1] > 1 else (out[1], out[0])
    boxes, kps, scores = decode(reg[0], sc[0], anchors, size, min_score)
    found = []
    for box, kp, score in weighted_nms(boxes, kps, scores, nms):
        pad = np.array([px, py], np.float32)
        b = ((box.reshape(2, 2) * size - pad) / s).reshape(4)
        found.append((b.astype(np.float32), ((kp * size - pad) / s).astype(np.float32), score))
    return found


def detect_in(model, rgb: np.ndarray, box: np.ndarray | None, anchors: np.ndarray, value_range: tuple[float, float],
              min_score: float = 0.5, nms: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """:func:`detect` inside ``box`` (xyxy pixels; None: the whole image), in the image's pixels."""
    if box is None:
        return detect(model, rgb, anchors, value_range, min_score, nms)
    x0, y0 = int(max(0, box[0])), int(max(0, box[1]))
    patch = rgb[y0:int(min(rgb.shape[0], box[3])), x0:int(min(rgb.shape[1], box[2]))]
    if patch.shape[0] < 4 or patch.shape[1] < 4:
        return []
    shift = np.float32([x0, y0])
    return [(b + np.tile(shift, 2), k + shift, s) for b, k, s in detect(model, patch, anchors, value_range, min_score, nms)]


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation(start: np.ndarray, end: np.ndarray, target: float) -> float:
    """The region's rotation that turns the vector ``start -> end`` (pixels) to ``target`` radians (pi/2: up)."""
    return normalize_radians(target - math.atan2(-(float(end[1]) - float(start[1])), float(end[0]) - float(start[0])))


def transform(cx: float, cy: float, w: float, h: float, rot: float, scale: float, shift_y: float = 0.0) -> Region:
    """RectTransformationCalculator on a pixel rectangle: shift along the rotated y axis by ``shift_y`` of the
    height, make it square on its long side, scale it."""
    cx, cy = cx - h * shift_y * math.sin(rot), cy + h * shift_y * math.cos(rot)
    return float(cx), float(cy), float(max(w, h) * scale), float(rot)


def region_from_box(box: np.ndarray, start: np.ndarray, end: np.ndarray, target: float, scale: float,
                    shift_y: float = 0.0) -> Region:
    """A detection's region: its box's centre and size, turned by two of its keypoints."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return transform((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation(start, end, target), scale, shift_y)


def region_from_points(points: np.ndarray, start: np.ndarray, end: np.ndarray, target: float, scale: float,
                       shift_y: float = 0.0, rotated_bounds: bool = False) -> Region:
    """A region around landmarks (pixels): their bounding box (axis-aligned, or along the rotation as the hand
    graph does), turned by ``start -> end``, then transformed."""
    rot = rotation(start, end, target)
    lo, hi = points.min(0), points.max(0)
    centre = (lo + hi) / 2
    if not rotated_bounds:
        return transform(float(centre[0]), float(centre[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]), rot, scale,
                         shift_y)
    c, s = math.cos(rot), math.sin(rot)
    d = points - centre
    turned = np.stack([d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c], 1)  # rotated by -rot
    tlo, thi = turned.min(0), turned.max(0)
    mid = (tlo + thi) / 2
    cx, cy = centre[0] + mid[0] * c - mid[1] * s, centre[1] + mid[0] * s + mid[1] * c
    return transform(float(cx), float(cy), float(thi[0] - tlo[0]), float(thi[1] - tlo[1]), rot, scale, shift_y)


def region_matrix(region: Region, size: int, flip: bool = False) -> np.ndarray:
    """The 2x3 affine map from image pixels to the ``size`` x ``size`` crop of the rotated square ``region``
    (mirrored left-right with ``flip``)."""
    import cv2

    cx, cy, side, rot = region
    c, s = math.cos(rot), math.sin(rot)

    def corner(u: float, v: float) -> tuple[float, float]:  # (u, v) in [-0.5, 0.5] of the crop
        return cx + (c * u - s * v) * side, cy + (s * u + c * v) * side

    src = np.float32([corner(-0.5, -0.5), corner(0.5, -0.5), corner(-0.5, 0.5)])
    dst = np.float32([[size, 0], [0, 0], [size, size]]) if flip else np.float32([[0, 0], [size, 0], [0, size]])
    return cv2.getAffineTransform(src, dst)


def crop(rgb: np.ndarray, region: Region, size: int, value_range: tuple[float, float] = (0.0, 1.0),
         flip: bool = False, replicate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The model input (1, size, size, 3) float32 cut from ``region``, and the 2x3 map from crop back to image."""
    import cv2

    m = region_matrix(region, size, flip)
    patch = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT)
    x = patch[None].astype(np.float32)
    x *= (value_range[1] - value_range[0]) / 255.0
    if value_range[0]:
        x += value_range[0]
    return x, cv2.invertAffineTransform(m)


def project(points: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """(N, 2) crop pixels -> image pixels through the inverse crop map."""
    return (points[:, :2] @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32)
