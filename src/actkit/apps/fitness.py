"""``actkit app fitness``: the exercise, its repetitions and the calories, live, for one person.

Each frame's body keypoints feed three things:

* **the movement counters**, which count repetitions from the body's geometry (each signal the median of its
  last 3 frames), measured in the person's usual torso length (the 90th percentile over 10 s, so a torso
  leaning forward does not stretch the scale) so any camera distance works and nearly any view:
  - legs (squats, lunges): the hips' height above the ankles. Its 90th percentile over the last 10 s is the
    person standing; one repetition is a dip below 80 % of that and a rise back above 90 %.
  - arms (jumping jacks, arm raises): the wrists' height above the shoulders. One repetition is a rise above
    0.5 torso lengths and a fall back below -0.2.
  - any joint's angle (``angles``: ``elbow:90:150`` for push-ups, ``knee:100:160``...): one repetition is the
    angle, in the picture, below the first value and back above the second.
  A set is a run of one counter's repetitions with gaps under ``set_gap_s`` (4 s).
* **the exercise**: the shipped ``exercises`` streaming model (or ``model``) on the same keypoints, one causal
  state. A set is named by the exercise of that family the model saw most on the set's frames, or the family
  (``legs`` / ``arms``) when it saw none.
* **the calories**: the MET of what the model sees on each frame
  (:data:`~actkit.apps.calories.MET`), through :class:`~actkit.apps.calories.CalorieMeter` with the user's
  :class:`~actkit.apps.calories.Profile`.

Every frame's ``app``: ``activity``, ``met``, ``kcal``, the ``reps`` of each counter, the current set and
``events`` (a repetition, or a set that ended). :meth:`FitnessApp.summary` lists the sets: exercise, reps,
start, duration, kcal.
"""
from __future__ import annotations

from collections import Counter, deque
from typing import Any

import numpy as np

from .calories import MET, CalorieMeter, Profile

FAMILIES = {"legs": ("squat", "lunge"), "arms": ("jumping_jack", "arm_raise")}
# A set of the arms is jumping jacks when the ankles' distance apart swings by more than this (torso lengths, its
# 10th to 90th percentile over 3 s): 0.27-1.00 in jumping jacks, 0.13-0.19 in arm raises of the reps set's training
# and validation videos (true joints with noise).
FEET_APART = 0.23
# A set of the legs is lunges when the feet swing by more than this (a step out and back); below it the model
# decides. Through BlazePose, squats' feet swing 0.11-0.69 and lunges' 0.38-1.69 on the same videos rendered
# (0.14-0.28 and 0.19-1.04 on true joints): chosen there, it costs 3 squats of 17 and wins 13 lunges of 16
# that the model, through BlazePose, calls squats.
LUNGE_STEP = 0.55
# joint -> (the point before, the joint, the point after) of each side, MediaPipe-33
JOINTS = {"elbow": ((11, 13, 15), (12, 14, 16)), "knee": ((23, 25, 27), (24, 26, 28)),
          "hip": ((11, 23, 25), (12, 24, 26)), "shoulder": ((23, 11, 13), (24, 12, 14))}


def joint_angle(kp: np.ndarray, joint: str, min_visibility: float = 0.5) -> float | None:
    """The mean picture-plane angle (degrees) at ``joint`` over the sides whose three points are visible, or None."""
    angles = []
    for a, b, c in JOINTS[joint]:
        if not np.isfinite(kp[[a, b, c]]).all() or kp[[a, b, c], 3].min() < min_visibility:
            continue
        u, v = kp[a, :2] - kp[b, :2], kp[c, :2] - kp[b, :2]
        n = float(np.linalg.norm(u) * np.linalg.norm(v))
        if n > 1e-9:
            angles.append(float(np.degrees(np.arccos(np.clip(np.dot(u, v) / n, -1.0, 1.0)))))
    return float(np.mean(angles)) if angles else None


def parse_angle_counter(text: str) -> tuple[str, float, float]:
    """``elbow:90:150`` -> ("elbow", 90.0, 150.0): a repetition is the joint's angle below 90 then above 150."""
    try:
        joint, low, high = text.split(":")
        low_f, high_f = float(low), float(high)
    except ValueError:
        raise ValueError(f"angle counter {text!r}: expected JOINT:LOW:HIGH, e.g. elbow:90:150") from None
    if joint not in JOINTS or not 0 <= low_f < high_f <= 180:
        raise ValueError(f"angle counter {text!r}: joint one of {', '.join(JOINTS)}, 0 <= LOW < HIGH <= 180")
    return joint, low_f, high_f


