"""Stateful ONNX export of streaming models and an ONNX Runtime frame-by-frame streamer.

The exported graph is one call of ``model.step`` with batch 1 (fixed):

* inputs ``frame`` (1, C, H, W) float32, preprocessed as ``data_cfg`` says, and ``state_0`` ..
  ``state_{n-1}`` (1, C_i, H_i, W_i) float32, all zeros for the first frame of a stream;
* outputs ``logits`` (1, K) and ``new_state_0`` .. ``new_state_{n-1}``, fed back as the next call's
  ``state_i``.

BatchNorm is folded, the graph is simplified, and ``metadata_props`` carry the labels,
preprocessing and state names/shapes (``actkit`` holds everything as JSON; ``stream`` the state
part), so a streamer needs the file only. :class:`OnnxStreamer` does the state bookkeeping.
"""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..engine.exporter import fold_batchnorm, simplify

from ..utils.ort import ort_session, read_metadata

log = logging.getLogger(__name__)
FRAME_NAME, LOGITS_NAME = "frame", "logits"


def state_names(n: int) -> tuple[list[str], list[str]]:
    """Graph input and output names of ``n`` state tensors."""
    return [f"state_{i}" for i in range(n)], [f"new_state_{i}" for i in range(n)]


class _StepGraph(nn.Module):
    """``step`` with the state as separate positional tensors, the form ONNX export traces."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, new_state = self.model.step(frame, list(state))
        return (logits, *new_state)


def as_stream_model(model_or_checkpoint: Any, class_names: list[str] | None) -> tuple[nn.Module, list[str]]:
    from ..engine.checkpoint import model_from_checkpoint

    if isinstance(model_or_checkpoint, nn.Module):
        model = model_or_checkpoint
    else:
        model, ckpt = model_from_checkpoint(model_or_checkpoint)
        class_names = class_names or ckpt["class_names"]
    for attr in ("step", "init_state", "state_shapes"):
        if not hasattr(model, attr):
            raise ValueError(f"model {getattr(model, 'model_name', type(model).__name__)!r} is not a streaming model "
                             f"(no {attr}()); see actkit.list_models(task='stream')")
    names = list(class_names) if class_names else [str(i) for i in range(model.num_classes)]
    if len(names) != model.num_classes:
        raise ValueError(f"{len(names)} class names for a model with {model.num_classes} outputs")
    return model.eval(), names


def export_stream_onnx(model_or_checkpoint: Any, path: str | Path, class_names: list[str] | None = None,
                       opset: int = 17, do_simplify: bool = True, check_frames: int = 8) -> dict[str, Any]:
    """Export a streaming model's ``step`` as a stateful ONNX graph (batch 1).

    Args:
        model_or_checkpoint: a model with ``step``/``init_state`` (see ``task="stream"``) or a ``.pt``
            checkpoint of one.
        path: output ``.onnx``.
        class_names: label names (default: the checkpoint's, or ``"0".."K-1"``).
        opset: ONNX opset.
        do_simplify: simplify with onnxslim.
        check_frames: frames streamed through torch and ONNX Runtime for the parity figure (0: skip).

    Returns:
        ``{path, inputs, outputs, state_shapes, nodes, batchnorm_nodes, bytes, parity_max_abs}``.
    """
    import onnx

    from ..engine.checkpoint import model_meta
    from ..utils.io import atomic_path

    model, names = as_stream_model(model_or_checkpoint, class_names)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = _StepGraph(fold_batchnorm(model)).eval()
    state = model.init_state(1, device="cpu")
    ins, outs = state_names(len(state))
    frame = torch.zeros(1, *frame_shape(model))
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(graph, (frame, *state), str(tmp), input_names=[FRAME_NAME, *ins], output_names=[LOGITS_NAME, *outs],
                              opset_version=opset, dynamo=False)
        if do_simplify:
            simplify(tmp)
        meta = model_meta(model, names)
        meta["stream"] = {"batch": 1, "frame_input": FRAME_NAME, "logits_output": LOGITS_NAME, "state_inputs": ins,
                          "state_outputs": outs, "state_shapes": [[1, *s] for s in model.state_shapes()],
                          "frame_shape": [1, *frame_shape(model)],
                          "receptive_field_frames": model.receptive_field()}
        _write_stream_metadata(tmp, meta)
    nodes = [n.op_type for n in onnx.load(str(path)).graph.node]
    parity = stream_parity(model, path, check_frames) if check_frames else None
    return {"path": str(path), "inputs": [FRAME_NAME, *ins], "outputs": [LOGITS_NAME, *outs], "state_shapes": meta["stream"]["state_shapes"],
            "nodes": len(nodes), "batchnorm_nodes": nodes.count("BatchNormalization"), "bytes": path.stat().st_size,
            "parity_max_abs": parity}


def frame_shape(model: nn.Module) -> tuple[int, ...]:
    """One frame's input without the batch: (C, H, W) for pixel models, the model's own (keypoints: (4, 33))."""
    if hasattr(model, "frame_shape"):
        return tuple(model.frame_shape())
    h, w = model.data_cfg.input_size
    return (model.data_cfg.in_chans, h, w)


def _write_stream_metadata(path: Path, meta: dict[str, Any]) -> None:
    from ..engine.exporter import write_metadata

    write_metadata(path, meta, extra={
        "task": "stream", "fps": json.dumps(meta["data_cfg"]["fps"]), "stream": json.dumps(meta["stream"]),
        "resize": "letterbox each frame to input_size (actkit.streaming.runners.stream_input)",
        "usage": "feed frame + state_i (zeros at stream start); feed new_state_i back as state_i; logits are per frame"})


class OnnxStreamer:
    """Frame-by-frame inference on a stateful ONNX file from :func:`export_stream_onnx`.

    Example:
        >>> s = OnnxStreamer("model.onnx")
        >>> for frame in frames:          # (C, H, W) float32, preprocessed
        ...     logits = s.step(frame)    # (K,)
        >>> s.reset()                     # a new stream: forget the history

    Attributes:
        class_names: label of each logit.
        meta: the file's ``actkit`` metadata (``data_cfg`` says how to preprocess, ``stream`` the state).
        frame_shape: (1, C, H, W) the graph takes.
        state: the current state arrays, fed to the next :meth:`step`.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {self.path}")
        self.meta = read_metadata(self.path)
        if "stream" not in self.meta:
            raise ValueError(f"{self.path}: not a streaming model export (no stream metadata); use actkit.engine.exporter for crop models")
        self.session = ort_session(self.path, threads)
        s = self.meta["stream"]
        self.class_names: list[str] = self.meta["class_names"]
        self._in, self._out = s["state_inputs"], s["state_outputs"]
        self._shapes = [tuple(v) for v in s["state_shapes"]]
        self.frame_shape = tuple(s["frame_shape"]) if "frame_shape" in s else \
            (1, 1 if self.meta["data_cfg"]["colour"] == "y" else 3, *self.meta["data_cfg"]["input_size"])
        self._outputs = [s["logits_output"], *self._out]
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero history."""
        self.state = [np.zeros(s, np.float32) for s in self._shapes]

    def step(self, frame: np.ndarray) -> np.ndarray:
        """One preprocessed frame, (C, H, W) or (1, C, H, W) float32 (keypoint models: (4, 33)) -> this frame's
        logits (K,)."""
        x = np.asarray(frame, dtype=np.float32)
        if x.ndim == len(self.frame_shape) - 1:
            x = x[None]
        if x.shape != self.frame_shape:
            raise ValueError(f"expected a frame of shape {self.frame_shape[1:]} (or with batch 1), got {np.shape(frame)}")
        feed = {FRAME_NAME: x, **dict(zip(self._in, self.state))}
        logits, *self.state = self.session.run(self._outputs, feed)
        return logits[0]


@torch.no_grad()
def stream_parity(model: nn.Module, onnx_path: str | Path, frames: int = 8, seed: int = 0) -> float:
    """Max |torch step - ONNX Runtime step| over ``frames`` random frames streamed from zero state."""
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(frames, 1, *frame_shape(model), generator=g)
    streamer, state, worst = OnnxStreamer(onnx_path, threads=0), model.init_state(1, device="cpu"), 0.0
    for x in xs:
        ref, state = model.step(x, state)
        worst = max(worst, float(np.abs(streamer.step(x.numpy()) - ref[0].numpy()).max()))
    return worst
