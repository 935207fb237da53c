"""``actkit app drowsiness``: blinks, winks, PERCLOS, microsleeps and yawns from face landmarks.

Each frame's 468 face landmarks (:mod:`actkit.perception.face`, MediaPipe's Face Mesh) give each eye's aspect
ratio (Soukupova and Cech, 2016): ``EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)`` over six eye-contour
points, and the mouth's ``MAR = |upper - lower inner lip| / |left - right mouth corner|``. Eyes differ from
person to person, so the first ``calibrate_s`` seconds with a face set the person's open-eye EAR (its median) and
resting MAR; an eye's *openness* is then its EAR over the open one (1 open, 0 shut).

* An eye is **closed** below openness ``closed`` and open again above ``reopen`` (hysteresis against flicker).
* Both eyes closed, then open: a **blink** if it lasted at most ``microsleep_s``, else a **microsleep** (reported
  as it passes ``microsleep_s``, not only when the eyes reopen).
* One eye closed while the other stays open, then reopened: a **wink** (``left`` or ``right``: the person's).
* **PERCLOS**: the share of the last ``perclos_s`` seconds with the eyes at least 80 % closed (openness <= 0.2).
* A **yawn**: the mouth open beyond ``yawn_mar`` (and three times its resting MAR) for at least ``yawn_s``.

Frames without a face leave every state alone and count in no window. Every frame's
:class:`~actkit.results.Results` gets ``app``: ``openness`` (per eye), ``ear``, ``mar``, ``perclos``,
``calibrated``, ``events`` (what ended or fired on this frame) and running ``counts``.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

# Face Mesh indices: p1..p6 of each eye (outer or inner corner, two upper lid points, the other corner, two lower
# lid points), the person's own left and right; and the mouth's inner lips and corners.
EYES = {"right": (33, 160, 158, 133, 153, 144), "left": (362, 385, 387, 263, 373, 380)}
MOUTH = (13, 14, 78, 308)


def eye_aspect_ratio(xy: np.ndarray, idx: tuple[int, ...]) -> float:
    """EAR of one eye from (468, 2) landmarks."""
    p = np.asarray(xy, np.float64)[list(idx)]
    width = np.linalg.norm(p[0] - p[3])
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * width)) if width > 1e-6 else 0.0


def mouth_aspect_ratio(xy: np.ndarray) -> float:
    """Inner-lip opening over mouth width, from (468, 2) landmarks."""
    p = np.asarray(xy, np.float64)[list(MOUTH)]
    width = np.linalg.norm(p[2] - p[3])
    return float(np.linalg.norm(p[0] - p[1]) / width) if width > 1e-6 else 0.0


class DrowsinessApp:
    """See the module docstring. Times are in seconds of video (each frame adds ``dt``)."""

    name = "drowsiness"
    parts = ("face",)
    model = None

    def __init__(self, calibrate_s: float = 2.0, closed: float = 0.5, reopen: float = 0.65, microsleep_s: float = 1.0,
                 perclos_s: float = 60.0, yawn_mar: float = 0.5, yawn_s: float = 1.0) -> None:
        if not 0 < closed < reopen <= 1:
            raise ValueError(f"need 0 < closed < reopen <= 1, got closed={closed}, reopen={reopen}")
        if min(calibrate_s, microsleep_s, perclos_s, yawn_s) <= 0:
            raise ValueError("calibrate_s, microsleep_s, perclos_s and yawn_s must be > 0")
        self.calibrate_s, self.closed, self.reopen = calibrate_s, closed, reopen
        self.microsleep_s, self.perclos_s, self.yawn_mar, self.yawn_s = microsleep_s, perclos_s, yawn_mar, yawn_s
        self.seen: list[tuple[float, float, float]] = []  # calibration: (left EAR, right EAR, MAR)
        self.open_ear: dict[str, float] | None = None
        self.rest_mar = 0.0
        self.shut = {"left": False, "right": False}
        self.both_for = self.mouth_for = 0.0
        self.wink: str | None = None
        self.slept = False
        self.window: deque[tuple[float, bool]] = deque()
        self.window_s = 0.0
        self.counts = {"blinks": 0, "microsleeps": 0, "winks": 0, "yawns": 0}
        self.frames = self.face_frames = 0
        self.t = 0.0

    def update(self, r: Any, dt: float) -> Any:
        """Add one frame (``r.keypoints`` with ``faces``, as ``actkit keypoints --parts face`` gives) lasting ``dt``."""
        self.frames += 1
        self.t += dt
        faces = (r.keypoints or {}).get("faces") or []
        if not faces:
            return r
        self.face_frames += 1
        xy = np.asarray(faces[0]["xy"], np.float64)
        ear = {side: eye_aspect_ratio(xy, idx) for side, idx in EYES.items()}
        mar = mouth_aspect_ratio(xy)
        if self.open_ear is None:
            self._calibrate(ear, mar, dt)
            r.app = {"calibrated": False, "ear": ear, "mar": round(mar, 3), "events": [], "counts": dict(self.counts)}
            return r
        openness = {s: float(np.clip(ear[s] / self.open_ear[s], 0, 1.5)) for s in ear}
        events = self._eyes(openness, dt) + self._mouth(mar, dt)
        self._perclos(max(openness.values()) <= 0.2, dt)
        r.app = {"calibrated": True, "openness": {s: round(v, 3) for s, v in openness.items()},
                 "ear": {s: round(v, 3) for s, v in ear.items()}, "mar": round(mar, 3), "perclos": round(self.perclos, 4),
                 "events": events, "counts": dict(self.counts)}
        return r

    def _calibrate(self, ear: dict[str, float], mar: float, dt: float) -> None:
        self.seen.append((ear["left"], ear["right"], mar))
        if len(self.seen) * dt >= self.calibrate_s:
            a = np.asarray(self.seen)
            self.open_ear = {"left": float(np.median(a[:, 0])), "right": float(np.median(a[:, 1]))}
            self.rest_mar = float(np.median(a[:, 2]))

    def _eyes(self, openness: dict[str, float], dt: float) -> list[dict[str, Any]]:
        events = []
        for s, o in openness.items():
            self.shut[s] = o < self.closed if not self.shut[s] else o < self.reopen
        both = all(self.shut.values())
        if both:
            self.both_for += dt
            self.wink = None
            if not self.slept and self.both_for > self.microsleep_s:
                self.slept = True
                self.counts["microsleeps"] += 1
                events.append({"event": "microsleep", "t": round(self.t, 3)})
        elif self.both_for > 0:  # both eyes were shut and at least one opened
            if not self.slept:
                self.counts["blinks"] += 1
                events.append({"event": "blink", "t": round(self.t, 3), "duration_s": round(self.both_for, 3)})
            self.both_for, self.slept = 0.0, False
        one = [s for s, v in self.shut.items() if v]
        if len(one) == 1 and not both:
            self.wink = self.wink or one[0]
        elif not one and self.wink is not None:
            self.counts["winks"] += 1
            events.append({"event": "wink", "t": round(self.t, 3), "eye": self.wink})
            self.wink = None
        return events

    def _mouth(self, mar: float, dt: float) -> list[dict[str, Any]]:
        if mar > max(self.yawn_mar, 3 * self.rest_mar):
            self.mouth_for += dt
            if self.mouth_for - dt < self.yawn_s <= self.mouth_for:
                self.counts["yawns"] += 1
                return [{"event": "yawn", "t": round(self.t, 3)}]
        else:
            self.mouth_for = 0.0
        return []

    def _perclos(self, shut: bool, dt: float) -> None:
        self.window.append((dt, shut))
        self.window_s += dt
        while self.window_s > self.perclos_s and len(self.window) > 1:
            self.window_s -= self.window.popleft()[0]

    @property
    def perclos(self) -> float:
        return sum(d for d, s in self.window if s) / self.window_s if self.window_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {"app": self.name, "frames": self.frames, "frames_with_face": self.face_frames,
                "calibrated": self.open_ear is not None, **self.counts, "perclos": round(self.perclos, 4),
                "open_ear": self.open_ear}
