"""A skeleton model as a live runner: per-frame keypoints in, class probabilities out, one state per key.

:class:`KeypointRunner` takes body keypoints (MediaPipe-33, pixels: ``(len(keys), 33, 4)``) where the
other runners take an RGB frame, so a keypoint front-end (``actkit.perception``'s pose runner) or a keypoint
set (``actkit synth skeletons --set streams|reps``) feeds it. Two kinds of model:

* **streaming** skeleton models (``skel_stream_s``: a torch module with ``init_state`` / ``step``, or its
  stateful ONNX export): one step per frame from each key's own state, the input of each frame normalised
  from the past only (:class:`~actkit.data.skeleton_inputs.CausalNormaliser`, one per key);
* **clip** skeleton classifiers (``posture``, ``actions``: a :class:`~actkit.engine.predictor.Predictor`
  of task ``skeleton``): each key's last ``num_frames`` frames (a new key's first frame with a body repeated
  until there are enough; frames without a body stay in the window, as zeros), normalised as in training
  (:func:`~actkit.data.skeleton_inputs.skeleton_input`), classified on every frame with a body.

A frame without a person for a key (NaN keypoints) still steps a streaming model (its input is zeros, as in
training, where a pose model's missed frames are zeros too) and a clip model keeps the key's last
probabilities; once nobody has been found for :data:`MISSING_FRAMES` frames in a row (or before the first
body), the key's probabilities are uniform: no confident answer about nobody.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .runners import Runner, as_data_cfg

NUM_JOINTS = 33
MISSING_FRAMES = 8  # frames without a person after which a key's answer is uniform


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities of one frame's logits (one logit: a binary model, ``[1 - p, p]``)."""
    logits = np.asarray(logits, np.float64).reshape(-1)
    if logits.size == 1:
        p = 1 / (1 + np.exp(-logits[0]))
        return np.array([1 - p, p], np.float32)
    e = np.exp(logits - logits.max())
    return (e / e.sum()).astype(np.float32)


class KeypointRunner(Runner):
    """See the module docstring.

    Args:
        class_names: the model's classes.
        fps: the frame rate the model was trained at.
        stepper: streaming models: builds one key's step function ``(4, 33) input -> logits`` (with its state).
        predictor: clip models: a task-``skeleton`` predictor (``infer((N, 4, T, 33)) -> probabilities``).
        window: clip models: frames per window.
        model: the torch streaming module, when there is one (evaluation batches a whole video through
            ``forward_frames``, :meth:`clip_input`).
    """

    kind = "stream"
    inputs = "keypoints"
    device = "cpu"

    def __init__(self, class_names: Sequence[str], fps: float, stepper: Callable[[], Callable] | None = None,
                 predictor: Any = None, window: int = 0, model: Any = None) -> None:
        if (stepper is None) == (predictor is None):
            raise ValueError("a KeypointRunner needs a streaming stepper or a clip predictor, not both")
        self.class_names, self.fps = list(class_names), float(fps or 0)
        self._stepper, self.predictor, self.window, self.model = stepper, predictor, int(window), model
        self._keys: dict[Any, dict[str, Any]] = {}

    def _key(self, key: Any) -> dict[str, Any]:
        from ..data.skeleton_inputs import CausalNormaliser

        st = self._keys.get(key)
        if st is None:
            st = self._keys[key] = {"norm": CausalNormaliser(), "step": self._stepper() if self._stepper else None,
                                    "window": None, "last": self._uniform(), "missing": MISSING_FRAMES}
        return st

    def _uniform(self) -> np.ndarray:
        return np.full(len(self.class_names), 1 / len(self.class_names), np.float32)

    def _answer(self, st: dict[str, Any], frame: np.ndarray) -> np.ndarray:
        st["missing"] = 0 if np.isfinite(frame).all() else st["missing"] + 1
        return st["last"] if st["missing"] < MISSING_FRAMES else self._uniform()

    def __call__(self, rgb, boxes, keys):
        kp = np.asarray(rgb, np.float32)
        if kp.ndim == 2:
            kp = kp[None]
        if kp.shape != (len(keys), NUM_JOINTS, 4):
            raise ValueError(f"a keypoint model takes body keypoints ({len(keys)}, {NUM_JOINTS}, 4) per frame, got "
                             f"{kp.shape}: run it behind a keypoint front-end (actkit stream does for a skeleton model)")
        if self.predictor is not None:
            return self._clip(kp, keys)
        out = []
        for frame, key in zip(kp, keys):
            st = self._key(key)
            st["last"] = softmax(st["step"](st["norm"](frame)))
            out.append(self._answer(st, frame))
        return np.stack(out)

    def _clip(self, kp: np.ndarray, keys: Sequence[Any]) -> np.ndarray:
        from ..data.skeleton_inputs import skeleton_input

        batch, ids, answers = [], [], {}
        for i, (frame, key) in enumerate(zip(kp, keys)):
            st = self._key(key)
            if not np.isfinite(frame).all():  # nobody on this frame: the window still moves on (time passes)
                if st["window"] is not None:
                    st["window"].append(frame)
                answers[i] = self._answer(st, frame)
                continue
            st["missing"] = 0
            if st["window"] is None:
                st["window"] = deque([frame] * (self.window - 1), maxlen=self.window)
            st["window"].append(frame)
            batch.append(skeleton_input(np.stack(st["window"])))
            ids.append(i)
        if batch:
            for i, p in zip(ids, self.predictor.infer(np.stack(batch))):
                self._keys[keys[i]]["last"] = np.asarray(p, np.float32)
        return np.stack([answers[i] if i in answers else self._keys[k]["last"] for i, k in enumerate(keys)])

    def forget(self, keys):
        for k in keys:
            self._keys.pop(k, None)

    @property
    def keys(self) -> list[Any]:
        """The keys with state."""
        return list(self._keys)

    def clip_input(self, frames: Sequence[np.ndarray]) -> Any:
        """A whole video's keypoints (T frames of (33, 4)) as one ``(1, 4, T, 33)`` tensor of exactly the inputs
        the per-frame path computes (for ``forward_frames``)."""
        import torch

        from ..data.skeleton_inputs import causal_input

        return torch.from_numpy(causal_input(np.stack([np.asarray(f, np.float32).reshape(NUM_JOINTS, 4)
                                                       for f in frames])))[None]


