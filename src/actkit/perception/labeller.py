"""A skeleton model on each person of a live keypoint stream, keyed by person id: the keypoint runner
(:class:`~actkit.streaming.keypoint_runner.KeypointRunner`, one window or causal state per person) fed with
``Results.keypoints`` dicts. Used by ``actkit keypoints --model posture``."""
from __future__ import annotations

from typing import Any

import numpy as np


class SkeletonLabeller:
    """Per-person state and one batched model call per frame.

    Args:
        model: a skeleton model: a shipped name (``posture``), a ``.pt`` checkpoint or an ``.onnx`` file.
    """

    def __init__(self, model: str) -> None:
        from ..streaming.keypoint_runner import keypoint_runner

        self.runner = keypoint_runner(model)
        self.names = list(self.runner.class_names)

    def __call__(self, people: dict[Any, dict[str, Any] | None]) -> dict[Any, np.ndarray]:
        """``{person id: keypoints or None}`` of this frame -> ``{person id: probabilities}`` for those with a body
        on this frame. People not in ``people`` are forgotten."""
        from ..data.keypoint_sequences import person_rows

        self.runner.forget([k for k in self.runner.keys if k not in people])
        if not people:
            return {}
        ids = list(people)
        rows = np.stack([person_rows(kp) for kp in people.values()])
        probs = self.runner(rows, None, ids)
        return {pid: p for pid, p, row in zip(ids, probs, rows) if np.isfinite(row).all()}
