"""Side-by-side latency and throughput benchmark of crop models under ONNX Runtime.

All models are measured in ONE run, interleaved round-robin (model A, B, C, A, B, C, ...),
so machine noise and frequency drift hit every model alike; results are reported as ratios
to the first model. Batch-1 latency uses 1 intra-op thread and all threads; batched
throughput is per crop, from the median batched call (timed and interleaved like batch-1 calls,
so one noisy moment cannot decide it).
"""
from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from .system import machine_info, threads_key, time_stats

log = logging.getLogger(__name__)


def _display_name(path: Path) -> str:
    """``runs/x/checkpoints/best.pt`` -> ``x/best.pt``: checkpoints of different runs share file names."""
    return f"{path.parent.parent.name}/{path.name}" if path.parent.name == "checkpoints" else path.name


def _prepare(spec: str, input_size: tuple[int, int] | None, folder: Path, index: int) -> dict[str, Any]:
    """The ``index``-th model spec (registry name, .pt or .onnx) -> an ONNX path plus facts about it."""
    from ..engine.checkpoint import model_from_checkpoint
    from ..engine.exporter import export_model, input_shape
    from ..utils.ort import read_metadata
    from ..models import DataConfig, count_params, create_model

    path = Path(spec)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise FileNotFoundError(f"model not found: {path}")
        cfg = DataConfig.from_dict(read_metadata(path)["data_cfg"])
        return {"name": _display_name(path), "onnx": path, "params": None, "input": tuple(cfg.input_size),
                "shape": input_shape(cfg)[1:], "frames": cfg.num_frames}
    if path.suffix == ".pt":
        model, ckpt = model_from_checkpoint(path)
        names = ckpt["class_names"]
    else:
        kw = {"num_classes": 1}
        if input_size:
            kw["input_size"] = input_size
        model, names = create_model(spec, **kw), ["neg", "pos"]
    onnx_path = folder / f"{index}_{path.stem if path.suffix else spec}.onnx"  # two runs' best.pt must not collide
    report = export_model(model.eval(), names, onnx_path)
    return {"name": spec if not path.suffix else _display_name(path), "onnx": onnx_path, "params": count_params(model),
            "input": tuple(model.data_cfg.input_size), "shape": input_shape(model.data_cfg)[1:],
            "frames": model.data_cfg.num_frames, "bytes": report["bytes"], "parity": report["parity_max_abs"]}


def _interleaved(entries: list[dict[str, Any]], threads: tuple[int, ...], rounds: int,
                 jobs: list[tuple[str, str, int, float]]) -> None:
    """Time calls of every entry's session, thread setting by thread setting, the models taking turns
    for ``rounds`` rounds. In each turn a model runs every job ``(feed_key, times_key, calls, seconds)``
    in order: at least ``calls`` calls on ``entry[feed_key]`` lasting at least ``seconds``. Batch-1 and
    batched calls thus share every round, so a machine that speeds up or slows down between rounds (a
    noisy neighbour) moves both alike. Per-call times (ns) go to ``entry[times_key][threads]``."""
    from ..engine.exporter import INPUT_NAME

    for e in entries:
        for _, times_key, _, _ in jobs:
            e[times_key] = {t: [] for t in threads}
    for t in threads:
        for _ in range(rounds):
            for e in entries:
                run = e["sess"][t].run
                for feed_key, times_key, calls, seconds in jobs:
                    feed, ts = {INPUT_NAME: e[feed_key]}, e[times_key][t]
                    n, t_end = 0, time.perf_counter() + seconds
                    while n < calls or time.perf_counter() < t_end:
                        t0 = time.perf_counter_ns()
                        run(None, feed)
                        ts.append(time.perf_counter_ns() - t0)
                        n += 1


BATCH_SIZES = (16, 32, 64, 256)  # batched throughput is reported at the best of these (256: what `actkit predict` runs)


