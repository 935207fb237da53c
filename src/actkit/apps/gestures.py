"""``actkit app gestures``: static hand gestures and hand movements from the 21 hand landmarks.

**Static gestures** from finger geometry, in units of the hand's size (wrist to middle-finger knuckle) so any
distance works, and from distances to the wrist so the hand's turn in the picture does not matter (except for
thumbs up and down, which are about the picture's vertical):

* a finger (index to pinky) is *extended* when its tip lies farther from the wrist than its middle joint by
  ``extend`` hand sizes, *curled* when nearer than the middle joint;
* the thumb is extended when its tip is farther than ``thumb_out`` hand sizes from the palm's centre (the wrist
  and the four knuckles);
* ``open_palm`` (all five out), ``fist`` (none), ``thumbs_up`` / ``thumbs_down`` (only the thumb, pointing up
  or down in the picture), ``pointing`` (only the index), ``victory`` (index and middle), ``call`` (thumb and
  pinky), ``ok`` (thumb and index tips touching, the other three out); anything else is ``none``.

A static gesture is reported once it has held for ``hold`` frames, once per showing.

**Movements** from the wrist's path over the last ``window_s`` seconds, in hand sizes: a *swipe* (``left``,
``right``, ``up``, ``down``: the picture's directions) is a travel of at least ``swipe`` hand sizes mostly
along one axis; a *wave* is at least 3 turns of the wrist's sideways motion (each a reversal of 0.3 hand sizes)
within 1.5 s, once per bout of waving; *push* / *pull*
is the hand growing / shrinking by a factor ``push`` (coming towards / going away from the camera). After a
movement the hand's movements rest for ``cooldown_s``, so one movement gives one event. Each hand (the
person's ``left`` and ``right``, from the hand model's handedness) has its own state.

**Your own gestures**: with ``custom`` (a classifier of ``actkit custom train --extractor hands``, e.g. made in
the studio) the same hand landmarks also feed it, stepped at its own frame rate; its label is reported per
frame and a gesture other than ``background`` that leads with p > ``threshold`` for ``hold`` steps is an event,
once per showing.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..streaming.keypoint_runner import softmax

FINGERS = {"index": (5, 6, 8), "middle": (9, 10, 12), "ring": (13, 14, 16), "pinky": (17, 18, 20)}  # knuckle, middle joint, tip
STATIC = ("open_palm", "fist", "thumbs_up", "thumbs_down", "pointing", "victory", "ok", "call")
MOVES = ("swipe_left", "swipe_right", "swipe_up", "swipe_down", "wave", "push", "pull")


def hand_size(xy: np.ndarray) -> float:
    return float(np.linalg.norm(xy[9] - xy[0]))


def static_gesture(xy: np.ndarray, extend: float = 0.15, thumb_out: float = 0.7, touch: float = 0.35) -> str:
    """The static gesture of one hand's (21, 2) landmarks (pixels, y down), or ``none``."""
    xy = np.asarray(xy, np.float64)
    size = hand_size(xy)
    if size < 1e-6:
        return "none"
    wrist = xy[0]
    out, curled = {}, {}
    for name, (_, pip, tip) in FINGERS.items():
        reach = (np.linalg.norm(xy[tip] - wrist) - np.linalg.norm(xy[pip] - wrist)) / size
        out[name], curled[name] = reach > extend, reach < 0
    palm = xy[[0, 5, 9, 13, 17]].mean(0)
    thumb = np.linalg.norm(xy[4] - palm) / size > thumb_out
    fingers = [n for n in FINGERS if out[n]]
    folded = all(curled[n] for n in FINGERS if n not in fingers)
    if np.linalg.norm(xy[4] - xy[8]) / size < touch and all(out[n] for n in ("middle", "ring", "pinky")):
        return "ok"
    if not folded:
        return "none"
    if len(fingers) == 4 and thumb:
        return "open_palm"
    if not fingers:
        if not thumb:
            return "fist"
        rise = (xy[2, 1] - xy[4, 1]) / size  # thumb tip above its knuckle in the picture: up
        return "thumbs_up" if rise > 0.5 else "thumbs_down" if rise < -0.5 else "none"
    if fingers == ["index"]:
        return "pointing"
    if fingers == ["index", "middle"] and not thumb:
        return "victory"
    if fingers == ["pinky"] and thumb:
        return "call"
    return "none"