def body_heights(kp: np.ndarray) -> dict[str, float] | None:
    """``{"legs": hips above ankles, "arms": wrists above shoulders, "feet": ankles apart, "torso": torso length}`` of
    (33, 4) keypoints (pixels, y down), in torso lengths; None when the body is not all there."""
    if not np.isfinite(kp).all():
        return None
    hips, shoulders = kp[[23, 24], :2].mean(0), kp[[11, 12], :2].mean(0)
    torso = float(np.linalg.norm(shoulders - hips))
    if torso < 1e-6:
        return None
    ankles, wrists = kp[[27, 28], 1].mean(), kp[[15, 16], 1].mean()
    feet = float(np.linalg.norm(kp[27, :2] - kp[28, :2])) / torso
    return {"legs": float(ankles - hips[1]) / torso, "arms": float(shoulders[1] - wrists) / torso, "feet": feet,
            "torso": torso}


class RepCounter:
    """Two thresholds with hysteresis on one signal, smoothed by the median of its last 3 values: a repetition is
    the signal crossing ``first`` then ``back`` (``first < back`` counts dips, as the legs; ``first > back``
    counts rises, as the arms). ``relative``: the thresholds are fractions of the signal's 90th percentile over
    the last ``window`` steps (the person at rest, robust to a stray frame)."""

    def __init__(self, first: float, back: float, relative: bool = False, window: int = 160) -> None:
        self.first, self.back, self.relative = first, back, relative
        self.recent: deque[float] = deque(maxlen=window)
        self.last3: deque[float] = deque(maxlen=3)
        self.armed, self.count = False, 0

    def update(self, x: float) -> bool:
        self.last3.append(x)
        x = float(np.median(self.last3))
        self.recent.append(x)
        scale = float(np.percentile(self.recent, 90)) if self.relative else 1.0
        first, back = self.first * scale, self.back * scale
        dips = self.first < self.back
        if not self.armed and (x < first if dips else x > first):
            self.armed = True
        elif self.armed and (x > back if dips else x < back):
            self.armed = False
            self.count += 1
            return True
        return False


class FitnessApp:
    """See the module docstring.

    Args:
        profile: the person, for the calories.
        model: the streaming skeleton model naming the activity (default: the shipped ``exercises``).
        set_gap_s: a pause this long between repetitions ends a set.
    """

    name = "fitness"
    parts = ("body",)
    model = None  # one person on the whole frame: the app runs its own model on the keypoints

    def __init__(self, profile: Profile | None = None, model: str = "exercises", set_gap_s: float = 4.0,
                 fps: float = 16.0, angles: tuple[str, ...] = (), live_s: float = 2.5) -> None:
        from ..streaming.keypoint_runner import keypoint_runner
        from ..streaming.replay import StreamClasses

        self.runner = keypoint_runner(model)
        self.classes = StreamClasses.of(self.runner.class_names, str(model))
        self.meter = CalorieMeter(profile or Profile())
        self.counters = {"legs": RepCounter(0.8, 0.9, relative=True, window=int(10 * fps)),
                         "arms": RepCounter(0.5, -0.2)}
        for text in angles:  # exercises named by a joint's angle, e.g. push-ups by the elbows: elbow:90:150
            joint, low, high = parse_angle_counter(text)
            self.counters[joint] = RepCounter(low, high)
        self.set_gap_s, self.live_s = set_gap_s, live_s
        self.sets: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.t, self.frames, self.due = 0.0, 0, 0.0
        self.torsos: deque[float] = deque(maxlen=int(10 * fps))
        self.feet: deque[float] = deque(maxlen=int(3 * fps))  # the ankles' distance apart, last 3 s
        self.smooth: np.ndarray | None = None

    def update(self, r: Any, dt: float) -> Any:
        """One frame's :class:`~actkit.results.Results` (``keypoints`` of the person) lasting ``dt`` seconds: fills
        ``r.app`` and returns ``r``."""
        from ..data.keypoint_sequences import person_rows

        r.app = self.step(person_rows(r.keypoints), dt)
        return r

    def step(self, rows: np.ndarray, dt: float) -> dict[str, Any]:
        """One frame's body keypoints (33, 4) lasting ``dt`` seconds -> the frame's app fields. The model steps at its
        own frame rate (its last output held on the frames in between), as ``actkit stream`` runs it."""
        self.frames += 1
        self.t += dt
        if self.smooth is None or self.t + 1e-9 >= self.due:
            p = self.runner(rows, None, [0])[0] @ self.classes.to_label
            self.smooth = p if self.smooth is None else 0.3 * p + 0.7 * self.smooth
            self.due = self.t + (1.0 / self.runner.fps if self.runner.fps else 0.0)
        seen = self.classes.labels[int(np.argmax(self.smooth))]
        activity = self._exercise(seen)
        kcal = self.meter.update(MET.get(activity, 1.3), dt)
        heights = body_heights(rows)
        if heights is not None:  # a torso leaning forward looks shorter: measure in the person's usual torso
            self.torsos.append(heights["torso"])
            ref = float(np.percentile(self.torsos, 90))
            self.feet.append(heights.pop("feet") * heights["torso"] / ref)
            heights = {k: v * heights["torso"] / ref for k, v in heights.items() if k != "torso"}
            for joint in set(self.counters) & set(JOINTS):
                heights[joint] = joint_angle(rows, joint)
        events = self._reps(heights, seen, kcal)
        return {"activity": activity, "model": seen, "met": round(self.meter.shown, 2), "kcal": round(kcal, 3),
                "reps": {f: c.count for f, c in self.counters.items()},
                "set": None if self.current is None else {k: self.current[k] for k in ("family", "reps", "start")},
                "events": events}

    def _exercise(self, seen: str) -> str:
        """The frame's activity: while a set is going (its last repetition under ``live_s`` ago), the exercise of the
        set's family told by the body (arms: the feet moving apart and together is a jumping jack, still feet an
        arm raise; legs: feet that step far apart and back are lunges) or else the one the model has favoured since
        the set began; outside a set, what the model sees."""
        s = self.current
        if s is None or self.t - s["last"] > self.live_s or s["family"] not in FAMILIES:
            return seen
        labels = self.classes.labels
        swing = float(np.subtract(*np.percentile(self.feet, [90, 10]))) if len(self.feet) >= 3 else None
        if s["family"] == "arms" and swing is not None:
            name = "jumping_jack" if swing > FEET_APART else "arm_raise"
        elif s["family"] == "legs" and swing is not None and swing > LUNGE_STEP:
            name = "lunge"
        else:
            s["evidence"] += self.smooth
            idx = [labels.index(n) for n in FAMILIES[s["family"]] if n in labels]
            if not idx:
                return seen
            name = labels[max(idx, key=lambda i: s["evidence"][i])]
        s["named"][name] += 1
        return name

    def _reps(self, heights: dict[str, float] | None, activity: str, kcal: float) -> list[dict[str, Any]]:
        events = []
        if self.current is not None:
            self.current["seen"][activity] += 1
            if self.t - self.current["last"] > self.set_gap_s:
                events.append(self._close(kcal))
        if heights is None:
            return events
        for family, counter in self.counters.items():
            if heights.get(family) is None or not counter.update(heights[family]):
                continue
            if self.current is not None and self.current["family"] != family:
                events.append(self._close(kcal))
            if self.current is None:
                self.current = {"family": family, "reps": 0, "start": round(self.t, 3), "kcal0": kcal,
                                "seen": Counter(), "named": Counter(), "evidence": np.zeros(len(self.classes.labels))}
            self.current["reps"] += 1
            self.current["last"] = self.t
            events.append({"event": "rep", "family": family, "t": round(self.t, 3)})
        return events

    def _close(self, kcal: float) -> dict[str, Any]:
        s, self.current = self.current, None
        named = list(s["named"].items()) or [(n, s["seen"][n]) for n in FAMILIES.get(s["family"], ()) if s["seen"][n]]
        done = {"exercise": max(named, key=lambda x: x[1])[0] if named else s["family"], "family": s["family"],
                "reps": s["reps"], "start": s["start"], "duration_s": round(s["last"] - s["start"], 3),
                "kcal": round(kcal - s["kcal0"], 3)}
        self.sets.append(done)
        return {"event": "set", **done}

    def summary(self) -> dict[str, Any]:
        if self.current is not None:
            self._close(self.meter.kcal)
        return {"app": self.name, "frames": self.frames, "seconds": round(self.t, 2), "kcal": round(self.meter.kcal, 3),
                "reps": sum(s["reps"] for s in self.sets), "sets": self.sets}


