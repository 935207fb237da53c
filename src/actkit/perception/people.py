"""Everyone in a frame: person boxes from a detector and the tracker, then body, hands and face per person.

Without a detector (``detector=None``) there is one person, found and followed by BlazePose itself (tracking
mode), and hands and faces are looked for over the whole frame, as MediaPipe's own solutions do. With a
detector (``motion``: background subtraction with blobs of people side by side cut apart, the measured best
on a fixed camera; ``hog``; ``auto``; a ``.onnx`` file; or ``blazepose``: BlazePose's detector over
overlapping tiles), each box the tracker keeps becomes a person with its own id, its own landmarks (tracked
from its previous frame), hands and face searched inside its box, and its own One Euro filter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .face import FaceLandmarks, FaceMesh
from .filters import OneEuroFilter, object_scale
from .hands import Hands, HandLandmarks
from .pose import BlazePose, PoseLandmarks
from .regions import iou

PARTS = ("body", "hands", "face")
DETECTORS = ("blazepose", "motion", "hog", "auto")


def check_parts(parts: Sequence[str]) -> tuple[str, ...]:
    parts = tuple(dict.fromkeys(parts))
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ValueError(f"unknown parts {unknown or list(parts)}; choose from {', '.join(PARTS)}")
    return parts


@dataclass
class Person:
    """One person's state across frames: the last landmarks of each part (for tracking) and the smoothing."""

    id: int
    pose: PoseLandmarks | None = None
    hands: list[HandLandmarks] = field(default_factory=list)
    faces: list[FaceLandmarks] = field(default_factory=list)
    filter: OneEuroFilter | None = None


class TiledPoseDetector:
    """BlazePose's detector over the whole frame and over overlapping tiles (people far from the camera are
    too small for one 224 px view), boxes merged by IoU. A person's box is the square of the detector's body
    circle (hips centre, radius to the body-size keypoint)."""

    def __init__(self, pose: BlazePose, grid: int = 2, overlap: float = 0.25, min_score: float = 0.5) -> None:
        self.pose, self.grid, self.overlap, self.min_score = pose, grid, overlap, min_score

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        views = [(0, 0, w, h)]
        tw, th = w / (self.grid - (self.grid - 1) * self.overlap), h / (self.grid - (self.grid - 1) * self.overlap)
        for gy in range(self.grid):
            for gx in range(self.grid):
                x0, y0 = int(gx * tw * (1 - self.overlap)), int(gy * th * (1 - self.overlap))
                views.append((x0, y0, min(w, int(x0 + tw)), min(h, int(y0 + th))))
        boxes, scores = [], []
        for x0, y0, x1, y1 in views:
            for d in self.pose.detect(rgb[y0:y1, x0:x1]):
                if d.score < self.min_score:
                    continue
                hips, top = d.keypoints[0] + (x0, y0), d.keypoints[1] + (x0, y0)
                r = float(np.hypot(*(top - hips)))
                boxes.append([hips[0] - r * 0.6, hips[1] - r, hips[0] + r * 0.6, hips[1] + r])
                scores.append(d.score)
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        boxes, scores = np.array(boxes, np.float32), np.array(scores, np.float32)
        keep: list[int] = []
        for i in np.argsort(-scores):
            if not keep or iou(boxes[i], boxes[keep]).max() < 0.4:
                keep.append(int(i))
        return boxes[keep], scores[keep]


