"""Standing, sitting or lying from body landmarks: a geometric rule in the body's own units.

hac's rule compares joint heights with fractions of the image height and trusts every landmark; this one
measures angles and lengths against the torso (mid-shoulders to mid-hips), so it works at any distance
from the camera, and it only uses landmarks the model calls visible:

* no visible shoulder or hip: no answer;
* torso more than 60 degrees from upright: ``lying``;
* no visible knee: no answer (sitting and standing differ in the legs);
* thigh (hip to knee) within 35 degrees of straight down and at least 0.55 torso lengths long in the
  picture, and the ankles (when visible) more than 1.2 torso lengths below the hips: ``standing``;
* thigh more than 50 degrees from straight down, or foreshortened under 0.55 torso lengths (a thigh
  pointing at the camera), or ankles less than 0.9 torso lengths below the hips: ``sitting``;
* in between: the nearer of the two by thigh angle, with a low confidence.
"""
from __future__ import annotations

import math

import numpy as np

POSTURES = ("lying", "sitting", "standing")
SHOULDERS, HIPS, KNEES, ANKLES = (11, 12), (23, 24), (25, 26), (27, 28)


def _mean_visible(xy: np.ndarray, vis: np.ndarray, idx: tuple[int, int], min_vis: float) -> np.ndarray | None:
    seen = [i for i in idx if vis[i] >= min_vis]
    return xy[seen].mean(0) if seen else None


def _angle_deg(v: np.ndarray, ref: tuple[float, float]) -> float:
    n = float(np.hypot(*v))
    if n < 1e-9:
        return 0.0
    cos = (v[0] * ref[0] + v[1] * ref[1]) / n
    return math.degrees(math.acos(max(-1.0, min(1.0, float(cos)))))


def posture_rule(xy: np.ndarray, visibility: np.ndarray, min_visibility: float = 0.5
                 ) -> tuple[str, float] | None:
    """``(posture, confidence in [0, 1])`` from MediaPipe-33 landmarks in pixels (y down), or None when the
    landmarks needed are not visible."""
    xy, vis = np.asarray(xy, np.float64), np.asarray(visibility, np.float64)
    shoulders = _mean_visible(xy, vis, SHOULDERS, min_visibility)
    hips = _mean_visible(xy, vis, HIPS, min_visibility)
    if shoulders is None or hips is None:
        return None
    torso = shoulders - hips
    length = float(np.hypot(*torso))
    if length < 1e-6:
        return None
    tilt = _angle_deg(torso, (0.0, -1.0))
    if tilt > 60:
        return "lying", min(1.0, (tilt - 60) / 30 + 0.5)
    knees = _mean_visible(xy, vis, KNEES, min_visibility)
    if knees is None:
        return None
    thigh = knees - hips
    thigh_angle = _angle_deg(thigh, (0.0, 1.0))
    thigh_len = float(np.hypot(*thigh)) / length
    ankles = _mean_visible(xy, vis, ANKLES, min_visibility)
    drop = None if ankles is None else float(ankles[1] - hips[1]) / length
    if thigh_angle < 35 and thigh_len >= 0.55 and (drop is None or drop > 1.2):
        return "standing", min(1.0, 0.5 + (35 - thigh_angle) / 70)
    if thigh_angle > 50 or thigh_len < 0.55 or (drop is not None and drop < 0.9):
        return "sitting", min(1.0, 0.5 + max(thigh_angle - 50, (0.55 - thigh_len) * 90, 0) / 80)
    return ("standing" if thigh_angle < 42.5 else "sitting"), 0.25
