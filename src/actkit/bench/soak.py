"""Measured goals of the live pipeline: a memory soak and end-to-end latency.

* :func:`soak`: the real :class:`~actkit.streaming.pipeline.Stream` (capture and inference threads,
  smoothing, events, a JSON-lines sink) over a looped video for ``minutes`` of stream time, as fast
  as it runs (every frame processed), sampling RSS. Memory is *flat* when the least-squares RSS
  slope after warm-up stays below ``max_slope`` MB per 1000 frames (default
  :data:`MAX_SLOPE_MB_PER_1K`); the Stream's own bounded structures (event log, latency window,
  per-key state, capture queue) are checked against their bounds too.
* :func:`pipeline_latency`: the same pipeline in realtime mode (capture paced to the source fps,
  drop-oldest queues): capture -> label latency, achieved fps and dropped frames.
* :func:`soak_bench`: both, for ``actkit bench --soak`` (renders a small synthetic stream when no
  source is given).

The model alone (no decoding or post-processing), on 1 and 2 threads in torch and ONNX Runtime, is
:func:`actkit.bench.streaming.bench_stream`.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..data.video.sources import LoopSource
from ..streaming.metrics import RssProbe, rss_mb
from ..streaming.pipeline import Stream
from ..streaming.runners import load_runner

log = logging.getLogger(__name__)

# 0.5 MB per 1000 frames is ~500 bytes a frame: a 30-minute soak at 16 fps (28,800 frames) may grow
# ~14 MB after warm-up and still count as flat, while a leak of one small array per frame does not.
MAX_SLOPE_MB_PER_1K = 0.5


def _stream_model(model: Any, input_size: tuple[int, int] | None = None) -> Any:
    """A registry name becomes its (untrained) module, refused unless ``task="stream"``; anything else is kept."""
    if not isinstance(model, (str, Path)) or Path(model).exists():
        return model
    from ..models import create_model, list_models, model_entry

    name = str(model)
    if name not in list_models():
        raise FileNotFoundError(f"model not found: {name} (not a file, nor a registered model; streaming models: "
                                f"{', '.join(list_models(task='stream'))})")
    task = model_entry(name).task
    if task != "stream":
        raise ValueError(f"{name!r} is not a streaming model (task={task!r}); streaming models: "
                         f"{', '.join(list_models(task='stream'))}")
    log.warning("%s: registry model with untrained weights (fine for latency and memory)", name)
    return create_model(name, **({"input_size": tuple(input_size)} if input_size else {}))


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` for the block, restored after (0: leave as is)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _open_loop(source: str | Path, fps: float) -> LoopSource:
    if not Path(source).exists():
        raise FileNotFoundError(f"source not found: {source} (a video file or folder of frames, looped)")
    return LoopSource(source, fps)


def _bounded(s: Stream) -> dict[str, tuple[int, int | None]]:
    """(length, bound) of the Stream's structures that must not grow with the run."""
    per_key = getattr(s.runner, "_states", getattr(s.runner, "_streamers", {}))
    return {"events": (len(s.events), s.events.maxlen), "latency_window": (len(s._latencies), s._latencies.maxlen),
            "key_states": (len(s._states), 1 if s.tracker is None else None),
            "model_states": (len(per_key), 1 if s.tracker is None else None)}


def _drive(s: Stream, frames: int, every: int, warmup: float, max_slope: float, progress: bool | None
           ) -> tuple[RssProbe, np.ndarray, dict[str, int], int]:
    """Run the stream to its end: RSS every ``every`` frames, each frame's latency, and the longest length
    each bounded structure reached; returns them with the frame count."""
    from ..utils.progress import progress as bar

    probe = RssProbe(every=every, warmup=warmup, max_slope_mb_per_1k=max_slope)
    lat = np.full(frames, np.nan, np.float32)  # touched now, so it is not growth later
    seen = {k: 0 for k in _bounded(s)}
    n = 0
    with bar(total=frames, desc="soak", unit="frame", enable=progress) as pb:
        for r in s:
            lat[n] = r.latency_ms
            probe.sample(n)
            if n % every == 0:
                for k, (length, _) in _bounded(s).items():
                    seen[k] = max(seen[k], length)
            n += 1
            pb.update(1)
    return probe, lat, seen, n


