"""Runners: what the inference thread calls for per-frame class probabilities.

A runner wraps a crop classifier (:class:`CropRunner`), a torch streaming model
(:class:`StreamModelRunner`) or a stateful ONNX streaming model (:class:`OnnxStreamRunner`), with one
recurrent state per key (the whole frame, or one track). :func:`load_runner` picks one for a path,
registry name, predictor or module.

Streaming-model preprocessing (:func:`stream_input`): the frame (or a person's box, enlarged by 10 %) is
letterboxed to the model's ``data_cfg.input_size`` (resized keeping its aspect ratio and padded with
black), scaled to [0, 1], converted to the colour mode, then ``(x - mean) / std``. Crop classifiers keep
their own preprocessing (:func:`actkit.data.transforms.crop_to_input`, a plain resize of the box).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

from ..models import DataConfig

# --------------------------------------------------------------------------- runners

def as_data_cfg(cfg: Any) -> DataConfig:
    """A DataConfig from a DataConfig, a dict or any object with the same attribute names."""
    if isinstance(cfg, DataConfig):
        return cfg
    keys = ("input_size", "colour", "mean", "std", "num_frames", "fps")
    d = dict(cfg) if isinstance(cfg, dict) else {k: getattr(cfg, k) for k in keys if hasattr(cfg, k)}
    return DataConfig.from_dict({k: v for k, v in d.items() if k in keys})


def stream_input(rgb: np.ndarray, box: Sequence[float] | None, cfg: DataConfig, margin: float = 0.1,
                 lowpass: float = 0.0) -> np.ndarray:
    """Frame (or a box of it, enlarged by ``margin``) -> float32 (C, H, W) for a streaming model (see module doc).

    ``lowpass``: Gaussian blur of the resized frame, sigma in model-input pixels (0: none), as
    ``--data.blur`` blurs training windows: fine ground textures then alias less.
    """
    from ..data.transforms import crop_resize, letterbox, normalise_u8

    img = rgb
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        mx, my = (x1 - x0) * margin / 2, (y1 - y0) * margin / 2
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
        img = crop_resize(rgb, np.array([x0, y0, x1, y1]), (max(1, round(y1 - y0)), max(1, round(x1 - x0))))
    x, _, _ = letterbox(img, cfg.input_size, value=0)
    if lowpass > 0:
        import cv2

        x = cv2.GaussianBlur(x, (0, 0), float(lowpass))
    return normalise_u8(x, cfg)


class Runner:
    """What the inference thread calls: per-frame probabilities for each key (track id, or None).

    Attributes:
        class_names: label names.
        threshold: binary decision threshold (None: argmax).
        fps: the model's frame rate (0: any).
        kind: ``stream`` or ``crop``.
        lowpass: streaming runners: Gaussian blur sigma of every input frame (:func:`stream_input`).
    """

    class_names: list[str]
    threshold: float | None = None
    fps: float = 0.0
    kind: str = "crop"
    lowpass: float = 0.0

    def __call__(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]] | None, keys: Sequence[Any]) -> np.ndarray:
        """(len(keys), K) probabilities; ``boxes`` aligned with ``keys`` (None: the whole frame)."""
        raise NotImplementedError  # pragma: no cover

    def forget(self, keys: Sequence[Any]) -> None:
        """Drop per-key state (ended tracks)."""


class CropRunner(Runner):
    """An actkit crop classifier (:class:`actkit.engine.predictor.Predictor`), unchanged."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.class_names = list(predictor.class_names)
        self.threshold = predictor.threshold

    def __call__(self, rgb, boxes, keys):
        if boxes is not None:  # a track's box may reach past the frame: keep at least a pixel of it inside
            h, w = rgb.shape[:2]
            boxes = [_inside_frame(b, w, h) for b in boxes]
        return np.stack([r.probs for r in self.predictor.predict(rgb, boxes)]).astype(np.float32)


