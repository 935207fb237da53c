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

from ..streaming.keypoint_runner import (KeypointRunner, is_keypoint_model, keypoint_runner, onnx_stepper, softmax,
                                         torch_stepper)
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

    @property
    def keys(self) -> list[Any]:
        """The keys with state."""
        return list(self._frames)

    def forget(self, keys):
        for k in keys:
            self.people.people.pop(k, None)
            self.keypoints.pop(k, None)
            self._frames.pop(k, None)
        self.inner.forget(keys)


def live_model(model: Any, threads: int = 0) -> Any:
    """``model`` as the live pipeline takes it: a skeleton model (shipped name, file of task skeleton, or a custom
    classifier's folder) behind the pose model (:class:`PoseRunner`), a hand model behind the hand landmarker
    (:class:`HandRunner`); anything else unchanged."""
    if not isinstance(model, (str, Path)):
        return model
    if is_hand_model(model):
        return HandRunner(model, threads or 1)
    return PoseRunner(model, threads or 1) if is_keypoint_model(model) else model


# ---------------------------------------------------------------------------- hand models

def hand_rows(hands: Sequence[tuple[str, float, Any]]) -> np.ndarray:
    """(3, 42) input of a hand model from ``(handedness, score, xy (21, 2+))`` per hand found: x, y (pixels) and
    presence of the person's left hand (points 0-20) and right hand (21-41), the likelier one of each side;
    zeros where a hand is absent."""
    out = np.zeros((3, 42), np.float32)
    for side, off in (("left", 0), ("right", 21)):
        found = [h for h in hands if h[0] == side]
        if found:
            _, _, xy = max(found, key=lambda h: h[1])
            out[:2, off:off + 21] = np.asarray(xy, np.float32)[:, :2].T
            out[2, off:off + 21] = 1.0
    return out


def landmark_rows(hands: Sequence[Any]) -> np.ndarray:
    """:func:`hand_rows` of the hand landmarker's :class:`~actkit.perception.hands.HandLandmarks`."""
    return hand_rows([(h.handedness, h.score, h.xy) for h in hands])


def is_hand_model(model: Any) -> bool:
    """Whether ``model`` (a file, a custom classifier's folder or a module) takes hand landmarks (task ``hands``)."""
    if not isinstance(model, (str, Path)):
        return bool(getattr(model, "frame_shape", None)) and tuple(model.frame_shape()) == (3, 42)
    from ..models.pretrained import model_file

    try:
        path = model_file(model)
        if path.suffix == ".onnx":
            from ..utils.ort import read_metadata

            meta = read_metadata(path)
            return meta.get("task") == "hands" or list(meta.get("stream", {}).get("frame_shape", []))[1:] == [3, 42]
        if path.suffix == ".pt":
            from ..engine.checkpoint import read_checkpoint

            return read_checkpoint(path).get("task") == "hands"
    except (FileNotFoundError, ValueError, OSError):
        return False
    return False


def hand_stepper(model: Any, threads: int = 1) -> tuple[list[str], float, Any]:
    """(labels, fps, make) of a hand model: ``make()`` gives one stream's step function ``(3, 42) -> logits``."""
    if isinstance(model, (str, Path)):
        from ..models.pretrained import model_file

        path = model_file(model)
        if path.suffix == ".onnx":
            from ..utils.ort import read_metadata

            meta = read_metadata(path)
            return list(meta["class_names"]), float(meta["data_cfg"].get("fps") or 15.0), onnx_stepper(path, threads)[0]
        from ..engine.checkpoint import model_from_checkpoint

        model, ckpt = model_from_checkpoint(path)
        model.class_names = ckpt.get("class_names")
    make = torch_stepper(model)
    names = list(getattr(model, "class_names", None) or [f"class_{i}" for i in range(model.cfg.num_classes)])
    return names, float(model.data_cfg.fps or 15.0), make


class HandRunner(Runner):
    """A hand model behind MediaPipe's hand landmarker: each key (the whole frame, or a tracked person's box)
    has its own hand tracking and model state; with no hand for ``MISSING_FRAMES`` frames (or before the first
    one) its answer is uniform."""

    kind = "stream"
    inputs = "rgb"

    def __init__(self, model: Any, threads: int = 1) -> None:
        from ..streaming.keypoint_runner import MISSING_FRAMES
        from .hands import Hands

        self.class_names, self.fps, self._make = hand_stepper(model, threads)
        self.threshold, self.missing = None, MISSING_FRAMES
        self.hands = Hands(max_hands=2, threads=threads)
        self._keys: dict[Any, dict[str, Any]] = {}

    def __call__(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]] | None, keys: Sequence[Any]) -> np.ndarray:
        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"the hand model takes RGB frames (H, W, 3), got {img.shape}")
        out = []
        for i, key in enumerate(keys):
            st = self._keys.setdefault(key, {"hands": [], "step": self._make(), "missing": self.missing})
            box = None if boxes is None or boxes[i] is None else np.asarray(boxes[i], np.float32)
            st["hands"] = self.hands(img, st["hands"], box)
            p = softmax(st["step"](landmark_rows(st["hands"])))
            st["missing"] = 0 if st["hands"] else st["missing"] + 1
            out.append(p if st["missing"] < self.missing else
                       np.full(len(self.class_names), 1 / len(self.class_names), np.float32))
        return np.stack(out)

    @property
    def keys(self) -> list[Any]:
        """The keys with state."""
        return list(self._keys)

    def forget(self, keys):
        for k in keys:
            self._keys.pop(k, None)
