"""A skeleton model on each person of a live keypoint stream: the last frames of every tracked person's body
keypoints (a window of the model's length; a new person's first frames repeat their first pose), classified
together in one batch per frame. Used by ``actkit keypoints --model posture``."""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np


class SkeletonLabeller:
    """Per-person windows and one batched model call per frame.

    Args:
        model: a skeleton model: a shipped name (``posture``), a ``.pt`` checkpoint or an ``.onnx`` file.
    """

    def __init__(self, model: str) -> None:
        from ..engine.predictor import load

        self.predictor = load(model)
        if self.predictor.task != "skeleton":
            raise ValueError(f"{model}: not a skeleton model (its task is {self.predictor.task}); keypoints feed "
                             "skeleton models only")
        self.window = self.predictor.data_cfg.num_frames
        self.names = list(self.predictor.class_names)
        self.windows: dict[Any, deque] = {}

    def __call__(self, people: dict[Any, dict[str, Any] | None]) -> dict[Any, np.ndarray]:
        """``{person id: keypoints or None}`` of this frame -> ``{person id: probabilities}`` for those with a body
        on this frame. People not in ``people`` are forgotten."""
        from ..data.keypoint_sequences import person_rows
        from ..data.skeleton_inputs import skeleton_input

        for gone in set(self.windows) - set(people):
            del self.windows[gone]
        ids, batch = [], []
        for pid, kp in people.items():
            row = person_rows(kp)
            win = self.windows.get(pid)
            if win is None:
                if not np.isfinite(row[0, 0]):
                    continue
                win = self.windows[pid] = deque([row] * (self.window - 1), maxlen=self.window)
            win.append(row)
            if np.isfinite(row[0, 0]):
                ids.append(pid)
                batch.append(skeleton_input(np.stack(win)))
        if not batch:
            return {}
        return dict(zip(ids, self.predictor.infer(np.stack(batch))))
