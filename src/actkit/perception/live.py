"""Skeleton models on live video: the body pose model in front of a keypoint runner.

:class:`PoseRunner` is a :class:`~actkit.streaming.runners.Runner` like the pixel models' runners, so
``actkit stream``, ``actkit evaluate`` and the Python :class:`~actkit.streaming.pipeline.Stream` use a
skeleton model (``--model posture``, ``--model exercises``) exactly as a pixel model: on each frame, for each key
(the whole frame, or one tracked person and its box), BlazePose's landmarks are tracked from that key's last
ones (:meth:`~actkit.perception.people.People.update_person`), smoothed by the key's own One Euro filter as
``actkit keypoints`` reports them, and handed to the keypoint runner
(:class:`~actkit.streaming.keypoint_runner.KeypointRunner`, one causal state per key).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..streaming.keypoint_runner import KeypointRunner, is_keypoint_model, keypoint_runner
from ..streaming.runners import Runner
from .people import People, Person


class PoseRunner(Runner):
    """See the module docstring.

    Args:
        inner: the skeleton model's :class:`KeypointRunner` (or a model for :func:`keypoint_runner`).
        threads: LiteRT threads of the pose model.
        source_fps: frame rate of the frames it is given (the One Euro filter's clock); by default the model's
            own rate, at which the live pipeline steps it on faster sources (the custom classifiers' feature
            cache keeps the same clock, so what they learn on is what they see live).
    """

    kind = "stream"
    inputs = "rgb"

    def __init__(self, inner: KeypointRunner | Any, threads: int = 1, source_fps: float | None = None) -> None:
        self.inner = inner if isinstance(inner, KeypointRunner) else keypoint_runner(inner, threads)
        self.class_names, self.fps, self.threshold = self.inner.class_names, self.inner.fps, None
        self.people = People(("body",), detector=None, threads=threads)
        self.source_fps = float(source_fps or self.inner.fps or 30.0)
        self.keypoints: dict[Any, np.ndarray] = {}  # each key's last (33, 4) rows, for drawing
        self._frames: dict[Any, int] = {}

    def __call__(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]] | None, keys: Sequence[Any]) -> np.ndarray:
        from ..data.keypoint_sequences import person_rows

        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"the pose model takes RGB frames (H, W, 3), got {img.shape}")
        rows = []
        for i, key in enumerate(keys):
            person = self.people.people.setdefault(key, Person(key))
            n = self._frames[key] = self._frames.get(key, -1) + 1
            t = n / self.source_fps
            box = None if boxes is None or boxes[i] is None else np.asarray(boxes[i], np.float32)
            self.people.update_person(person, img, box, t)
            self.keypoints[key] = person_rows(self.people.keypoints(person, t))
            rows.append(self.keypoints[key])
        return self.inner(np.stack(rows), None, keys)

    def forget(self, keys):
        for k in keys:
            self.people.people.pop(k, None)
            self.keypoints.pop(k, None)
            self._frames.pop(k, None)
        self.inner.forget(keys)


def live_model(model: Any, threads: int = 0) -> Any:
    """``model`` as the live pipeline takes it: a skeleton model (shipped name, file of task skeleton, or a custom
    classifier's folder) behind the pose model (:class:`PoseRunner`); anything else unchanged."""
    if not isinstance(model, (str, Path)) or not is_keypoint_model(model):
        return model
    return PoseRunner(model, threads or 1)
