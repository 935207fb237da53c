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

**A second opinion from the eye's pixels** (OCEC's way): where an eye's landmarks are uncertain, a crop
classifier reads a 24x40 crop cut from the frame between the eye's corners
(:func:`~actkit.perception.face.eye_crop`; the shipped ``eyes`` model, trained on ``actkit synth eyes``) and
its probability of *open* becomes the eye's openness on that frame. Landmarks are uncertain when the face score
is below ``min_face_score``, when the eye is under ``min_eye_px`` wide, when the head is turned so that this eye
looks less than ``min_span_ratio`` as wide as the other one, or when the eye's openness falls in the band
between ``closed`` and ``reopen`` where one landmark's error decides. Crops need the frame (``update(r, dt,
rgb)``, as :func:`~actkit.apps.run.run_app` passes it); ``eyes_model=None`` turns the second opinion off, and
``crops="always"`` asks it on every frame (for cameras where landmarks are never to be trusted alone).

Frames without a face leave every state alone and count in no window. Every frame's
:class:`~actkit.results.Results` gets ``app``: ``openness`` (per eye), ``ear``, ``mar``, ``perclos``,
``calibrated``, ``events`` (what ended or fired on this frame), running ``counts`` and ``opinion`` (per eye,
``landmarks`` or the crop's ``p_open``).
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

    needs_frame = True

    def __init__(self, calibrate_s: float = 2.0, closed: float = 0.5, reopen: float = 0.65, microsleep_s: float = 1.0,
                 perclos_s: float = 60.0, yawn_mar: float = 0.5, yawn_s: float = 1.0, eyes_model: str | None = "eyes",
                 min_face_score: float = 0.9, min_eye_px: float = 12.0, min_span_ratio: float = 0.7,
                 crops: str = "uncertain") -> None:
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
        self.frames = self.face_frames = self.crop_looks = 0
        self.t = 0.0
        self.min_face_score, self.min_eye_px, self.min_span_ratio = min_face_score, min_eye_px, min_span_ratio
        if crops not in ("uncertain", "always"):
            raise ValueError(f"crops must be 'uncertain' or 'always', got {crops!r}")
        self.crops = crops
        self.eyes = None
        if eyes_model:
            from ..engine.predictor import load

            self.eyes = load(eyes_model, threads=1)
            if self.eyes.task != "crop" or set(self.eyes.class_names) != {"open", "closed"}:
                raise ValueError(f"eyes model {eyes_model!r}: need a crop model labelled open / closed, got "
                                 f"{self.eyes.task} {self.eyes.class_names}")

    def update(self, r: Any, dt: float, rgb: np.ndarray | None = None) -> Any:
        """Add one frame (``r.keypoints`` with ``faces``, as ``actkit keypoints --parts face`` gives) lasting ``dt``;
        ``rgb``, the frame, lets the crop model give its opinion where the landmarks are uncertain."""
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
        opinion = self._second_opinion(faces[0], xy, openness, rgb)
        events = self._eyes(openness, dt) + self._mouth(mar, dt)
        self._perclos(max(openness.values()) <= 0.2, dt)
        r.app = {"calibrated": True, "openness": {s: round(v, 3) for s, v in openness.items()},
                 "ear": {s: round(v, 3) for s, v in ear.items()}, "mar": round(mar, 3), "perclos": round(self.perclos, 4),
                 "events": events, "counts": dict(self.counts), "opinion": opinion}
        return r

    def uncertain(self, face: dict[str, Any], xy: np.ndarray, openness: dict[str, float]) -> list[str]:
        """The eyes whose landmarks this frame should not be trusted alone (see the module docstring)."""
        span = {s: float(np.linalg.norm(xy[idx[0]] - xy[idx[3]])) for s, idx in EYES.items()}
        out = []
        for s, other in (("left", "right"), ("right", "left")):
            if (float(face.get("score", 1.0)) < self.min_face_score or span[s] < self.min_eye_px
                    or span[s] < self.min_span_ratio * span[other] or self.closed <= openness[s] <= self.reopen):
                out.append(s)
        return out

    def _second_opinion(self, face: dict[str, Any], xy: np.ndarray, openness: dict[str, float],
                        rgb: np.ndarray | None) -> dict[str, Any]:
        """Replace the openness of uncertain eyes by the crop model's P(open); returns who decided each eye."""
        from ..perception.face import eye_crop

        opinion: dict[str, Any] = dict.fromkeys(openness, "landmarks")
        if self.eyes is None or rgb is None:
            return opinion
        for s in list(openness) if self.crops == "always" else self.uncertain(face, xy, openness):
            a, _, _, b, _, _ = EYES[s]
            left, right = sorted((xy[a], xy[b]), key=lambda p: p[0])  # the crop's left corner is the image's left
            try:
                r = self.eyes.predict(eye_crop(rgb, left, right), source=f"{s} eye")[0]
            except ValueError:  # corners on top of each other: nothing to read
                continue
            p_open = float(r.probs[r.names.index("open")])
            openness[s] = p_open
            opinion[s] = {"p_open": round(p_open, 3)}
            self.crop_looks += 1
        return opinion

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
                "eye_crops_read": self.crop_looks,
                "calibrated": self.open_ear is not None, **self.counts, "perclos": round(self.perclos, 4),
                "open_ear": self.open_ear}