def torch_stepper(model: Any) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    """``make()`` for a torch streaming module (``init_state`` / ``step``): each call gives one stream's step
    function, a frame's input without the batch dimension -> its logits, with the stream's own state."""
    import torch

    model.eval()

    def make() -> Callable:
        state = [model.init_state(1)]

        def step(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                logits, state[0] = model.step(torch.from_numpy(x)[None], state[0])
            return logits[0].float().numpy()
        return step
    return make


def onnx_stepper(path: str | Path, threads: int = 1) -> tuple[Callable[[], Callable[[np.ndarray], np.ndarray]],
                                                              tuple[int, ...]]:
    """``make()`` for a stateful ONNX streaming export, as :func:`torch_stepper` for a torch module, and the frame
    shape the graph takes (the file is opened and checked now)."""
    from .export import OnnxStreamer

    first = [OnnxStreamer(path, threads)]
    shape = tuple(first[0].frame_shape)

    def make() -> Callable:
        s = first.pop() if first else OnnxStreamer(path, threads)
        s.reset()
        return lambda x: np.asarray(s.step(x[None]), np.float32).reshape(-1)
    return make, shape


def _torch_runner(model: Any, class_names: Sequence[str] | None) -> KeypointRunner:
    """A :class:`KeypointRunner` stepping a torch streaming skeleton module, one state per key."""
    make = torch_stepper(model)
    return KeypointRunner(class_names or [f"class_{i}" for i in range(model.num_classes)], model.data_cfg.fps, make,
                          model=model)


def keypoint_runner(model: Any, threads: int = 1) -> KeypointRunner:
    """A :class:`KeypointRunner` for a skeleton model: a shipped name (``posture``, ``actions``, ``exercises``), a
    ``.pt`` checkpoint, an ``.onnx`` file (stateful streaming export or clip classifier) or a torch streaming
    module.

    Raises:
        ValueError: the model is not a skeleton model (named).
    """
    from ..engine.predictor import load

    if not isinstance(model, (str, Path)):
        if hasattr(model, "init_state") and hasattr(model, "step") and getattr(model, "frame_shape", None):
            return _torch_runner(model, getattr(model, "class_names", None))
        raise TypeError(f"{type(model).__name__} is not a skeleton model")
    from ..models.pretrained import model_file

    path = model_file(model)
    if path.suffix == ".onnx":
        from ..utils.ort import read_metadata

        meta = read_metadata(path)
        if "stream" in meta:
            make, frame_shape = onnx_stepper(path, threads)
            if tuple(frame_shape[1:]) != (4, NUM_JOINTS):
                raise ValueError(f"{model}: a streaming model of images, not of keypoints")
            return KeypointRunner(meta["class_names"], as_data_cfg(meta["data_cfg"]).fps, make)
    if path.suffix == ".pt":
        from ..engine.checkpoint import model_from_checkpoint, read_checkpoint

        ckpt = read_checkpoint(path)
        if ckpt.get("task") == "skeleton":
            m, ckpt = model_from_checkpoint(ckpt)
            if hasattr(m, "init_state") and hasattr(m, "step"):
                return _torch_runner(m, ckpt.get("class_names"))
    predictor = load(str(path), threads)
    if predictor.task != "skeleton":
        raise ValueError(f"{model}: not a skeleton model (its task is {predictor.task}); keypoints feed skeleton models")
    return KeypointRunner(predictor.class_names, predictor.data_cfg.fps, predictor=predictor,
                          window=predictor.data_cfg.num_frames)


def is_keypoint_model(model: Any) -> bool:
    """Whether ``model`` names a skeleton model (a shipped keypoint model, or a file whose task is skeleton)."""
    from ..models.pretrained import model_file, pretrained_models

    if isinstance(model, KeypointRunner):
        return True
    if not isinstance(model, (str, Path)):
        return bool(getattr(model, "frame_shape", None)) and tuple(model.frame_shape()) == (4, NUM_JOINTS)
    cards = pretrained_models()
    if str(model) in cards and not Path(model).exists():
        return cards[str(model)]["task"] == "skeleton"
    try:
        path = model_file(model)
    except FileNotFoundError:
        return False
    try:
        if path.suffix == ".onnx":
            from ..utils.ort import read_metadata

            meta = read_metadata(path)
            return meta.get("task") == "skeleton" or list(meta.get("stream", {}).get("frame_shape", []))[1:] == [4, NUM_JOINTS]
        if path.suffix == ".pt":
            from ..engine.checkpoint import read_checkpoint

            return read_checkpoint(path).get("task") == "skeleton"
    except (ValueError, OSError):
        return False
    return False
