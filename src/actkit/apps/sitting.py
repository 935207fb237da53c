"""``actkit app sitting``: how long each person sits, stands and lies, with an alert after too long sitting.

Everyone a person detector finds is tracked; each person's body keypoints go through the shipped ``posture``
model (or another skeleton posture model) on every frame (:class:`~actkit.perception.keypoints.KeypointRun`).
A k-of-n vote per person (``vote``, the reference crop demo's rule ``3/7,3/4`` by default) decides *sitting*,
so that a single misread frame neither starts nor ends a sitting spell; when the vote is off, the person's
posture is the likelier of standing and lying. Each frame adds its duration (1 / the source's frame rate) to
the person's current posture; a frame where a tracked person's body was not found keeps their last posture for
up to ``hold_s`` seconds (a lost frame is not a break). A person sitting without a break for ``alert_minutes``
gets one alert event. :func:`evaluate_sitting` scores the seconds against per-frame truth
(``actkit synth skeletons --set sitting``).

Every frame's :class:`~actkit.results.Results` carries, per track, ``app``: ``posture``, ``seconds`` (per
posture), ``sitting_for_s`` (the current spell) and ``alert`` (True on the frame the alert fires).
:meth:`SittingApp.summary` gives every person's seconds and alerts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

POSTURES = ("standing", "sitting", "lying")


@dataclass
class PersonTime:
    """One tracked person's time per posture and their current sitting spell."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(POSTURES, 0.0))
    sitting_for: float = 0.0
    alerts: int = 0
    vote: Any = None
    last: str | None = None
    gap: float = 0.0  # seconds since the body was last found


class SittingApp:
    """See the module docstring.

    Args:
        model: a skeleton posture model whose labels are standing / sitting / lying (default: the shipped one).
        vote: k-of-n rules for sitting, e.g. ``"3/7,3/4"``.
        alert_minutes: minutes of sitting without a break before an alert.
    """

    name = "sitting"

    def __init__(self, model: str = "posture", vote: str = "3/7,3/4", alert_minutes: float = 30.0,
                 hold_s: float = 1.0) -> None:
        from ..streaming.postprocess import KofNVote

        if not alert_minutes > 0 or hold_s < 0:
            raise ValueError(f"alert_minutes must be > 0 and hold_s >= 0, got {alert_minutes} and {hold_s}")
        KofNVote(vote)  # a bad rule fails here, before any video is opened
        self.model, self.vote, self.alert_s, self.hold_s = model, vote, 60.0 * alert_minutes, hold_s
        self.people: dict[int, PersonTime] = {}
        self.frames = 0

    def update(self, r: Any, dt: float) -> Any:
        """Add one frame (:class:`~actkit.results.Results` with ``tracks`` labelled by the posture model) that
        lasted ``dt`` seconds; fills each track's ``app`` fields and returns ``r``."""
        from ..streaming.postprocess import KofNVote

        self.frames += 1
        for t in r.tracks or []:
            if t.track_id is None:
                continue
            person = self.people.get(int(t.track_id))
            if t.keypoints is None or set(t.names) != set(POSTURES):  # tracked, but no body on this frame
                if person is None or person.last is None or person.gap + dt > self.hold_s + 1e-9:
                    continue
                person.gap += dt
                posture = person.last
            else:
                person = person or self.people.setdefault(int(t.track_id), PersonTime(vote=KofNVote(self.vote)))
                person.gap = 0.0
                probs = dict(zip(t.names, (float(p) for p in t.probs)))
                sitting = person.vote.update(t.label == "sitting")
                posture = "sitting" if sitting else max(("standing", "lying"), key=probs.__getitem__)
            t.app = self._add(person, posture, dt)
        return r

    def _add(self, person: PersonTime, posture: str, dt: float) -> dict[str, Any]:
        """``dt`` seconds of ``posture`` for ``person``; the track's app fields."""
        person.last = posture
        person.seconds[posture] += dt
        was = person.sitting_for
        person.sitting_for = was + dt if posture == "sitting" else 0.0
        alert = was < self.alert_s <= person.sitting_for
        person.alerts += int(alert)
        return {"posture": posture, "seconds": {k: round(v, 2) for k, v in person.seconds.items()},
                "sitting_for_s": round(person.sitting_for, 2), "alert": alert}

    def summary(self) -> dict[str, Any]:
        return {"app": self.name, "frames": self.frames, "people": len(self.people),
                "seconds": {k: round(sum(p.seconds[k] for p in self.people.values()), 2) for k in POSTURES},
                "alerts": sum(p.alerts for p in self.people.values()),
                "per_person": {tid: {**{k: round(v, 2) for k, v in p.seconds.items()}, "alerts": p.alerts}
                               for tid, p in sorted(self.people.items())}}