def _structures(s: Stream, seen: dict[str, int]) -> dict[str, dict[str, int | None]]:
    """The longest length each bounded structure reached (after the final flush too) and its bound."""
    for k, (length, _) in _bounded(s).items():
        seen[k] = max(seen[k], length)
    bounds = {k: b for k, (_, b) in _bounded(s).items()}
    structures = {k: {"max_len": seen[k], "bound": bounds[k]} for k in seen}
    structures["capture_queue"] = {"max_len": s.stats["capture_queue_max"], "bound": s.stats["capture_queue_bound"]}
    return structures


def soak(model: Any, source: str | Path, minutes: float = 30.0, fps: float = 16, threads: int = 1,
         every: int | None = None, out: str | Path | None = None, progress: bool | None = None,
         max_slope: float = MAX_SLOPE_MB_PER_1K, warmup: float = 0.2, input_size: tuple[int, int] | None = None,
         threshold: float | None = None) -> dict[str, Any]:
    """Run the real pipeline over ``minutes * 60 * fps`` frames of ``source`` (looped) and watch memory.

    Non-realtime (every frame processed, as fast as it runs), headless, with EMA smoothing, events
    for every class and a JSON-lines sink writing to ``os.devnull`` (each result serialised). The
    reported latency includes waiting in the full capture queue (the capture thread runs ahead);
    :func:`pipeline_latency` is the live figure.

    Args:
        model: streaming model (registry name, ``.pt`` / ``.onnx``, or module); a crop classifier file works too.
        source: video file or folder of frames, played again from the start when it ends.
        minutes: stream time to cover at ``fps`` (a 30-minute soak is 28,800 frames at 16 fps).
        fps: source frame rate (sets the frame count and timestamps).
        threads: torch / ONNX Runtime CPU threads (restored afterwards).
        every: frames between RSS samples (default: about 400 samples over the run).
        out: folder for ``soak.json`` and ``soak_rss.png`` (RSS vs frame, warm-up marked).
        progress: progress bar (default: when stderr is a terminal).
        max_slope: MB per 1000 frames after warm-up below which memory counts as flat.
        warmup: fraction of the RSS samples ignored at the start (allocator, kernel and cache warm-up).
        input_size: (H, W) override for a registry name.
        threshold: event threshold (default ``1 / number of classes``, so that events start and end
            even with untrained weights and the event log is exercised).

    Returns:
        ``frames, loops, seconds, fps, latency_ms_median, latency_ms_p95``, ``rss_start_mb``,
        ``rss_after_warmup_mb``, ``rss_end_mb``, ``rss_max_mb``, ``slope_mb_per_1k_frames``, ``flat``,
        ``structures`` (max length and bound of each bounded structure), ``bounded``, ``events``,
        ``samples`` (``frame``, ``rss_mb``) and, with ``out``, ``json`` and ``plot`` paths.

    Raises:
        FileNotFoundError: missing source or model.
        ValueError: a registered model that is not a streaming model, or a source that cannot be looped.
    """
    frames = int(round(minutes * 60 * fps))
    if frames < 3:
        raise ValueError(f"soak of {minutes} min at {fps} fps is {frames} frames: need at least 3")
    every = every or max(1, frames // 400)
    rss_before = rss_mb()
    model = _stream_model(model, input_size)
    with _torch_threads(threads):
        name = getattr(model, "model_name", None) or (str(model) if isinstance(model, (str, Path)) else type(model).__name__)
        src = _open_loop(source, fps)
        try:
            runner = load_runner(model, threads=threads)
            s = Stream(runner, src, realtime=False, max_frames=frames, smooth="ema", window=5, jsonl=os.devnull, model_fps=0,
                       threshold=threshold if threshold is not None else 1.0 / len(runner.class_names))
        except BaseException:
            src.close()
            raise
        probe, lat, seen, n = _drive(s, frames, every, warmup, max_slope, progress)
    rep, st, structures = probe.report(), s.stats, _structures(s, seen)
    done = lat[:n]
    k = int(len(probe.rss) * warmup)
    res = {"model": name, "source": str(source), "minutes": minutes, "fps_source": fps, "threads": threads,
           "frames": n, "loops": src.loops, "seconds": st["seconds"], "fps": st["fps"],
           "latency_ms_median": float(np.median(done)) if n else float("nan"),
           "latency_ms_p95": float(np.percentile(done, 95)) if n else float("nan"),
           "rss_before_model_mb": rss_before, "rss_start_mb": rep.get("start_mb", float("nan")),
           "rss_after_warmup_mb": rep.get("after_warmup_mb", float("nan")), "rss_end_mb": rep.get("end_mb", float("nan")),
           "rss_max_mb": rep.get("peak_mb", float("nan")), "slope_mb_per_1k_frames": rep["slope_mb_per_1k_steps"],
           "max_slope_mb_per_1k_frames": max_slope, "flat": rep["flat"], "warmup_frames": probe.steps[k] if probe.steps else 0,
           "rss_every": every, "structures": structures,
           "bounded": all(v["bound"] is None or v["max_len"] <= v["bound"] for v in structures.values()),
           "events": st["events"], "dropped": st["dropped_capture"] + st["dropped_output"],
           "samples": {"frame": list(probe.steps), "rss_mb": [round(v, 3) for v in probe.rss]}}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        res["plot"] = str(plot_rss(res, out / "soak_rss.png"))
        res["json"] = str(out / "soak.json")
        write_json(res, out / "soak.json")
    return res


def plot_rss(res: dict[str, Any], path: str | Path) -> Path:
    """RSS vs frame of a :func:`soak` result, warm-up shaded, with the fitted slope after it."""
    from ..engine.plots import new_figure, save_figure

    x, y = np.asarray(res["samples"]["frame"], float), np.asarray(res["samples"]["rss_mb"], float)
    fig, ax = new_figure((7, 3.5))
    ax.plot(x, y, lw=1.2, color="tab:blue", label="RSS")
    w = res["warmup_frames"]
    ax.axvspan(x[0] if len(x) else 0, w, color="0.85", label="warm-up")
    after = x >= w
    if after.sum() >= 2 and math.isfinite(res["slope_mb_per_1k_frames"]):
        b = np.polyfit(x[after], y[after], 1)
        ax.plot(x[after], np.polyval(b, x[after]), "--", color="tab:red",
                label=f"{res['slope_mb_per_1k_frames']:+.3f} MB / 1k frames ({'flat' if res['flat'] else 'growing'})")
    ax.set_xlabel("frame")
    ax.set_ylabel("RSS (MiB)")
    ax.set_title(f"soak: {res['model']}, {res['frames']} frames, {res['threads']} thread(s)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


def write_json(res: dict[str, Any], path: str | Path) -> Path:
    """``res`` as indented JSON, written atomically (NaN written as null)."""
    from ..utils.io import atomic_write_json

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v.item() if isinstance(v, np.generic) else v

    atomic_write_json(path, clean(res), indent=1)
    return Path(path)


def pipeline_latency(model: Any, source: str | Path, fps: float = 16, seconds: float = 20.0, threads: int = 1,
                     input_size: tuple[int, int] | None = None, queue_size: int = 4) -> dict[str, Any]:
    """End-to-end latency of the real pipeline in realtime mode over a (looped) file.

    Capture is paced to ``fps`` and both queues drop the oldest frame when inference falls behind,
    as with a camera; every captured frame steps the model (no ``model_fps`` skipping).

    Args:
        model: as for :func:`soak`.
        source: video file or folder of frames (looped when shorter than ``seconds``).
        fps: capture rate.
        seconds: stream time to run.
        threads: torch / ONNX Runtime CPU threads.
        input_size: (H, W) override for a registry name.
        queue_size: capture queue bound.

    Returns:
        ``latency_ms_median``, ``latency_ms_p95`` (capture -> label), ``fps`` (labels per second
        achieved), ``fps_source``, ``frames_read``, ``frames_out``, ``dropped`` (capture + output), ``seconds``.
    """
    frames = max(1, int(round(seconds * fps)))
    model = _stream_model(model, input_size)
    with _torch_threads(threads):
        src = _open_loop(source, fps)
        try:
            s = Stream(model, src, realtime=True, max_frames=frames, threads=threads, smooth="ema", window=5,
                       jsonl=os.devnull, model_fps=0, queue_size=queue_size)
        except BaseException:
            src.close()
            raise
        st = s.run()
    return {"fps_source": fps, "threads": threads, "frames_read": st["frames_read"], "frames_out": st["frames_out"],
            "dropped": st["dropped_capture"] + st["dropped_output"], "dropped_capture": st["dropped_capture"],
            "dropped_output": st["dropped_output"], "seconds": st["seconds"], "fps": st["fps"],
            "latency_ms_median": st["latency_ms_median"], "latency_ms_p95": st["latency_ms_p95"]}


def soak_bench(model: str | Path, source: str | Path | None = None, minutes: float = 30.0, out: str | Path | None = None,
               fps: float = 16, threads: int = 1, latency_seconds: float = 20.0,
               input_size: tuple[int, int] | None = None, progress: bool | None = None) -> dict[str, Any]:
    """``actkit bench --soak``: :func:`soak`, then :func:`pipeline_latency`, into ``<out>/soak.json``.

    Args:
        model: streaming model (registry name such as ``stream_fast_s``, ``.pt`` or ``.onnx``).
        source: video file or frame folder; None renders a 20 s synthetic stream into ``<out>/video``
            (``actkit.data.synth.streams.render_streams``, one process).
        minutes: soak length in stream time at ``fps``.
        out: output folder (default ``runs/soak``).
        fps: source frame rate.
        threads: CPU threads of both runs.
        latency_seconds: length of the realtime run (0: skip it).
        input_size: (H, W) override for a registry name.
        progress: progress bars (default: when stderr is a terminal).

    Returns:
        The :func:`soak` result with ``pipeline`` (the :func:`pipeline_latency` result) added.
    """
    out = Path(out or "runs/soak")
    if source is not None and not Path(source).exists():
        raise FileNotFoundError(f"source not found: {source} (a video file or folder of frames; omit --source to render one)")
    model = _stream_model(model, input_size)  # refuse a non-streaming model before rendering anything
    if source is None:
        from ..data.synth.streams import render_streams

        t0 = time.perf_counter()
        render_streams(out / "video", videos=1, seconds=(20.0, 20.0), size=128, fps=int(fps), workers=1, progress=progress)
        source = out / "video" / "videos" / "stream_000.mp4"
        log.info("rendered %s in %.0f s", source, time.perf_counter() - t0)
    res = soak(model, source, minutes=minutes, fps=fps, threads=threads, out=None, progress=progress)
    if latency_seconds:
        res["pipeline"] = pipeline_latency(model, source, fps=fps, seconds=latency_seconds, threads=threads)
    out.mkdir(parents=True, exist_ok=True)
    res["plot"] = str(plot_rss(res, out / "soak_rss.png"))
    res["json"] = str(out / "soak.json")
    write_json(res, out / "soak.json")
    return res


def format_soak(res: dict[str, Any]) -> str:
    """A few lines summarising a :func:`soak` / :func:`soak_bench` result."""
    lines = [f"soak {res['model']} on {res['source']}: {res['frames']} frames ({res['loops']} loops) in {res['seconds']:.0f} s "
             f"= {res['fps']:.1f} frames/s on {res['threads']} thread(s); latency median {res['latency_ms_median']:.1f} ms, "
             f"p95 {res['latency_ms_p95']:.1f} ms",
             f"RSS {res['rss_start_mb']:.0f} -> {res['rss_after_warmup_mb']:.0f} (after warm-up) -> {res['rss_end_mb']:.0f} MiB, "
             f"max {res['rss_max_mb']:.0f}; slope {res['slope_mb_per_1k_frames']:+.3f} MB / 1k frames "
             f"(bound {res['max_slope_mb_per_1k_frames']}): {'flat' if res['flat'] else 'GROWING'}; bounded structures "
             + ("ok" if res["bounded"] else "EXCEEDED: " + ", ".join(
                 k for k, v in res["structures"].items() if v["bound"] is not None and v["max_len"] > v["bound"]))]
    p = res.get("pipeline")
    if p:
        lines.append(f"realtime {p['fps_source']:g} fps: latency median {p['latency_ms_median']:.1f} ms, p95 "
                     f"{p['latency_ms_p95']:.1f} ms; {p['fps']:.1f} labels/s; dropped {p['dropped']} of {p['frames_read']}")
    if "json" in res:
        lines.append(f"-> {res['json']}, {res['plot']}")
    return "\n".join(lines)