class WaveDetector:
    """Turns of the wrist's sideways motion, each a reversal of at least ``swing`` hand sizes from the last extreme;
    a wave is ``turns`` of them within ``within_s``, reported once per bout (a bout ends ``quiet_s`` after its
    last turn)."""

    def __init__(self, swing: float = 0.3, turns: int = 3, within_s: float = 1.5, quiet_s: float = 0.6) -> None:
        self.swing, self.need, self.within_s, self.quiet_s = swing, turns, within_s, quiet_s
        self.ext: float | None = None
        self.dir = 0
        self.turns: deque[float] = deque()
        self.fired = False

    def update(self, x: float, t: float) -> bool:
        if self.turns and t - self.turns[-1] > self.quiet_s:
            self.turns.clear()
            self.fired = False
        if self.ext is None:
            self.ext = x
        elif self.dir == 0:
            if abs(x - self.ext) >= self.swing:
                self.dir, self.ext = (1 if x > self.ext else -1), x
        elif (x - self.ext) * self.dir > 0:
            self.ext = x
        elif abs(x - self.ext) >= self.swing:
            self.dir, self.ext = -self.dir, x
            self.turns.append(t)
        while self.turns and t - self.turns[0] > self.within_s:
            self.turns.popleft()
        if not self.fired and len(self.turns) >= self.need:
            self.fired = True
            return True
        return False


class HandState:
    """One hand's recent path and gestures."""

    def __init__(self, window: int) -> None:
        self.path: deque[tuple[float, np.ndarray, float]] = deque(maxlen=window)  # (t, wrist, size)
        self.last_static, self.held, self.shown = "none", 0, None
        self.rest_until = 0.0
        self.wave = WaveDetector()


class CustomGestures:
    """A custom hand classifier on the app's hands (see the module docstring)."""

    def __init__(self, model: Any, hold: int = 4, threshold: float = 0.5) -> None:
        from ..perception.live import hand_rows, hand_stepper

        self.hand_rows = hand_rows
        self.names, self.fps, make = hand_stepper(model)
        self.step, self.hold, self.threshold = make(), hold, threshold
        self.p = np.full(len(self.names), 1 / len(self.names), np.float32)
        self.t, self.due, self.run, self.last, self.shown = 0.0, 0.0, 0, None, None

    def update(self, hands: list[dict[str, Any]], dt: float) -> tuple[str, float, str | None]:
        """(label, probability, the gesture that just became an event or None)."""
        self.t += dt
        if self.t + 1e-9 < self.due:
            return self.names[int(self.p.argmax())], float(self.p.max()), None
        self.due += 1.0 / self.fps
        found = [(h.get("handedness"), h.get("score", 1.0), h["xy"]) for h in hands]
        self.p = softmax(self.step(self.hand_rows(found)))
        k = int(self.p.argmax())
        label, event = self.names[k], None
        strong = label != "background" and self.p[k] > self.threshold
        self.run = self.run + 1 if strong and label == self.last else int(strong)
        self.last = label if strong else None
        if self.run >= self.hold and label != self.shown:
            self.shown, event = label, label
        if not strong:
            self.shown = None
        return label, float(self.p[k]), event