def evaluate_sitting(root: str | Path, split: str = "test", model: str = "posture", vote: str = "3/7,3/4") -> dict[str, Any]:
    """The app on every stream of a posture stream set (``actkit synth skeletons --set sitting``): per person the
    seconds sitting, standing and lying it counted against the per-frame truth, the relative error of the sitting
    seconds, and the share of frames whose posture (after the vote) matches the truth. People are given by their
    true identity (the set has keypoints per person): this scores the posture model, the vote and the time keeping,
    not a tracker."""
    from ..data.keypoint_sequences import load_sequences
    from ..perception.labeller import SkeletonLabeller
    from ..results import Results

    root = Path(root)
    records = [json.loads(p.read_text()) for p in sorted((root / "labels").glob("*.json"))]
    records = [r for r in records if split == "all" or r["split"] == split]
    if not records:
        raise FileNotFoundError(f"{root}: no {split} streams in labels/*.json (make a set with `actkit synth "
                                "skeletons --set sitting --out DIR`)")
    rows = []
    for rec in records:
        kp = load_sequences(root / "keypoints" / f"{rec['name']}.parquet")[0]["keypoints"]
        app, labeller, dt = SittingApp(model=model, vote=vote), SkeletonLabeller(model), 1.0 / rec["fps"]
        ids = [p["track_id"] for p in rec["people"]]
        hits = dict.fromkeys(ids, 0)
        for f in range(len(kp)):
            people = {tid: _keypoints(kp[f, k]) for k, tid in enumerate(ids)}
            labels = labeller(people)
            tracks = [Results(labels[t], labeller.names, track_id=t, keypoints=people[t]) if t in labels else
                      Results(np.array([0.5, 0.5], np.float32), ["none", "person"], track_id=t) for t in ids]
            app.update(Results(np.array([0.0, 1.0], np.float32), ["none", "person"], tracks=tracks), dt)
            for k, t in enumerate(tracks):
                hits[ids[k]] += t.app is not None and t.app["posture"] == rec["people"][k]["postures"][f]
        for k, person in enumerate(rec["people"]):
            truth = {p: person["postures"].count(p) * dt for p in POSTURES}
            got = app.people[person["track_id"]].seconds if person["track_id"] in app.people else dict.fromkeys(POSTURES, 0.0)
            rows.append({"stream": rec["name"], "track_id": person["track_id"],
                         "true_s": {p: round(v, 2) for p, v in truth.items()},
                         "counted_s": {p: round(v, 2) for p, v in got.items()},
                         "sitting_error": round(abs(got["sitting"] - truth["sitting"]) / truth["sitting"], 4),
                         "frames_right": round(hits[person["track_id"]] / len(kp), 4)})
    errors = np.array([r["sitting_error"] for r in rows])
    return {"data": str(root), "split": split, "model": str(model), "vote": vote, "streams": len(records),
            "people": len(rows), "sitting_error_mean": round(float(errors.mean()), 4),
            "sitting_error_max": round(float(errors.max()), 4),
            "within_5_percent": round(float((errors <= 0.05).mean()), 3),
            "frames_right": round(float(np.mean([r["frames_right"] for r in rows])), 4), "per_person": rows}


def _keypoints(rows: np.ndarray) -> dict[str, Any] | None:
    """A person's ``Results.keypoints`` from (33, 4) rows (None on a frame where nobody was found)."""
    if not np.isfinite(rows).all():
        return None
    return {"layout": "mediapipe33", "xy": rows[:, :2], "z": rows[:, 2], "visibility": rows[:, 3]}
