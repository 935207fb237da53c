"""Person detectors: ``detect(rgb) -> (boxes (N, 4) xyxy pixels, scores (N,))``.

* :class:`PersonDetector` is the protocol; anything with that method plugs in.
* :class:`HogDetector`: OpenCV's HOG people detector, where the OpenCV build has it (OpenCV 5 moved
  ``HOGDescriptor`` out of the main package).
* :class:`MotionDetector`: background-subtraction blobs, for a fixed camera; works in every build.
* :class:`OnnxDetector`: any ONNX detector with a decoder for its output layout, NMS by ``cv2.dnn.NMSBoxes``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

from ...data.transforms import letterbox
from .matching import iou_matrix


@runtime_checkable
class PersonDetector(Protocol):
    """Anything that finds people in an RGB frame."""

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HxWx3 uint8 RGB -> (boxes (N, 4) float32 ``x0, y0, x1, y1`` in pixels, scores (N,) float32)."""
        ...


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression on xyxy boxes, best score first.

    Any score threshold works, negative ones included (HOG's SVM margins can be; OpenCV's
    ``dnn.NMSBoxes`` refuses a negative threshold).
    """
    order = [i for i in np.argsort(-np.asarray(scores, np.float64), kind="stable") if scores[i] >= score_threshold]
    if not order:
        return np.zeros((0,), np.int64)
    b = np.asarray(boxes, np.float32)[order]
    overlap = iou_matrix(b, b)
    keep: list[int] = []
    for k in range(len(order)):
        if all(overlap[k, j] <= iou_threshold for j in keep):
            keep.append(k)
    return np.asarray([order[k] for k in keep], np.int64)


class HogDetector:
    """OpenCV's default HOG + linear SVM people detector (Dalal-Triggs, 64x128 window).

    Args:
        scale: image pyramid step.
        win_stride: window stride in pixels.
        hit_threshold: SVM score threshold.
        nms_iou: IoU for suppressing overlapping windows.
        upscale: resize factor applied before detection (HOG misses people under ~100 px tall).

    Raises:
        ImportError: when this OpenCV build has no ``HOGDescriptor`` (OpenCV 5 headless wheels).
    """

    def __init__(self, scale: float = 1.05, win_stride: int = 8, hit_threshold: float = 0.0,
                 nms_iou: float = 0.45, upscale: float = 1.0) -> None:
        import cv2

        if not hasattr(cv2, "HOGDescriptor"):
            raise ImportError(f"this OpenCV build ({cv2.__version__}) has no HOG people detector "
                              "(OpenCV 5 moved it to contrib): pip install opencv-contrib-python-headless, "
                              "or use --detector motion / --detector model.onnx")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.scale, self.win_stride, self.hit_threshold = scale, win_stride, hit_threshold
        self.nms_iou, self.upscale = nms_iou, upscale

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        img = rgb if self.upscale == 1.0 else cv2.resize(rgb, None, fx=self.upscale, fy=self.upscale)
        rects, weights = self._hog.detectMultiScale(img, hitThreshold=self.hit_threshold,
                                                    winStride=(self.win_stride, self.win_stride), scale=self.scale)
        if len(rects) == 0:
            return _empty()
        r = np.asarray(rects, np.float32) / self.upscale
        boxes = np.column_stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]]).astype(np.float32)
        scores = np.asarray(weights, np.float32).reshape(-1)
        keep = nms(boxes, scores, -np.inf, self.nms_iou)
        return boxes[keep], scores[keep]


class MotionDetector:
    """Moving-foreground blobs from MOG2 background subtraction (fixed camera only).

    Not a person detector in general: anything that moves becomes a box. It needs no model file and
    works in every OpenCV build, which makes it the fallback when HOG is missing.

    Args:
        min_area: smallest blob kept, as a fraction of the frame area.
        history: frames in the background model.
        var_threshold: MOG2 variance threshold.
    """

    def __init__(self, min_area: float = 0.002, history: int = 200, var_threshold: float = 25.0) -> None:
        import cv2

        self._bg = cv2.createBackgroundSubtractorMOG2(history=history, varThreshold=var_threshold, detectShadows=False)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.min_area = min_area

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        mask = self._bg.apply(rgb)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
        min_px = self.min_area * rgb.shape[0] * rgb.shape[1]
        rows = [s for s in stats[1:n] if s[cv2.CC_STAT_AREA] >= min_px]
        if not rows:
            return _empty()
        s = np.asarray(rows, np.float32)
        boxes = np.column_stack([s[:, 0], s[:, 1], s[:, 0] + s[:, 2], s[:, 1] + s[:, 3]]).astype(np.float32)
        scores = np.minimum(1.0, s[:, 4] / (s[:, 2] * s[:, 3])).astype(np.float32)  # fill ratio
        return boxes, scores


# --------------------------------------------------------------------------- ONNX detectors

def decode_yolo(outputs: Sequence[np.ndarray], objectness: bool = True, class_ids: Sequence[int] | None = (0,)) -> tuple[np.ndarray, np.ndarray]:
    """YOLO-style rows ``cx, cy, w, h, [obj,] class scores...`` in input pixels -> (xyxy boxes, scores).

    Accepts (N, D), (1, N, D) and the transposed (1, D, N) layout of anchor-free heads
    (pass ``objectness=False`` for those, whose rows are 4 + C).

    Args:
        outputs: the ONNX Runtime session's outputs; the first is used.
        objectness: rows carry an objectness score at column 4 (score = obj * class score).
        class_ids: classes that count as a person (COCO: 0); None keeps every class.
    """
    out = np.asarray(outputs[0], np.float32)
    if out.ndim == 3:
        out = out[0]
    first = 5 if objectness else 4
    if out.ndim != 2 or max(out.shape) <= first:
        raise ValueError(f"YOLO decoder: expected (N, 4+{'1+' if objectness else ''}C) rows, got {out.shape}")
    if out.shape[1] > out.shape[0] and out.shape[0] > first:  # (D, N): anchor-free layout
        out = out.T
    cls = out[:, first:] if out.shape[1] > first else np.ones((len(out), 1), np.float32)
    if class_ids is not None:
        cls = cls[:, list(class_ids)]
    scores = cls.max(1) * (out[:, 4] if objectness else 1.0)
    cx, cy, w, h = out[:, 0], out[:, 1], out[:, 2], out[:, 3]
    return np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]).astype(np.float32), scores.astype(np.float32)


def decode_boxes_scores(outputs: Sequence[np.ndarray], box_format: str = "xyxy", normalized: bool = False,
                        input_size: tuple[int, int] | None = None, class_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two outputs: boxes (1, N, 4) or (N, 4) and scores (1, N), (N,) or (N, C) -> (xyxy pixels, scores).

    Args:
        box_format: ``xyxy`` or ``xywh`` (top-left + size) or ``cxcywh``.
        normalized: boxes in [0, 1] of the input size (multiplied by ``input_size``).
        class_ids: for per-class scores, the person classes; None: max over classes.
    """
    if len(outputs) < 2:
        raise ValueError(f"boxes+scores decoder needs two outputs, the model has {len(outputs)}")
    b = np.asarray(outputs[0], np.float32).reshape(-1, 4)
    s = np.asarray(outputs[1], np.float32)
    s = s.reshape(len(b), -1) if s.size != len(b) else s.reshape(-1, 1)
    if class_ids is not None and s.shape[1] > 1:
        s = s[:, list(class_ids)]
    scores = s.max(1)
    if box_format == "xywh":
        b = np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]])
    elif box_format == "cxcywh":
        b = np.column_stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2])
    elif box_format != "xyxy":
        raise ValueError(f"unknown box format {box_format!r}: xyxy, xywh or cxcywh")
    if normalized:
        if input_size is None:
            raise ValueError("normalized boxes need the input size")
        h, w = input_size
        b = b * np.array([w, h, w, h], np.float32)
    return b.astype(np.float32), scores.astype(np.float32)


DECODERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {"yolo": decode_yolo, "boxes_scores": decode_boxes_scores}


class OnnxDetector:
    """Any ONNX detector: letterbox to its input, run, decode, map back, NMS.

    Args:
        path: the ``.onnx`` file.
        decoder: ``"yolo"`` (rows of 4+1+C), ``"yolo_nobj"`` (rows of 4+C, e.g. anchor-free heads),
            ``"boxes_scores"`` (two outputs) or a callable ``outputs -> (xyxy boxes, scores)`` in
            network-input pixels.
        input_size: (H, W) when the model's input shape is dynamic (default 640x640).
        score_threshold: detections below are dropped.
        nms_iou: IoU for non-maximum suppression.
        class_ids: person class indices (COCO: 0); None keeps all classes.
        scale: pixel scale applied to the uint8 input (1/255: inputs in [0, 1]).
        bgr: feed BGR instead of RGB.
        threads: ONNX Runtime intra-op threads.
        **decoder_kwargs: passed to a named decoder (e.g. ``box_format="xywh"``).
    """

    def __init__(self, path: str | Path, decoder: str | Callable[..., tuple[np.ndarray, np.ndarray]] = "yolo",
                 input_size: tuple[int, int] | None = None, score_threshold: float = 0.35, nms_iou: float = 0.45,
                 class_ids: Sequence[int] | None = (0,), scale: float = 1 / 255.0, bgr: bool = False, threads: int = 1,
                 **decoder_kwargs: Any) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"detector model not found: {self.path}")
        from ...utils.ort import ort_session

        try:
            self._sess = ort_session(self.path, threads)
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise ValueError(f"{self.path}: not a loadable ONNX detector ({type(e).__name__}: {e})") from e
        inp = self._sess.get_inputs()[0]
        self._input = inp.name
        shape = list(inp.shape)
        fixed = len(shape) == 4 and all(isinstance(v, int) for v in shape[2:])
        self.input_size = tuple(input_size) if input_size else (tuple(shape[2:]) if fixed else (640, 640))
        if isinstance(decoder, str):
            name = decoder
            if name == "yolo_nobj":
                name, decoder_kwargs = "yolo", {"objectness": False, **decoder_kwargs}
            if name not in DECODERS:
                raise ValueError(f"unknown detector decoder {decoder!r}: yolo, yolo_nobj, boxes_scores or a callable")
            fn = DECODERS[name]
            if name == "yolo":
                decoder_kwargs.setdefault("class_ids", class_ids)
            else:
                decoder_kwargs.setdefault("input_size", self.input_size)
                decoder_kwargs.setdefault("class_ids", None if class_ids == (0,) else class_ids)
            self._decode = lambda outs: fn(outs, **decoder_kwargs)
        else:
            self._decode = decoder
        self.score_threshold, self.nms_iou, self.scale, self.bgr = score_threshold, nms_iou, scale, bgr

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img = rgb[..., ::-1] if self.bgr else rgb
        x, r, (px, py) = letterbox(img, self.input_size)
        blob = (x.astype(np.float32) * self.scale).transpose(2, 0, 1)[None]
        boxes, scores = self._decode(self._sess.run(None, {self._input: np.ascontiguousarray(blob)}))
        ok = scores >= self.score_threshold
        boxes, scores = boxes[ok], scores[ok]
        if len(boxes) == 0:
            return _empty()
        boxes = (boxes - np.array([px, py, px, py], np.float32)) / r
        h, w = rgb.shape[:2]
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        keep = nms(boxes, scores, self.score_threshold, self.nms_iou)
        return boxes[keep], scores[keep]




def make_detector(spec: str | PersonDetector | None, **kwargs: Any) -> PersonDetector:
    """``"hog"``, ``"motion"``, ``"auto"`` (HOG if this OpenCV has it, else motion), ``path.onnx`` or an object."""
    if isinstance(spec, str) and not spec.endswith(".onnx") and kwargs:
        raise ValueError(f"detector options {sorted(kwargs)} apply to .onnx detectors only")
    if spec is None or spec == "auto":
        try:
            return HogDetector()
        except ImportError as e:
            log.warning("%s; falling back to the motion detector", str(e).split(":")[0])
            return MotionDetector()
    if not isinstance(spec, str):
        if not isinstance(spec, PersonDetector):
            raise TypeError(f"detector {spec!r} has no detect(rgb) method")
        return spec
    if spec == "hog":
        return HogDetector()
    if spec == "motion":
        return MotionDetector()
    if spec.endswith(".onnx"):
        return OnnxDetector(spec, **kwargs)
    raise ValueError(f"unknown detector {spec!r}: hog, motion, auto or a .onnx file")