def _inside_frame(box: Sequence[float], w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, y0 = min(max(x0, 0.0), w - 1.0), min(max(y0, 0.0), h - 1.0)
    return x0, y0, min(max(x1, x0 + 1.0), float(w)), min(max(y1, y0 + 1.0), float(h))


class StreamModelRunner(Runner):
    """A torch streaming model: ``init_state`` / ``step`` (one step per frame, one state per key).

    Args:
        model: a module following the streaming contract (``data_cfg``, ``num_classes``, ``init_state``, ``step``).
        class_names: label names (default ``class_0..``).
        device: torch device.
    """

    kind = "stream"

    def __init__(self, model: Any, class_names: Sequence[str] | None = None, device: str = "cpu") -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.cfg = as_data_cfg(model.data_cfg)
        k = int(model.num_classes)
        self.class_names = list(class_names) if class_names else [f"class_{i}" for i in range(max(k, 2))]
        self.fps = float(self.cfg.fps or 0)
        self._states: dict[Any, Any] = {}

    def __call__(self, rgb, boxes, keys):
        from ..models import probabilities

        torch = self._torch
        out = []
        with torch.inference_mode():
            for i, key in enumerate(keys):
                x = torch.from_numpy(stream_input(rgb, None if boxes is None else boxes[i], self.cfg,
                                                  lowpass=self.lowpass))[None].to(self.device)
                state = self._states.get(key)
                if state is None:
                    state = self.model.init_state(batch_size=1, device=self.device)
                logits, self._states[key] = self.model.step(x, state)
                out.append(probabilities(logits.float())[0].cpu().numpy())
        return np.stack(out).astype(np.float32)

    def forget(self, keys):
        for k in keys:
            self._states.pop(k, None)

    @property
    def keys(self) -> list[Any]:
        """The keys with state."""
        return list(self._states)

    def clip_input(self, frames: Sequence[np.ndarray]) -> Any:
        """Whole frames as one ``(1, C, T, H, W)`` tensor of the per-frame inputs (for ``forward_frames``)."""
        return self._torch.from_numpy(np.stack([stream_input(f, None, self.cfg, lowpass=self.lowpass)
                                                for f in frames], 1))[None]


class OnnxStreamRunner(Runner):
    """An ONNX streaming model (``OnnxStreamer``: ``reset()`` / ``step(frame) -> logits``), one instance per key.

    Args:
        factory: builds a fresh streamer (one per track).
        class_names: label names.
        data_cfg: preprocessing.
    """

    kind = "stream"

    def __init__(self, factory: Callable[[], Any], class_names: Sequence[str], data_cfg: Any) -> None:
        self._factory = factory
        self.class_names = list(class_names)
        self.cfg = as_data_cfg(data_cfg)
        self.fps = float(self.cfg.fps or 0)
        self._streamers: dict[Any, Any] = {}

    def __call__(self, rgb, boxes, keys):
        out = []
        for i, key in enumerate(keys):
            s = self._streamers.get(key)
            if s is None:
                s = self._streamers[key] = self._factory()
                s.reset()
            x = stream_input(rgb, None if boxes is None else boxes[i], self.cfg, lowpass=self.lowpass)
            logits = np.asarray(s.step(x[None]), np.float32).reshape(-1)
            if logits.size == 1:
                p = 1 / (1 + np.exp(-logits[0]))
                out.append(np.array([1 - p, p], np.float32))
            else:
                e = np.exp(logits - logits.max())
                out.append(e / e.sum())
        return np.stack(out).astype(np.float32)

    def forget(self, keys):
        for k in keys:
            self._streamers.pop(k, None)

    @property
    def keys(self) -> list[Any]:
        """The keys with state."""
        return list(self._streamers)


class FlipRunner(Runner):
    """Test-time flip: every frame also runs mirrored left-right, through its own state (a streaming
    model keeps one state per view and key), and the two views' probabilities are averaged.

    It doubles the model's work per frame. A model trained with random flips (every actkit trainer's
    default) sees both views as the same action, so their average cancels some of either view's errors.

    Args:
        inner: the runner of the model.
    """

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.class_names, self.threshold = inner.class_names, inner.threshold
        self.fps, self.kind = inner.fps, inner.kind

    def __call__(self, rgb, boxes, keys):
        w = rgb.shape[1]
        mirrored = None if boxes is None else [None if b is None else (w - b[2], b[1], w - b[0], b[3]) for b in boxes]
        a = self.inner(rgb, boxes, keys)
        b = self.inner(np.ascontiguousarray(rgb[:, ::-1]), mirrored, [("flip", k) for k in keys])
        return ((a + b) / 2).astype(np.float32)

    def forget(self, keys):
        self.inner.forget(list(keys) + [("flip", k) for k in keys])


def load_runner(model: Any, device: str = "cpu", threads: int = 0, flip: bool = False,
                lowpass: float = 0.0) -> Runner:
    """A :class:`Runner` for a path (``.pt`` / ``.onnx``), a registered streaming model name, or a loaded
    object; ``flip`` wraps it in a :class:`FlipRunner` (each frame also run mirrored, averaged);
    ``lowpass`` blurs every input frame of a streaming model (:func:`stream_input`).

    Raises:
        FileNotFoundError: ``model`` is neither a file nor a registered streaming model.
        ValueError: the file is not an actkit model, or ``lowpass`` is negative or given for a crop classifier.
    """
    check_lowpass(lowpass)
    runner = _load_runner(model, device, threads)
    if lowpass:
        set_lowpass(runner, lowpass, str(model) if isinstance(model, (str, Path)) else type(model).__name__)
    return FlipRunner(runner) if flip and not isinstance(runner, FlipRunner) else runner


def check_lowpass(lowpass: float) -> None:
    if not (lowpass >= 0 and math.isfinite(lowpass)):
        raise ValueError(f"lowpass must be a blur sigma >= 0 (model-input pixels), got {lowpass}")


def set_lowpass(runner: Runner, lowpass: float, name: str) -> None:
    """Blur every input frame of ``runner`` (a streaming model's runner; anything else is refused)."""
    check_lowpass(lowpass)
    inner = runner.inner if isinstance(runner, FlipRunner) else runner
    if not isinstance(inner, (StreamModelRunner, OnnxStreamRunner)):
        raise ValueError(f"{name}: --lowpass blurs a streaming model's input frames; this is a "
                         f"{type(inner).__name__}")
    inner.lowpass = float(lowpass)


def _load_runner(model: Any, device: str, threads: int) -> Runner:
    from ..engine.predictor import Predictor

    if isinstance(model, Runner):
        return model
    if isinstance(model, Predictor):
        return CropRunner(model)
    if hasattr(model, "init_state") and hasattr(model, "step"):
        return StreamModelRunner(model, getattr(model, "class_names", None), device)
    if hasattr(model, "reset") and hasattr(model, "step"):
        return OnnxStreamRunner(lambda: model, model.class_names, model.data_cfg)  # one instance: no per-track state
    if not isinstance(model, (str, Path)):
        raise TypeError(f"cannot stream with {type(model).__name__}: give a .pt/.onnx path, a streaming model name, "
                        "a Predictor or a module with init_state/step")
    if threads:
        import torch

        torch.set_num_threads(threads)
    path = Path(model)
    if path.is_dir():
        from ..models.pretrained import model_file

        path = model_file(path)
    if path.is_file():
        if path.suffix == ".onnx":
            meta = _onnx_meta(path)
            if "stream" in meta:  # a stateful export (actkit.streaming.export)
                from .export import OnnxStreamer

                made = [OnnxStreamer(path, threads or 1)]  # the first one also validates the file now
                return OnnxStreamRunner(lambda: made.pop() if made else OnnxStreamer(path, threads or 1),
                                        meta["class_names"], meta["data_cfg"])
            return CropRunner(Predictor(path, threads, device))
        from ..engine.checkpoint import model_from_checkpoint, read_checkpoint
        from ..models import model_entry

        ckpt = read_checkpoint(path)
        try:
            task = model_entry(ckpt["model_name"]).task
        except KeyError as e:
            raise ValueError(f"{path}: model {ckpt['model_name']!r} is not registered in this actkit") from e
        if task == "stream":
            m, ckpt = model_from_checkpoint(ckpt)
            return StreamModelRunner(m, ckpt.get("class_names"), device)
        return CropRunner(Predictor(path, threads, device))
    from ..models import create_model, list_models

    if str(model) in list_models(task="stream"):
        log.warning("%s: registry model with untrained weights (give a trained .pt checkpoint for real labels)", model)
        return StreamModelRunner(create_model(str(model)), None, device)
    raise FileNotFoundError(f"model not found: {model} (not a file, nor a registered streaming model: "
                            f"{', '.join(list_models(task='stream')) or 'none registered'})")


def _onnx_meta(path: Path) -> dict[str, Any]:
    from ..utils.ort import read_metadata

    return read_metadata(path)