def bench(models: list[str], input_size: tuple[int, int] | None = None, iters: int = 2000, rounds: int = 40,
          batch: int | tuple[int, ...] = BATCH_SIZES, threads: tuple[int, ...] = (1, 0), seed: int = 0,
          batch_seconds: float = 1.0) -> dict[str, Any]:
    """Benchmark ``models`` side by side; returns a JSON-ready dict (see :func:`format_table`).

    Args:
        models: registry names (random weights), ``.pt`` checkpoints or ``.onnx`` files.
        input_size: (H, W) for registry names (default: each model's own).
        iters: batch-1 calls per model per thread setting, split over ``rounds`` interleaved rounds.
        rounds: how many times the models take turns (short turns: each model samples the same mix of the
            machine's fast and slow spells; a turn of 200 calls can land in one spell only).
        batch: batch size(s) for the throughput measurement; each model's best is reported (a smaller
            batch can be faster per crop when its activations stay in cache).
        batch_seconds: time spent on batched calls per model, thread setting and batch size, over the same rounds.
        threads: intra-op thread settings to measure (0 = all cores).
        seed: input data seed.
    """
    from ..engine.exporter import INPUT_NAME
    from ..utils.ort import ort_session

    if not models:
        raise ValueError("no models to benchmark: pass --models a,b,...")
    batches = (batch,) if isinstance(batch, int) else tuple(batch)
    if not batches or min(batches) < 1:
        raise ValueError(f"batch sizes must be >= 1, got {batch}")
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="actkit-bench-") as tmp:
        entries = [_prepare(m, input_size, Path(tmp), i) for i, m in enumerate(models)]
        results: dict[str, Any] = {"machine": machine_info(), "batches": list(batches), "iters": iters, "rounds": rounds,
                                   "models": []}
        for e in entries:
            e["x1"] = rng.random((1, *e["shape"]), dtype=np.float32)
            for b in batches:
                e[f"x{b}b"] = rng.random((b, *e["shape"]), dtype=np.float32)
            e["sess"] = {t: ort_session(e["onnx"], t) for t in threads}
            for t in threads:  # warm-up: first calls allocate and pick kernels
                for _ in range(50):
                    e["sess"][t].run(None, {INPUT_NAME: e["x1"]})
                for b in batches:
                    e["sess"][t].run(None, {INPUT_NAME: e[f"x{b}b"]})
        # One thread setting at a time: idle spinning workers of an all-threads session must not
        # steal the core from a 1-thread measurement (taking turns by setting, with a 20 ms pause
        # between, made 1-thread calls of tiny models 25-45 % slower on a 2-vCPU host). Within a
        # setting, models take turns, and each turn times batch-1 calls then batched calls: the median
        # per call / batch is the per-crop cost (the statistic batch-1 latency uses, so the two
        # compare like for like).
        jobs = [("x1", "times", max(1, iters // rounds), 0.0)]
        jobs += [(f"x{b}b", f"btimes{b}", 3, batch_seconds / rounds) for b in batches]
        _interleaved(entries, threads, rounds, jobs)
        for e in entries:
            batched = {}
            for t in threads:
                b1 = float(np.median(e["times"][t])) / 1e6
                per_crop = {b: float(np.median(e[f"btimes{b}"][t])) / 1e6 / b for b in batches}
                best = min(per_crop, key=per_crop.get)
                batched[threads_key(t)] = {"batch": best, "ms_per_crop": per_crop[best], "crops_per_s": 1e3 / per_crop[best],
                                    "speedup_vs_batch1": b1 / per_crop[best], "calls": len(e[f"btimes{best}"][t]),
                                    "crops_per_s_by_batch": {str(b): 1e3 / ms for b, ms in per_crop.items()}}
            row = {"name": e["name"], "params": e["params"], "input": list(e["input"]), "frames": e["frames"],
                   "onnx_bytes": e.get("bytes"),
                   "latency_ms": {threads_key(t): time_stats(np.array(e["times"][t]) / 1e6) for t in threads}, "batched": batched}
            # What batching buys a user: the best batched rate against the best one-at-a-time rate,
            # each at the thread setting that suits it (batch-1 is fastest on one thread).
            best_b1 = min(row["latency_ms"][k]["median"] for k in row["latency_ms"])
            row["batched_gain"] = max(b["crops_per_s"] for b in batched.values()) * best_b1 / 1e3
            results["models"].append(row)
    first = results["models"][0]
    for row in results["models"]:
        row["ratio_to_first"] = {k: row["latency_ms"][k]["median"] / first["latency_ms"][k]["median"] for k in row["latency_ms"]}
    return results


def format_table(res: dict[str, Any]) -> str:
    """A Markdown table of a :func:`bench` result."""
    keys = list(res["models"][0]["latency_ms"])
    unit = "clips/s" if any(r.get("frames", 1) > 1 for r in res["models"]) else "crops/s"
    head = ["model", "params", "input"]
    for k in keys:
        head += [f"{k} min ms", f"{k} median ms", f"{k} p99 ms", f"{k} ratio"]
    head += [f"{k} batched {unit} (best batch, x batch-1)" for k in keys] + ["batched gain (best vs best)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res["models"]:
        size = "x".join(map(str, r["input"]))
        cells = [r["name"], f"{r['params']:,}" if r["params"] else "-",
                 f"{r['frames']}x{size}" if r.get("frames", 1) > 1 else size]
        for k in keys:
            s = r["latency_ms"][k]
            cells += [f"{s['min']:.4f}", f"{s['median']:.4f}", f"{s['p99']:.4f}", f"{r['ratio_to_first'][k]:.2f}"]
        cells += [f"{r['batched'][k]['crops_per_s']:,.0f} (b{r['batched'][k]['batch']}, {r['batched'][k]['speedup_vs_batch1']:.1f}x)"
                  for k in keys]
        cells.append(f"{r['batched_gain']:.1f}x")
        lines.append("| " + " | ".join(cells) + " |")
    m = res["machine"]
    lines.append(f"\n{m['cpu']}, {m['cores']} cores, ONNX Runtime {m['onnxruntime']}; {res['iters']} batch-1 calls per model "
                 f"and thread setting, interleaved round-robin in {res['rounds']} rounds; ratio = median / first model's median; "
                 f"batched {unit} from the median batched call (interleaved the same way) at the same thread setting, "
                 f"at the best of batch sizes {', '.join(map(str, res['batches']))}, "
                 "x = its speed-up over batch-1 calls; "
                 f"batched gain = best batched {unit} / best batch-1 calls/s.")
    return "\n".join(lines)