def split_wide(boxes: np.ndarray, scores: np.ndarray, person_aspect: float = 0.45, wide: float = 0.8
               ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes wider than ``wide`` x their height (two or more people walking side by side make one motion blob)
    cut into ``round(width / (person_aspect * height))`` side-by-side boxes of the same height."""
    out_b, out_s = [], []
    for box, score in zip(boxes, scores):
        w, h = box[2] - box[0], box[3] - box[1]
        k = int(round(w / (person_aspect * h))) if h > 0 and w > wide * h else 1
        for i in range(max(1, k)):
            out_b.append([box[0] + w * i / k, box[1], box[0] + w * (i + 1) / k, box[3]] if k > 1 else list(box))
            out_s.append(score)
    return np.array(out_b, np.float32).reshape(-1, 4), np.array(out_s, np.float32)


class SplitBoxes:
    """A detector whose wide boxes are cut into one box per person (:func:`split_wide`)."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return split_wide(*self.base.detect(rgb))


def _make_detector(spec: Any, pose: BlazePose) -> Any:
    if spec == "blazepose":
        return TiledPoseDetector(pose)
    from ..streaming.tracking.detectors import make_detector

    if spec == "motion":  # blobs of people walking side by side are cut apart
        return SplitBoxes(make_detector("motion"))
    return make_detector(spec)


def _enlarge(box: np.ndarray, factor: float, shape: tuple[int, ...]) -> np.ndarray:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
    return np.array([max(0, cx - hw), max(0, cy - hh), min(shape[1], cx + hw), min(shape[0], cy + hh)], np.float32)


class People:
    """Body, hand and face landmarks for everyone in a stream of frames.

    Args:
        parts: any of ``body``, ``hands``, ``face``.
        detector: None (one person, BlazePose's own tracking), ``blazepose`` (tiled), ``motion``, ``hog``,
            ``auto``, a ``.onnx`` person detector or an object with ``detect(rgb) -> (boxes, scores)``.
        max_people: the most people given landmarks per frame (largest boxes first); the tracker follows
            everyone the detector finds.
        threads: LiteRT threads per model.
        smooth: One Euro filter on the reported body landmarks.
    """

    def __init__(self, parts: Sequence[str] = ("body",), detector: Any = None, max_people: int = 6,
                 threads: int = 1, smooth: bool = True) -> None:
        self.parts = check_parts(parts)
        self.pose = BlazePose(threads) if "body" in self.parts or detector == "blazepose" else None
        self.hands = Hands(2, threads) if "hands" in self.parts else None
        self.face = FaceMesh(1, True, threads) if "face" in self.parts else None
        self.detector = None if detector is None else _make_detector(detector, self.pose)
        self.max_people, self.smooth = max_people, smooth
        self.tracker = None
        if self.detector is not None:
            from ..streaming.tracking.tracker import IoUTracker

            self.tracker = IoUTracker(iou_threshold=0.2, max_age=5)
        self.people: dict[int, Person] = {}

    def __call__(self, rgb: np.ndarray, t: float) -> list[tuple[Person, np.ndarray | None]]:
        """The people in this frame (``t``: its time in seconds) with their boxes (None for the whole frame)."""
        if self.detector is None:
            person = self.people.setdefault(0, Person(0))
            self.update_person(person, rgb, None, t)
            found = person.pose is not None or person.hands or person.faces
            return [(person, None)] if found else []
        tracks = self.tracker.update(*self.detector.detect(rgb))
        for gone in self.tracker.ended:
            self.people.pop(gone, None)
        largest = sorted(tracks, key=lambda k: -(k.box[2] - k.box[0]) * (k.box[3] - k.box[1]))[: self.max_people]
        out = []
        for track in tracks:
            person = self.people.setdefault(track.id, Person(track.id))
            if track in largest:
                self.update_person(person, rgb, track.box, t)
            else:  # beyond max_people: followed by the tracker, no landmarks this frame
                person.pose, person.hands, person.faces = None, [], []
                if person.filter is not None:
                    person.filter.reset()
            out.append((person, track.box))
        return out

    def update_person(self, person: Person, rgb: np.ndarray, box: np.ndarray | None, t: float) -> None:
        """New landmarks of ``person`` on this frame: tracked from their last ones, in ``box`` (None: the whole frame)."""
        if self.pose is not None and "body" in self.parts:
            person.pose = self.pose(rgb, person.pose) if box is None else self.pose.in_box(rgb, box, person.pose)
        search = None if box is None else _enlarge(box, 1.3, rgb.shape)
        if self.hands is not None:
            person.hands = self.hands(rgb, person.hands, search)
        if self.face is not None:
            person.faces = self.face(rgb, person.faces, search)
        if self.smooth and person.pose is not None:
            person.filter = person.filter or OneEuroFilter()
        elif person.filter is not None:
            person.filter.reset()

    def keypoints(self, person: Person, t: float) -> dict[str, Any] | None:
        """The person's keypoints as :class:`~actkit.results.Results` carries them (smoothed body)."""
        kp: dict[str, Any] = {}
        lm = person.pose
        if lm is not None:
            xy, z = lm.xy, lm.z
            if person.filter is not None:  # tracking keeps the raw landmarks; what is reported is smoothed
                sm = person.filter(np.column_stack([lm.xy, lm.z]), t, object_scale(lm.xy))
                xy, z = sm[:, :2].astype(np.float32), sm[:, 2].astype(np.float32)
            kp.update(layout="mediapipe33", xy=xy, z=z, visibility=lm.visibility, presence=lm.presence,
                      world=lm.world, score=float(np.clip(lm.score, 0.0, 1.0)))
        if self.hands is not None:
            kp["hands"] = [{"xy": h.xy, "z": h.z, "world": h.world, "handedness": h.handedness,
                            "handedness_score": round(h.handedness_score, 3), "score": round(h.score, 3)}
                           for h in person.hands]
        if self.face is not None:
            kp["faces"] = [{"xy": f.xy, "z": f.z, "score": round(f.score, 3), "irises": f.irises}
                           for f in person.faces]
        return kp if lm is not None or kp.get("hands") or kp.get("faces") else None
