"""``actkit app sitting``: how long each person sits, stands and lies, with an alert after too long sitting.

Everyone a person detector finds is tracked; each person's body keypoints go through the shipped ``posture``
model (or another skeleton posture model) on every frame (:class:`~actkit.perception.keypoints.KeypointRun`).
A k-of-n vote per person (``vote``, the reference crop demo's rule ``3/7,3/4`` by default) decides *sitting*,
so that a single misread frame neither starts nor ends a sitting spell; when the vote is off, the person's
posture is the likelier of standing and lying. Each frame adds its duration (1 / the source's frame rate) to
the person's current posture. A person sitting without a break for ``alert_minutes`` gets one alert event.

Every frame's :class:`~actkit.results.Results` carries, per track, ``app``: ``posture``, ``seconds`` (per
posture), ``sitting_for_s`` (the current spell) and ``alert`` (True on the frame the alert fires).
:meth:`SittingApp.summary` gives every person's seconds and alerts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

POSTURES = ("standing", "sitting", "lying")


@dataclass
class PersonTime:
    """One tracked person's time per posture and their current sitting spell."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(POSTURES, 0.0))
    sitting_for: float = 0.0
    alerts: int = 0
    vote: Any = None


class SittingApp:
    """See the module docstring.

    Args:
        model: a skeleton posture model whose labels are standing / sitting / lying (default: the shipped one).
        vote: k-of-n rules for sitting, e.g. ``"3/7,3/4"``.
        alert_minutes: minutes of sitting without a break before an alert.
    """

    name = "sitting"

    def __init__(self, model: str = "posture", vote: str = "3/7,3/4", alert_minutes: float = 30.0) -> None:
        from ..streaming.postprocess import KofNVote

        if not alert_minutes > 0:
            raise ValueError(f"alert_minutes must be > 0, got {alert_minutes}")
        KofNVote(vote)  # a bad rule fails here, before any video is opened
        self.model, self.vote, self.alert_s = model, vote, 60.0 * alert_minutes
        self.people: dict[int, PersonTime] = {}
        self.frames = 0

    def update(self, r: Any, dt: float) -> Any:
        """Add one frame (:class:`~actkit.results.Results` with ``tracks`` labelled by the posture model) that
        lasted ``dt`` seconds; fills each track's ``app`` fields and returns ``r``."""
        from ..streaming.postprocess import KofNVote

        self.frames += 1
        for t in r.tracks or []:
            if t.keypoints is None or t.track_id is None or set(t.names) != set(POSTURES):
                continue
            person = self.people.setdefault(int(t.track_id), PersonTime(vote=KofNVote(self.vote)))
            probs = dict(zip(t.names, (float(p) for p in t.probs)))
            sitting = person.vote.update(t.label == "sitting")
            posture = "sitting" if sitting else max(("standing", "lying"), key=probs.__getitem__)
            person.seconds[posture] += dt
            was = person.sitting_for
            person.sitting_for = was + dt if posture == "sitting" else 0.0
            alert = was < self.alert_s <= person.sitting_for
            person.alerts += int(alert)
            t.app = {"posture": posture, "seconds": {k: round(v, 2) for k, v in person.seconds.items()},
                     "sitting_for_s": round(person.sitting_for, 2), "alert": alert}
        return r

    def summary(self) -> dict[str, Any]:
        return {"app": self.name, "frames": self.frames, "people": len(self.people),
                "seconds": {k: round(sum(p.seconds[k] for p in self.people.values()), 2) for k in POSTURES},
                "alerts": sum(p.alerts for p in self.people.values()),
                "per_person": {tid: {**{k: round(v, 2) for k, v in p.seconds.items()}, "alerts": p.alerts}
                               for tid, p in sorted(self.people.items())}}
