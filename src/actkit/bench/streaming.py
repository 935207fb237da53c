"""Streaming models side by side: per-frame ``step`` latency and max frames/s in ONNX Runtime and torch."""
from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..streaming.export import OnnxStreamer, as_stream_model, export_stream_onnx

log = logging.getLogger(__name__)
def _prepare(name: str, path: Path, threads: tuple[int, ...], input_size: tuple[int, int] | None,
             rng: np.random.Generator) -> dict[str, Any]:
    """One model exported to ``path``, warmed up in ONNX Runtime (one session per thread setting) and torch."""
    from ..models import count_params, create_model, model_entry

    if Path(name).suffix == ".pt":
        model, label = name, Path(name).name
    else:
        if model_entry(name).task != "stream":
            raise ValueError(f"{name!r} is not a streaming model (task={model_entry(name).task!r}); "
                             f"streaming models: see actkit.list_models(task='stream')")
        model, label = create_model(name, **({"input_size": input_size} if input_size else {})), name
    rep = export_stream_onnx(model, path, check_frames=2)
    streamers = {t: OnnxStreamer(rep["path"], t) for t in threads}
    s0 = streamers[threads[0]]
    x = rng.random(s0.frame_shape, dtype=np.float32)
    for s in streamers.values():  # warm-up: first calls allocate and pick kernels
        for _ in range(20):
            s.step(x)
    tm = as_stream_model(model, None)[0]
    with torch.inference_mode():
        tstate = tm.init_state(1, device="cpu")
        for _ in range(5):
            _, tstate = tm.step(torch.from_numpy(x), tstate)
    return {"name": label, "params": count_params(model) if isinstance(model, nn.Module) else None,
            "input": list(s0.frame_shape[2:]), "state_tensors": len(rep["state_shapes"]),
            "state_floats": int(sum(np.prod(s) for s in rep["state_shapes"])), "onnx_bytes": rep["bytes"],
            "receptive_field": s0.meta["stream"]["receptive_field_frames"], "fps": s0.meta["data_cfg"]["fps"],
            "_s": streamers, "_x": x, "_t": {t: [] for t in threads},
            "_m": tm, "_state": tstate, "_tt": {t: [] for t in threads}}


def _time_rounds(rows: list[dict[str, Any]], threads: tuple[int, ...], rounds: int, per_round: int) -> None:
    """Time ``per_round`` steps of every model in turn, ``rounds`` times per thread setting."""
    import os

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


def bench_stream(names: list[str], threads: tuple[int, ...] = (1, 2), frames: int = 300, rounds: int = 10,
                 input_size: tuple[int, int] | None = None, seed: int = 0) -> dict[str, Any]:
    """Per-frame ``step`` latency and max frames/s of streaming models in ONNX Runtime and torch, side by side.

    Every model is exported (random weights), then the models take turns in ``rounds`` interleaved
    rounds per thread setting, each call a real streaming step (state fed back; ONNX Runtime, then
    torch eager in ``inference_mode``), so noise and frequency drift hit all models alike. Ratios
    are to the first model. This is the model alone: no decoding, preprocessing or post-processing
    (:func:`actkit.bench.soak.pipeline_latency` measures the whole pipeline).

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
    from .system import machine_info, threads_key, time_stats

    if not names:
        raise ValueError("no models to benchmark: pass --models a,b,...")
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="actkit-stream-bench-") as tmp:
        for name in names:
            rows.append(_prepare(name, Path(tmp) / f"{len(rows)}.onnx", threads, input_size, rng))
        per_round = max(1, frames // rounds)
        _time_rounds(rows, threads, rounds, per_round)
        for r in rows:
            r["latency_ms"] = {threads_key(t): time_stats(np.array(r["_t"][t]) / 1e6) for t in threads}
            r["max_fps"] = {k: 1e3 / v["median"] for k, v in r["latency_ms"].items()}
            r["torch_latency_ms"] = {threads_key(t): time_stats(np.array(r["_tt"][t]) / 1e6) for t in threads}
            r["torch_max_fps"] = {k: 1e3 / v["median"] for k, v in r["torch_latency_ms"].items()}
            for k in ("_s", "_x", "_t", "_m", "_state", "_tt"):
                del r[k]
    first = rows[0]["latency_ms"]
    for r in rows:
        r["ratio_to_first"] = {k: r["latency_ms"][k]["median"] / first[k]["median"] for k in first}
    by_threads = [{"name": r["name"], "threads": t, "onnx_ms_per_frame": r["latency_ms"][threads_key(t)]["median"],
                   "onnx_fps": r["max_fps"][threads_key(t)], "torch_ms_per_frame": r["torch_latency_ms"][threads_key(t)]["median"],
                   "torch_fps": r["torch_max_fps"][threads_key(t)]} for r in rows for t in threads]
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
