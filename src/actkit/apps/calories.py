"""Calories from activity: resting metabolic rate, MET values and the live estimate of the streaming engines.

* Resting metabolic rate (Mifflin-St Jeor), kcal/day: ``10 w + 6.25 h - 5 age + s`` with ``s`` = 5 (male),
  -161 (female) or -78 (other): :meth:`Profile.resting_kcal_per_day`.
* A MET assumes 3.5 ml O2 / kg / min at rest; the person's own resting rate in those units is
  ``rmr_ml = RMR * 1000 / (1440 * 5 * w)`` (5 kcal per litre of O2), and a MET value corrected to the person is
  ``MET * 3.5 / rmr_ml``: :meth:`Profile.corrected_met`.
* Live: each frame's MET (from the activity it shows, :data:`MET`) goes through an exponential average
  (``alpha`` 0.2 per step); the shown MET is the time-weighted average of that over the last ``window_s``
  seconds (15), and when that average falls, the shown value decays towards it as ``exp(-dt / 60)`` instead of
  dropping at once. Energy adds ``w * dt_hours * corrected MET`` kcal per step: :class:`CalorieMeter`.

MET values are from the Compendium of Physical Activities (Ainsworth et al., 2011, Medicine & Science in
Sports & Exercise 43(8): 1575-1581), by activity code; the activity each label stands for is in
:data:`MET_SOURCES`.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

# label -> (Compendium code, activity, MET)
MET_SOURCES: dict[str, tuple[str, str, float]] = {
    "squat": ("02022", "calisthenics (e.g. push ups, sit ups, pull-ups, lunges), moderate effort", 3.8),
    "lunge": ("02022", "calisthenics (e.g. push ups, sit ups, pull-ups, lunges), moderate effort", 3.8),
    "jumping_jack": ("02020", "calisthenics (e.g. push ups, sit ups, pull-ups, jumping jacks), vigorous effort", 8.0),
    "arm_raise": ("02030", "calisthenics, light or moderate effort, general (e.g. back exercises)", 3.5),
    "walk": ("17190", "walking, 2.8 to 3.2 mph, level, moderate pace, firm surface", 3.5),
    "run": ("12020", "jogging, general", 7.0),
    "idle": ("07040", "standing quietly, standing in a line", 1.3),
    "standing": ("07040", "standing quietly, standing in a line", 1.3),
    "sitting": ("07021", "sitting quietly, general", 1.3),
    "transition": ("07040", "standing quietly, standing in a line", 1.3),
    "dance_a": ("03015", "aerobic, general (dancing)", 7.3),
    "dance_b": ("03015", "aerobic, general (dancing)", 7.3),
    "kick": ("15430", "martial arts, different types, moderate pace", 10.3),
    "punch": ("15430", "martial arts, different types, moderate pace", 10.3),
    "spinkick": ("15430", "martial arts, different types, moderate pace", 10.3),
    "backflip": ("15300", "gymnastics, general", 3.8),
    "cartwheel": ("15300", "gymnastics, general", 3.8),
    "roll": ("15300", "gymnastics, general", 3.8),
    "spin": ("15300", "gymnastics, general", 3.8),
    "jump": ("15300", "gymnastics, general", 3.8),
    "crawl": ("02030", "calisthenics, light or moderate effort, general (going up & down from floor)", 3.5),
    "getup_facedown": ("02030", "calisthenics, light or moderate effort, general (going up & down from floor)", 3.5),
    "getup_faceup": ("02030", "calisthenics, light or moderate effort, general (going up & down from floor)", 3.5),
}
MET = {label: met for label, (_, _, met) in MET_SOURCES.items()}
SEX_TERM = {"male": 5.0, "female": -161.0, "other": -78.0}


@dataclass
class Profile:
    """The person: weight (kg), height (cm), age (years), sex (``male``, ``female`` or ``other``)."""

    weight_kg: float = 70.0
    height_cm: float = 175.0
    age: float = 35.0
    sex: str = "other"

    def __post_init__(self) -> None:
        if self.sex not in SEX_TERM:
            raise ValueError(f"sex must be one of {', '.join(SEX_TERM)}, got {self.sex!r}")
        if not (20 <= self.weight_kg <= 400 and 80 <= self.height_cm <= 260 and 5 <= self.age <= 120):
            raise ValueError(f"implausible profile: {self.weight_kg} kg, {self.height_cm} cm, {self.age} years")

    def resting_kcal_per_day(self) -> float:
        return 10 * self.weight_kg + 6.25 * self.height_cm - 5 * self.age + SEX_TERM[self.sex]

    def corrected_met(self, met: float) -> float:
        rmr_ml = self.resting_kcal_per_day() * 1000 / (1440 * 5 * self.weight_kg)
        return met * 3.5 / rmr_ml


class CalorieMeter:
    """The live estimate (see the module docstring): :meth:`update` once per step with the activity's MET."""

    def __init__(self, profile: Profile, alpha: float = 0.2, window_s: float = 15.0, decay_s: float = 60.0) -> None:
        self.profile, self.alpha, self.window_s, self.decay_s = profile, alpha, window_s, decay_s
        self.ema: float | None = None
        self.shown = 0.0
        self.kcal = 0.0
        self.recent: deque[tuple[float, float]] = deque()  # (dt, ema)
        self.recent_s = 0.0

    def update(self, met: float, dt: float) -> float:
        """Add a step of ``dt`` seconds showing an activity of ``met``; returns the kcal so far."""
        self.ema = met if self.ema is None else self.alpha * met + (1 - self.alpha) * self.ema
        self.recent.append((dt, self.ema))
        self.recent_s += dt
        while self.recent_s > self.window_s and len(self.recent) > 1:
            self.recent_s -= self.recent.popleft()[0]
        average = sum(d * m for d, m in self.recent) / self.recent_s
        self.shown = average if average >= self.shown else max(average, self.shown * math.exp(-dt / self.decay_s))
        self.kcal += self.profile.weight_kg * (dt / 3600.0) * self.profile.corrected_met(self.shown)
        return self.kcal