class GesturesApp:
    """See the module docstring."""

    name = "gestures"
    parts = ("hands",)
    model = None

    def __init__(self, hold: int = 4, window_s: float = 0.6, swipe: float = 1.5, push: float = 1.35,
                 cooldown_s: float = 0.7, fps: float = 30.0, custom: Any = None) -> None:
        if hold < 1 or window_s <= 0 or swipe <= 0 or push <= 1 or cooldown_s < 0:
            raise ValueError("need hold >= 1, window_s > 0, swipe > 0, push > 1 and cooldown_s >= 0")
        self.custom = CustomGestures(custom, hold) if custom is not None else None
        self.custom_counts = dict.fromkeys(self.custom.names if self.custom else (), 0)
        self.hold, self.window_s, self.swipe, self.push, self.cooldown_s = hold, window_s, swipe, push, cooldown_s
        self.hands = {"left": HandState(int(2 * fps)), "right": HandState(int(2 * fps))}
        self.counts = dict.fromkeys(STATIC + MOVES, 0)
        self.t, self.frames = 0.0, 0

    def update(self, r: Any, dt: float) -> Any:
        """One frame (``r.keypoints["hands"]``: ``xy`` (21, 2) and ``handedness``) lasting ``dt`` seconds."""
        self.frames += 1
        self.t += dt
        events, now = [], {}
        for hand in (r.keypoints or {}).get("hands") or []:
            side = hand.get("handedness")
            if side not in self.hands or side in now:
                continue
            xy = np.asarray(hand["xy"], np.float64)[:, :2]
            now[side] = static_gesture(xy)
            events += self._hand(side, xy, now[side])
        r.app = {"hands": now, "events": events, "counts": dict(self.counts)}
        if self.custom is not None:
            label, p, event = self.custom.update((r.keypoints or {}).get("hands") or [], dt)
            r.app["custom"] = {"label": label, "confidence": round(p, 4)}
            if event is not None:
                self.custom_counts[event] += 1
                events.append({"event": event, "source": "custom", "t": round(self.t, 3)})
            r.app["custom_counts"] = dict(self.custom_counts)
        return r

    def _hand(self, side: str, xy: np.ndarray, gesture: str) -> list[dict[str, Any]]:
        st, events = self.hands[side], []
        st.held = st.held + 1 if gesture == st.last_static else 1
        st.last_static = gesture
        if gesture != st.shown and st.held >= self.hold:
            st.shown = gesture
            if gesture != "none":
                self.counts[gesture] += 1
                events.append({"event": gesture, "hand": side, "t": round(self.t, 3)})
        st.path.append((self.t, xy[0].copy(), hand_size(xy)))
        size = float(np.median([sz for _, _, sz in st.path]))
        waved = st.wave.update(float(xy[0, 0]) / max(size, 1e-6), self.t)
        move = "wave" if waved else self._movement(st)
        if move is not None:
            self.counts[move] += 1
            st.rest_until = self.t + self.cooldown_s
            st.path.clear()
            events.append({"event": move, "hand": side, "t": round(self.t, 3)})
        return events

    def _movement(self, st: HandState) -> str | None:
        if self.t < st.rest_until or len(st.path) < 3:
            return None
        recent = [(t, p, s) for t, p, s in st.path if t >= self.t - self.window_s]
        size = float(np.median([s for _, _, s in recent]))
        d = (recent[-1][1] - recent[0][1]) / max(size, 1e-6)
        if np.hypot(*d) >= self.swipe and max(abs(d[0]), abs(d[1])) >= 2 * min(abs(d[0]), abs(d[1])):
            return ("swipe_right" if d[0] > 0 else "swipe_left") if abs(d[0]) > abs(d[1]) else \
                ("swipe_down" if d[1] > 0 else "swipe_up")
        grow = recent[-1][2] / max(recent[0][2], 1e-6)
        if grow >= self.push or grow <= 1 / self.push:
            return "push" if grow > 1 else "pull"
        return None

    def summary(self) -> dict[str, Any]:
        return {"app": self.name, "frames": self.frames, "seconds": round(self.t, 2),
                "gestures": {k: v for k, v in self.counts.items() if k in STATIC},
                "movements": {k: v for k, v in self.counts.items() if k in MOVES},
                **({"custom": {k: v for k, v in self.custom_counts.items() if k != "background"}}
                   if self.custom is not None else {})}
