"""``actkit custom bench``: how well and how fast a custom classifier learns from few videos.

On one project and one extractor: the cost of caching features (and, keypoints given, of the extractor alone),
then for each number of training videos per class (the first N of each class) and with and without the
``background`` class, a head trained from the same cached features: its validation accuracy per video, its
training time, and, given rendered stream videos with per-frame truth (``actkit synth streams``), the events
it fires per minute of their ``idle`` frames under ``actkit stream``'s default event rule (p > 0.5).
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .features import Extractor, bottom_input, load_extractor, video_inputs
from .project import BACKGROUND, Project, ProjectVideo, load_project
from .train import CustomConfig, fit, gather, label_names


def extractor_speed(project: Project, ext: Extractor, videos: Sequence[ProjectVideo], repeats: int = 3) -> dict:
    """Frames per second of the extractor alone on one thread: keypoints given (skeleton: normalising and the
    network), or decoded frames given (pixel: resizing and the network)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        inputs = [video_inputs(project, v, ext)["data"] for v in videos]
        trunk, frames, best = ext.trunk(0), sum(len(x) for x in inputs), float("inf")
        with torch.inference_mode():
            for _ in range(repeats):
                t0 = time.perf_counter()
                for x in inputs:
                    trunk.bottom(bottom_input(ext, x))
                best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return {"frames": frames, "frames_per_s_per_core": round(frames / best, 1),
            "given": "decoded frames" if ext.kind == "pixel" else "keypoints"}


def subset(samples: list[dict], names_from: list[str], names: list[str], per_class: int | None) -> list[dict]:
    """The first ``per_class`` samples of each label in ``names`` (all with None), targets renumbered."""
    seen: dict[str, int] = {}
    out = []
    for s in samples:
        label = s["video"].label
        if label not in names or (per_class is not None and seen.get(label, 0) >= per_class):
            continue
        seen[label] = seen.get(label, 0) + 1
        remap = np.array([names.index(n) if n in names else -1 for n in names_from])
        out.append({**s, "target": remap[s["target"]]})
    return out


def idle_events(project: Project, ext: Extractor, trunk: Any, head: torch.nn.Module, names: list[str],
                streams: list[Any]) -> dict[str, float]:
    """Events of the non-background labels that start on ``idle`` frames of rendered streams, per idle minute
    (``actkit stream``'s default rule: an event while p > 0.5, no smoothing)."""
    from ..streaming.postprocess import detect_events

    false, idle_frames, idle_minutes = 0, 0, 0.0
    for v in streams:
        src = video_inputs(project, ProjectVideo("idle", "streams", Path(v.path)), ext)
        index = src["index"]
        with torch.inference_mode():
            p = torch.softmax(head(trunk.top(trunk.bottom(bottom_input(ext, src["data"]))[None])[0]), -1).numpy()
        idle = np.array([v.people[0].labels[min(i, v.frames - 1)] == "idle" for i in index])
        idle_frames += int(idle.sum())
        idle_minutes += float(idle.sum()) / ext.fps / 60
        for c, name in enumerate(names):
            if name != BACKGROUND:
                false += sum(bool(idle[e.start_frame]) for e in detect_events(p[:, c], on=0.5))
    return {"idle_minutes": round(idle_minutes, 2), "false_events": false,
            "false_events_per_min": round(false / idle_minutes, 2) if idle_minutes else float("nan")}


def bench_custom(project: str | Path, extractor: str = "exercises", videos: Sequence[int] = (2, 3, 5),
                 epochs: int = 60, streams: str | Path | None = None, seed: int = 0, threads: int = 1,
                 progress: bool = False) -> dict[str, Any]:
    """See the module docstring. ``streams``: a folder of ``actkit synth streams`` videos for the idle figure."""
    torch.set_num_threads(threads)
    proj = load_project(project)
    ext = load_extractor(extractor)
    names_all = label_names(proj, False)
    t0 = time.perf_counter()
    train, skipped = gather(proj, ext, "train", names_all, False, 0, True, threads)
    valid, skipped_v = gather(proj, ext, "valid", names_all, False, 0, False, threads)
    caching = time.perf_counter() - t0
    speed = extractor_speed(proj, ext, [s["video"] for s in train[:6]])
    stream_videos = []
    if streams is not None:
        if ext.kind == "hands":
            raise ValueError("the idle figure needs a body or pixel extractor (the streams show no hands)")
        from ..data.video.framelabels import read_labelled_videos

        stream_videos = read_labelled_videos(streams)[1]
    cfg = CustomConfig(extractor=extractor, epochs=epochs, seed=seed, flip=True)  # motions that mean the same mirrored
    rows = []
    for with_bg in ([True, False] if BACKGROUND in names_all else [False]):
        names = names_all if with_bg else [n for n in names_all if n != BACKGROUND]
        for k in videos:
            trunk = ext.trunk(0)
            head = torch.nn.Linear(trunk.head.in_features, len(names))
            tr, va = subset(train, names_all, names, k), subset(valid, names_all, names, None)
            t1 = time.perf_counter()
            _, best = fit(trunk, head, tr, va, names, replace(cfg), False)
            row = {"background": with_bg, "videos_per_class": k, "train_videos": len(tr), "valid_videos": len(va),
                   "accuracy": round(best["accuracy"], 4), "frame_accuracy": round(best["frame_accuracy"], 4),
                   "head_seconds": round(time.perf_counter() - t1, 2)}
            if stream_videos:
                row.update(idle_events(proj, ext, trunk, head, names, stream_videos))
            rows.append(row)
            if progress:
                print(row, flush=True)
    return {"project": str(proj.root), "extractor": {"name": extractor, "kind": ext.kind, "sha256": ext.sha},
            "labels": names_all, "epochs": epochs, "seed": seed, "threads": threads,
            "caching_seconds": round(caching, 2), "extractor_speed": speed, "skipped": skipped + skipped_v,
            "results": rows}