def evaluate_reps(root: str, split: str = "test", model: str = "exercises") -> dict[str, Any]:
    """The app on every video of a keypoint reps set (``actkit synth skeletons --set reps``, or rendered videos
    through ``actkit keypoints --dataset``): per video the repetitions it counted against the true count, the share
    of the set's frames on which the app named the exercise, and the name of its largest set."""
    from ..data.keypoint_sequences import load_sequences
    from ..streaming.evaluate import read_stream_set

    _, videos = read_stream_set(root, split, keypoints=True)
    rows = []
    for v in videos:
        kp = load_sequences(v.keypoints)[0]["keypoints"][:, 0]
        app = FitnessApp(model=model, fps=v.fps)
        start, end, exercise, count = v.rep_spans[0]
        named = sum(app.step(f, 1.0 / v.fps)["activity"] == exercise and start <= t <= end for t, f in enumerate(kp))
        s = app.summary()
        main_set = max(s["sets"], key=lambda x: x["reps"], default={"exercise": None})
        rows.append({"video": v.name, "exercise": exercise, "true": count, "counted": s["reps"],
                     "set_named": main_set["exercise"],
                     "named_share": round(named / max(1, end - start + 1), 3), "kcal": s["kcal"]})
    err = [abs(r["counted"] - r["true"]) for r in rows]
    return {"data": str(root), "split": split, "videos": len(rows), "rep_mae": round(float(np.mean(err)), 3),
            "exact": round(float(np.mean([e == 0 for e in err])), 3),
            "exercise_named_share": round(float(np.mean([r["named_share"] for r in rows])), 3),
            "sets_named": round(float(np.mean([r["set_named"] == r["exercise"] for r in rows])), 3), "per_video": rows}
