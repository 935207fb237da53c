"""Stateful ONNX export of streaming models, an ONNX Runtime frame-by-frame streamer, and a per-frame bench.

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
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .exporter import fold_batchnorm, ort_session, read_metadata, simplify

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


def _as_model(model_or_checkpoint: Any, class_names: list[str] | None) -> tuple[nn.Module, list[str]]:
    from .checkpoint import model_from_checkpoint

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

    from ..utils.io import atomic_path
    from .checkpoint import model_meta

    model, names = _as_model(model_or_checkpoint, class_names)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = _StepGraph(fold_batchnorm(model)).eval()
    h, w = model.data_cfg.input_size
    state = model.init_state(1, device="cpu")
    ins, outs = state_names(len(state))
    frame = torch.zeros(1, model.data_cfg.in_chans, h, w)
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
                          "receptive_field_frames": model.receptive_field()}
        _write_stream_metadata(tmp, meta)
    nodes = [n.op_type for n in onnx.load(str(path)).graph.node]
    parity = stream_parity(model, path, check_frames) if check_frames else None
    return {"path": str(path), "inputs": [FRAME_NAME, *ins], "outputs": [LOGITS_NAME, *outs], "state_shapes": meta["stream"]["state_shapes"],
            "nodes": len(nodes), "batchnorm_nodes": nodes.count("BatchNormalization"), "bytes": path.stat().st_size,
            "parity_max_abs": parity}


def _write_stream_metadata(path: Path, meta: dict[str, Any]) -> None:
    from .exporter import write_metadata

    write_metadata(path, meta, extra={
        "task": "stream", "fps": json.dumps(meta["data_cfg"]["fps"]), "stream": json.dumps(meta["stream"]),
        "resize": "letterbox each frame to input_size (actkit.engine.streamer.stream_input)",
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
        self.frame_shape = (1, 1 if self.meta["data_cfg"]["colour"] == "y" else 3, *self.meta["data_cfg"]["input_size"])
        self._outputs = [s["logits_output"], *self._out]
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero history."""
        self.state = [np.zeros(s, np.float32) for s in self._shapes]

    def step(self, frame: np.ndarray) -> np.ndarray:
        """One preprocessed frame, (C, H, W) or (1, C, H, W) float32 -> this frame's logits (K,)."""
        x = np.asarray(frame, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape != self.frame_shape:
            raise ValueError(f"expected a frame of shape {self.frame_shape[1:]} (or with batch 1), got {np.shape(frame)}")
        feed = {FRAME_NAME: x, **dict(zip(self._in, self.state))}
        logits, *self.state = self.session.run(self._outputs, feed)
        return logits[0]


@torch.no_grad()
def stream_parity(model: nn.Module, onnx_path: str | Path, frames: int = 8, seed: int = 0) -> float:
    """Max |torch step - ONNX Runtime step| over ``frames`` random frames streamed from zero state."""
    h, w = model.data_cfg.input_size
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(frames, 1, model.data_cfg.in_chans, h, w, generator=g)
    streamer, state, worst = OnnxStreamer(onnx_path, threads=0), model.init_state(1, device="cpu"), 0.0
    for x in xs:
        ref, state = model.step(x, state)
        worst = max(worst, float(np.abs(streamer.step(x.numpy()) - ref[0].numpy()).max()))
    return worst


def bench_stream(names: list[str], threads: tuple[int, ...] = (1, 2), frames: int = 300, rounds: int = 10,
                 input_size: tuple[int, int] | None = None, seed: int = 0) -> dict[str, Any]:
    """Per-frame ``step`` latency and max frames/s of streaming models in ONNX Runtime and torch, side by side.

    Every model is exported (random weights), then the models take turns in ``rounds`` interleaved
    rounds per thread setting, each call a real streaming step (state fed back; ONNX Runtime, then
    torch eager in ``inference_mode``), so noise and frequency drift hit all models alike. Ratios
    are to the first model. This is the model alone: no decoding, preprocessing or post-processing
    (:func:`actkit.engine.stream_bench.pipeline_latency` measures the whole pipeline).

    Args:
        names: registry names of ``task="stream"`` models or stream ``.pt`` checkpoints.
        threads: intra-op thread settings (ONNX Runtime session threads; ``torch.set_num_threads``,
            restored afterwards).
        frames: timed steps per model and thread setting.
        rounds: how many times the models take turns.
        input_size: (H, W) override for registry names (default: each model's native size).
        seed: input data seed.

    Returns:
        A JSON-ready dict; :func:`format_stream_table` renders it. Per model, ``latency_ms`` /
        ``max_fps`` / ``ratio_to_first`` are ONNX Runtime's and ``torch_latency_ms`` / ``torch_max_fps``
        torch's, keyed by thread setting; ``threads`` holds one row per model and thread setting
        (``onnx_ms_per_frame``, ``onnx_fps``, ``torch_ms_per_frame``, ``torch_fps``).
    """
    import os

    from ..models import count_params, create_model, model_entry
    from .bench import _key, _stats, machine_info

    if not names:
        raise ValueError("no models to benchmark: pass --models a,b,...")
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="actkit-stream-bench-") as tmp:
        for name in names:
            if Path(name).suffix == ".pt":
                model, label = name, Path(name).name
            else:
                if model_entry(name).task != "stream":
                    raise ValueError(f"{name!r} is not a streaming model (task={model_entry(name).task!r}); "
                                     f"streaming models: see actkit.list_models(task='stream')")
                model, label = create_model(name, **({"input_size": input_size} if input_size else {})), name
            rep = export_stream_onnx(model, Path(tmp) / f"{len(rows)}.onnx", check_frames=2)
            streamers = {t: OnnxStreamer(rep["path"], t) for t in threads}
            s0 = streamers[threads[0]]
            x = rng.random(s0.frame_shape, dtype=np.float32)
            for s in streamers.values():  # warm-up: first calls allocate and pick kernels
                for _ in range(20):
                    s.step(x)
            tm = _as_model(model, None)[0]
            with torch.inference_mode():
                tstate = tm.init_state(1, device="cpu")
                for _ in range(5):
                    _, tstate = tm.step(torch.from_numpy(x), tstate)
            rows.append({"name": label, "params": count_params(model) if isinstance(model, nn.Module) else None,
                         "input": list(s0.frame_shape[2:]), "state_tensors": len(rep["state_shapes"]),
                         "state_floats": int(sum(np.prod(s) for s in rep["state_shapes"])), "onnx_bytes": rep["bytes"],
                         "receptive_field": s0.meta["stream"]["receptive_field_frames"], "fps": s0.meta["data_cfg"]["fps"],
                         "_s": streamers, "_x": x, "_t": {t: [] for t in threads},
                         "_m": tm, "_state": tstate, "_tt": {t: [] for t in threads}})
        per_round = max(1, frames // rounds)
        before = torch.get_num_threads()
        try:
            with torch.inference_mode():
                for t in threads:  # one thread setting at a time, models interleaved within it
                    torch.set_num_threads(t or os.cpu_count() or 1)
                    for _ in range(rounds):
                        for r in rows:
                            step, x, ts = r["_s"][t].step, r["_x"], r["_t"][t]
                            for _ in range(per_round):
                                t0 = time.perf_counter_ns()
                                step(x)
                                ts.append(time.perf_counter_ns() - t0)
                            tstep, xt, state, ts = r["_m"].step, torch.from_numpy(r["_x"]), r["_state"], r["_tt"][t]
                            for _ in range(per_round):
                                t0 = time.perf_counter_ns()
                                _, state = tstep(xt, state)
                                ts.append(time.perf_counter_ns() - t0)
                            r["_state"] = state
        finally:
            torch.set_num_threads(before)
        for r in rows:
            r["latency_ms"] = {_key(t): _stats(np.array(r["_t"][t]) / 1e6) for t in threads}
            r["max_fps"] = {k: 1e3 / v["median"] for k, v in r["latency_ms"].items()}
            r["torch_latency_ms"] = {_key(t): _stats(np.array(r["_tt"][t]) / 1e6) for t in threads}
            r["torch_max_fps"] = {k: 1e3 / v["median"] for k, v in r["torch_latency_ms"].items()}
            for k in ("_s", "_x", "_t", "_m", "_state", "_tt"):
                del r[k]
    first = rows[0]["latency_ms"]
    for r in rows:
        r["ratio_to_first"] = {k: r["latency_ms"][k]["median"] / first[k]["median"] for k in first}
    by_threads = [{"name": r["name"], "threads": t, "onnx_ms_per_frame": r["latency_ms"][_key(t)]["median"],
                   "onnx_fps": r["max_fps"][_key(t)], "torch_ms_per_frame": r["torch_latency_ms"][_key(t)]["median"],
                   "torch_fps": r["torch_max_fps"][_key(t)]} for r in rows for t in threads]
    return {"machine": machine_info(), "frames": frames, "rounds": rounds, "models": rows, "threads": by_threads}


def format_stream_table(res: dict[str, Any]) -> str:
    """A Markdown table of a :func:`bench_stream` result."""
    keys = list(res["models"][0]["latency_ms"])
    head = ["model", "params", "input", "receptive field"]
    for k in keys:
        head += [f"{k} median ms/frame", f"{k} p99 ms", f"{k} ratio", f"{k} max frames/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res["models"]:
        rf = f"{r['receptive_field']} frames" + (f" ({r['receptive_field'] / r['fps']:.1f} s)" if r["fps"] else "")
        cells = [r["name"], f"{r['params']:,}" if r["params"] else "-", "x".join(map(str, r["input"])), rf]
        for k in keys:
            s = r["latency_ms"][k]
            cells += [f"{s['median']:.2f}", f"{s['p99']:.2f}", f"{r['ratio_to_first'][k]:.2f}", f"{r['max_fps'][k]:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    m = res["machine"]
    lines.append(f"\n{m['cpu']}, {m['cores']} cores, ONNX Runtime {m['onnxruntime']}; {res['frames']} streaming steps (batch 1, "
                 f"state fed back) per model and thread setting in {res['rounds']} interleaved rounds; ratio = median / first "
                 "model's median; max frames/s = 1000 / median.")
    if res.get("threads"):  # the model alone, both runtimes, one row per thread setting
        lines += ["", "| model | threads | ONNX ms/frame | ONNX max frames/s | torch ms/frame | torch max frames/s |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {r['threads'] or 'all'} | {r['onnx_ms_per_frame']:.2f} | {r['onnx_fps']:.0f} | "
                  f"{r['torch_ms_per_frame']:.2f} | {r['torch_fps']:.0f} |" for r in res["threads"]]
    return "\n".join(lines)
