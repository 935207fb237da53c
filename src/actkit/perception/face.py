"""MediaPipe Face Mesh and Iris in numpy: face detector -> rotated face region -> 468 landmarks -> an eye region
per eye -> 71 eye contour points and 5 iris points.

The numbers follow ``mediapipe/modules/face_detection/face_detection_short_range.pbtxt``,
``face_landmark/*.pbtxt`` and ``iris_landmark/*.pbtxt`` (0.10.21):

* face detector input 128x128, letterboxed, values in [-1, 1]; 896 anchors (strides 8, 16, 16, 16); 16
  regressors (box, 6 keypoints: eyes, nose, mouth, ears) scaled by 128; scores above 0.5; weighted NMS 0.3;
* face region from a detection: the box turned so that eye -> eye is level, square on its long side, 1.5x;
  from landmarks (tracking): their bounding box turned by points 33 -> 263, 1.5x;
* face landmark input 192x192 in [0, 1]: 468 points (x, y, z), a face score through a sigmoid (kept above 0.5);
* eye region from the eye corners (33, 133 and 362, 263): 2.3x their span, square; input 64x64 in [0, 1]
  with replicated borders; the model knows one eye, so the other is mirrored in and out.

``face_landmark_with_attention`` (478 points with refined lips and irises) needs a custom operation LiteRT
lacks; this module runs ``face_landmark`` plus ``iris_landmark`` per eye, MediaPipe's earlier Iris pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .litert import TfliteModel
from .regions import Region, crop, detect_in, project, region_from_box, region_from_points, sigmoid, ssd_anchors

DETECTOR_SIZE = 128
LANDMARK_SIZE = 192
IRIS_SIZE = 64
MIN_SCORE = 0.5
NUM_LANDMARKS = 468
FACE_ANCHORS = ssd_anchors(DETECTOR_SIZE, (8, 16, 16, 16))
# Eye corners in the 468 points: the person's right eye (left in a frontal picture), then the left eye.
EYE_CORNERS = {"right": (33, 133), "left": (362, 263)}


@dataclass
class FaceLandmarks:
    """One face: ``xy`` (468, 2) image pixels, ``z`` (468,) (x's scale), ``score``; ``irises`` maps ``left`` /
    ``right`` (the person's own eyes) to (5, 2) pixels: centre, then four points on the iris edge; ``eyes``
    maps them to the 71 refined eye contour and brow points; ``roi`` the face region."""

    xy: np.ndarray
    z: np.ndarray
    score: float
    roi: Region
    irises: dict[str, np.ndarray] = field(default_factory=dict)
    eyes: dict[str, np.ndarray] = field(default_factory=dict)

    def next_roi(self) -> Region:
        return region_from_points(self.xy, self.xy[33], self.xy[263], 0.0, 1.5)

    def box(self) -> np.ndarray:
        return np.concatenate([self.xy.min(0), self.xy.max(0)]).astype(np.float32)


class FaceMesh:
    """Face detector + 468 landmarks (+ irises) on RGB frames, with tracking across calls.

    Args:
        max_faces: the most faces reported per frame.
        irises: also run the iris model on both eyes.
        threads: LiteRT threads per model.
    """

    def __init__(self, max_faces: int = 1, irises: bool = True, threads: int = 1) -> None:
        self.detector = TfliteModel("face_detection_short_range", threads)
        self.landmarker = TfliteModel("face_landmark", threads)
        self.iris = TfliteModel("iris_landmark", threads) if irises else None
        self.max_faces = max_faces

    def faces(self, rgb: np.ndarray, box: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Face detections ``(box, keypoints (6, 2), score)`` in image pixels, best first (inside ``box``)."""
        return detect_in(self.detector, rgb, box, FACE_ANCHORS, (-1.0, 1.0), MIN_SCORE, 0.3)

    def region(self, box: np.ndarray, keypoints: np.ndarray) -> Region:
        """The landmark model's region for a face detection."""
        return region_from_box(box, keypoints[0], keypoints[1], 0.0, 1.5)

    def landmarks(self, rgb: np.ndarray, roi: Region) -> FaceLandmarks:
        """The 468 landmarks in a face region (and the irises), projected back into the image."""
        x, inv = crop(rgb, roi, LANDMARK_SIZE)
        out = list(self.landmarker(x).values())
        pts = next(v for v in out if v.size == NUM_LANDMARKS * 3).reshape(NUM_LANDMARKS, 3)
        flag = float(sigmoid(next(v for v in out if v.size == 1).reshape(())))
        face = FaceLandmarks(project(pts, inv), (pts[:, 2] / LANDMARK_SIZE * roi[2]).astype(np.float32), flag, roi)
        if self.iris is not None and flag > MIN_SCORE:
            for eye, (a, b) in EYE_CORNERS.items():
                face.eyes[eye], face.irises[eye] = self.eye(rgb, face.xy[a], face.xy[b], flip=eye == "left")
        return face

    def eye(self, rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, flip: bool
            ) -> tuple[np.ndarray, np.ndarray]:
        """(71, 2) eye contour and brow points and (5, 2) iris points, pixels, for the eye between two corners."""
        roi = region_from_points(np.stack([corner_a, corner_b]), corner_a, corner_b, 0.0, 2.3)
        x, inv = crop(rgb, roi, IRIS_SIZE, flip=flip, replicate=True)
        out = self.iris(x)
        contour = next(v for v in out.values() if v.shape[-1] == 213)[0].reshape(71, 3)
        iris = next(v for v in out.values() if v.shape[-1] == 15)[0].reshape(5, 3)
        return project(contour, inv), project(iris, inv)

    def __call__(self, rgb: np.ndarray, previous: list[FaceLandmarks] | None = None,
                 box: np.ndarray | None = None) -> list[FaceLandmarks]:
        """Faces in ``rgb`` (new ones looked for inside ``box`` when given); pass the previous frame's result to
        track (no detector while all faces hold)."""
        regions = [f.next_roi() for f in previous or []][: self.max_faces]
        if len(regions) < self.max_faces:
            taken = [f.box() for f in previous or []]
            for face, kp, _ in self.faces(rgb, box):
                c = (face[:2] + face[2:]) / 2
                if any(t[0] <= c[0] <= t[2] and t[1] <= c[1] <= t[3] for t in taken):
                    continue  # already tracked
                regions.append(self.region(face, kp))
                taken.append(face)
                if len(regions) == self.max_faces:
                    break
        return [f for f in (self.landmarks(rgb, r) for r in regions) if f.score > MIN_SCORE]


EYE_CROP_HW = (24, 40)  # OCEC's eye crop, height x width
EYE_SPAN = 1.6  # crop width over the eye's corner-to-corner span


def eye_crop(rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, supersample: int = 4) -> np.ndarray:
    """The (24, 40, 3) uint8 crop of the eye between two corners (``corner_a`` on the crop's left): turned so
    that the corners are level, ``EYE_SPAN`` times their span wide, 24:40; drawn at ``supersample`` times the
    size and shrunk with area averaging, as ``actkit synth eyes`` draws its crops."""
    import cv2

    a, b = np.asarray(corner_a, np.float64), np.asarray(corner_b, np.float64)
    span = float(np.linalg.norm(b - a))
    if not np.isfinite(span) or span < 1.0:
        raise ValueError(f"eye corners {a.tolist()} and {b.tolist()} are too close for an eye crop")
    h, w = EYE_CROP_HW[0] * supersample, EYE_CROP_HW[1] * supersample
    scale = w / (EYE_SPAN * span)  # output pixels per image pixel
    cos, sin = (b - a) / span * scale
    centre = (a + b) / 2
    m = np.array([[cos, sin, w / 2 - cos * centre[0] - sin * centre[1]],
                  [-sin, cos, h / 2 + sin * centre[0] - cos * centre[1]]])
    big = cv2.warpAffine(np.ascontiguousarray(rgb), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(big, EYE_CROP_HW[::-1], interpolation=cv2.INTER_AREA)
