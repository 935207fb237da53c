"""One LiteRT (``ai-edge-litert``) interpreter per model file, with XNNPACK and a set number of threads."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.deps import require
from .assets import model_path


class TfliteModel:
    """A ``.tflite`` model: ``model(x)`` runs it on float32 NHWC input and returns its outputs by name.

    Args:
        name: a MediaPipe model name (``pose_detection``, ...) or a path to a ``.tflite`` file.
        threads: CPU threads (0: LiteRT's default).
    """

    def __init__(self, name: str | Path, threads: int = 1) -> None:
        path = Path(name) if str(name).endswith(".tflite") else model_path(str(name))
        interpreter = require("ai_edge_litert.interpreter", "perception")
        try:
            self._it = interpreter.Interpreter(model_path=str(path), num_threads=threads or None)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{path}: LiteRT cannot load it ({str(e).strip().splitlines()[0][:160]})") from None
        self.path = path
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self._in["shape"])

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        return {o["name"]: tuple(int(v) for v in o["shape"]) for o in self._out}

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape != self.input_shape:
            raise ValueError(f"{self.path.name}: expected input {self.input_shape}, got {x.shape}")
        self._it.set_tensor(self._in["index"], x)
        self._it.invoke()
        return {o["name"]: self._it.get_tensor(o["index"]) for o in self._out}  # get_tensor copies

    def __repr__(self) -> str:
        return f"TfliteModel({self.path.name}, input {self.input_shape})"


def load(name: str | Path, threads: int = 1) -> Any:
    """:class:`TfliteModel` of ``name``."""
    return TfliteModel(name, threads)
