"""The postures demo: the whole crop pipeline on built-in data, with a report a person can read.

``actkit demo`` (and ``make demo``) renders a synthetic postures set from the motion-capture
clips, trains actkit's fast P model, evaluates it on the held-out test split (unseen cameras
and colours), exports it to ONNX and int8, benchmarks it against the reference family and
writes ``report.md`` with the plots.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def run_demo(out: str | Path = "runs/demo", n: int = 4000, epochs: int = 30, seed: int = 0, workers: int = 2,
             model: str = "fastcrop_p", bench_models: tuple[str, ...] = ("fastcrop_p", "sc_p", "sc_c")) -> Path:
    """Render, train, evaluate, export, bench; returns the path of ``report.md``."""
    from ..config import TrainConfig, resolve
    from ..data.synth.postures import render_postures
    from ..bench.inference import bench, format_table
    from ..engine.evaluator import evaluate_file, format_report
    from ..engine.exporter import export_onnx
    from ..engine.trainer import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t = time.perf_counter()
    data = out / "postures.parquet"
    if data.exists():
        log.info("reusing %s (delete it to re-render)", data)
        render = {"reused": True}
    else:
        render = render_postures(data, n=n, seed=seed, workers=workers, sheet=out / "postures_sheet.png")
    times["render"] = time.perf_counter() - t

    t = time.perf_counter()
    cfg = resolve(TrainConfig, overrides={"data.path": str(data), "model.name": model, "optim.epochs": epochs,
                                          "run.out": str(out / "train"), "run.seed": seed,
                                          "run.overwrite": True})
    summary = train(cfg)
    times["train"] = time.perf_counter() - t

    t = time.perf_counter()
    best = out / "train" / "checkpoints" / "best.pt"
    ev = evaluate_file(best, data, "test", out / "eval")
    times["eval"] = time.perf_counter() - t

    t = time.perf_counter()
    exp = export_onnx(best, out / f"{model}.onnx", int8=True, data=str(data))
    times["export"] = time.perf_counter() - t

    t = time.perf_counter()
    res = bench(list(bench_models), tuple(ev_size(best)), iters=1000)
    times["bench"] = time.perf_counter() - t

    from ..engine.plots import plot_bars
    plot_bars({r["name"]: r["latency_ms"]["1thread"]["median"] for r in res["models"]}, out / "latency.png",
              title="batch-1 latency, 1 thread, ONNX Runtime", xlabel="median ms")
    report = _write_report(out, render, summary, ev, exp, res, times, format_table(res), format_report(ev))
    return report


def ev_size(checkpoint: Path) -> list[int]:
    from ..engine.checkpoint import read_checkpoint

    return read_checkpoint(checkpoint)["data_cfg"]["input_size"]


def _write_report(out: Path, render: dict[str, Any], summary: dict[str, Any], ev: dict[str, Any], exp: dict[str, Any],
                  res: dict[str, Any], times: dict[str, float], bench_table: str, eval_text: str) -> Path:
    from ..utils.io import atomic_write

    q = exp.get("int8", {})
    lines = [
        "# actkit demo: posture crops (standing / sitting / lying)", "",
        f"Total time {sum(times.values()):.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + ".", "",
        "## Data", "",
        "Rendered from the motion-capture clips shipped in pybullet plus posed sitting and lying; labels come from body "
        "geometry. The test split uses camera sectors, clothes palettes and ground textures never seen in training.", "",
    ]
    if not render.get("reused"):
        lines += [f"```\n{_counts(render)}\n```", ""]
    if (out / "postures_sheet.png").exists():
        lines += ["![contact sheet](postures_sheet.png)", ""]
    lines += [
        f"## Training: {summary['model']}", "",
        f"Best epoch {summary['best_epoch']} of {summary['epochs']} (picked on val macro-F1), "
        f"{summary['train_seconds']:.0f} s on CPU.", "", "![history](train/plots/history.png)", "",
        "## Test split (evaluated once, best checkpoint)", "", f"```\n{eval_text}\n```", "",
        "![confusion](eval/eval_test_confusion.png)", "",
        "## Export", "",
        f"ONNX: {exp['nodes']} nodes, {exp['bytes'] / 1024:.1f} KB, BatchNorm nodes left: {exp['batchnorm_nodes']}, "
        f"torch-vs-ONNX max |diff| {exp['parity_max_abs']:.2e}.", "",
    ]
    if q:
        lines += [f"int8 (static, calibrated on val): {q['bytes'] / 1024:.1f} KB, test macro-F1 {q['fp32']['macro_f1']:.4f} -> "
                  f"{q['int8']['macro_f1']:.4f} ({q['macro_f1_change_points']:+.2f} points).", ""]
    lines += ["## Speed (side by side, one run)", "", bench_table, "", "![latency](latency.png)", ""]
    path = out / "report.md"
    with atomic_write(path, "w") as f:
        f.write("\n".join(lines))
    return path


def _counts(render: dict[str, Any]) -> str:
    keys = [k for k in render if k not in ("path",)]
    return "\n".join(f"{k}: {render[k]}" for k in keys)
