"""`actkit eval` on frame-labelled synthetic sets: a streaming model scored as the live pipeline runs it.

Data: a folder written by ``actkit synth streams`` (``labels/stream_NNN.json`` + ``videos/stream_NNN.mp4``)
or ``actkit synth reps`` (``labels/<exercise>/<stem>.json`` + ``videos/<exercise>/<stem>.mp4``). A reps
video is read as one person whose label is the exercise from the first frame of its first rep to the
last frame of its last rep (as a streams exercise segment is) and ``idle`` outside.

Each video of the split is decoded once, frame by frame, in order, and every frame goes through the
model's :class:`~actkit.stream.runners.Runner` (one causal ``step`` per frame, as ``actkit stream``
does). Class names may be the label vocabulary (:data:`actkit.data.vocab.VOCABULARY`) or the
tag vocabulary (each exercise split into ``<exercise>_high`` / ``<exercise>_low``); a frame's label
probabilities are its class probabilities summed per label (``squat_high + squat_low -> squat``).

1. **Frame accuracy** (single-person videos, whole frame, no tracking). *Streaming*: the per-frame
   probabilities smoothed causally (``smooth`` over ``window`` frames), argmax label; *raw*: the same
   without smoothing. *Offline*: the same model run on each ground-truth segment alone (state reset at
   its first frame, all its frames), its clip prediction ``softmax(mean_t logits_t)`` given to every
   frame of the segment. Runners return probabilities, and ``mean_t log p_t`` differs from
   ``mean_t logits_t`` by a constant per class vector, so the clip prediction is computed exactly from
   them. Reported over all frames and over frames whose truth is not ``transition``, with the gap
   offline - streaming in points. Told where every segment starts and ends, this offline run is an
   oracle; ``offline_window`` adds one that is told nothing: *offline windows*, every ``hop`` frames
   the model run alone (state reset) on the ``offline_window`` frames centred there (shifted inside
   the video at its ends), its clip prediction given to the ``hop`` frames from the centre on. It sees
   half a window of the future, which no live model can (torch streaming models only).
2. **Events**: true events are the ``mocap`` and ``exercise`` segments; predicted events are what the live
   pipeline reports: per label other than idle / transition, a :class:`~.postprocess.Hysteresis` on its
   smoothed probability (on above ``event_threshold``, off below half of it, at least ``min_event_frames``
   long; a tag model's label probability is its tags' sum); matched one-to-one per label at temporal
   IoU >= ``event_iou`` (:func:`~.metrics.match_events`).
3. **Repetitions** (tag models only): each exercise segment of a stream, and each whole reps video, runs
   one (relative) :class:`~.postprocess.RepetitionCounter` per exercise (position 0 ``<ex>_high``, position 1
   ``<ex>_low``) on the smoothed probabilities of its frames, all counters reset at its first frame (so
   the *segment bounds come from the truth*: this scores counting, not set detection). The predicted
   count is the counter of the *predicted* exercise: the exercise most frames of the span were labelled
   with (0 when none was).
4. **Multi-person** (videos with several people): person detection + :class:`~.tracking.IoUTracker` per
   frame, the model run on each track's box with its own state; identity switches per 100 frames
   against the true boxes (:func:`~.metrics.id_switches`), and the smoothed label of each track
   matched to a true person (IoU >= 0.5) against that person's label. These videos are not in 1-3.

Videos that cannot be decoded, or decode to fewer frames than labelled, are skipped and listed.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config.stream import StreamConfig
from ..data.video.framelabels import Video, read_labelled_videos
from .replay import StreamClasses, Unreadable, replay_multi, replay_single, stream_runner
from .report import write_plots
from .runners import set_lowpass
from .step import post_options
from .tune import accuracy_scores, event_scores, rep_scores, tune_events

log = logging.getLogger(__name__)

LAYOUTS = ("streams", "reps")
SPLITS = ("train", "val", "test", "all")


# --------------------------------------------------------------------------- data

def read_stream_set(root: str | Path, split: str = "test", keypoints: bool = False) -> tuple[str, list[Video]]:
    """The layout and the videos of one split (``all``: every split) of a streams or reps folder, by name.

    Raises:
        ValueError: no label JSON, an unknown or empty split, a malformed label file or a missing video.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"{root}: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    layout, every = read_labelled_videos(root)
    videos = [v for v in every if split in ("all", v.split)]
    if not videos:
        raise ValueError(f"{root}: no videos in the {split!r} split (splits here: {dict(Counter(v.split for v in every))})")
    for v in videos:
        if keypoints and v.keypoints is None:
            raise ValueError(f"{root}: {v.name} has no keypoints file (keypoints/<name>.parquet); a keypoint model on "
                             "videos runs behind a pose model (actkit evaluate sets that up)")
        if not keypoints and not v.path.is_file():
            raise ValueError(f"{root}: video {v.path} of {v.name} is missing")
    return layout, sorted(videos, key=lambda v: str(v.path))


def evaluate_streams(model: Any, root: str | Path, split: str = "test", config: StreamConfig | None = None, *,
                     event_iou: float = 0.5, track_iou: float = 0.5, tune_grid: dict[str, Sequence[Any]] | None = None,
                     rep_relative: bool = True, offline: bool = True, plots: bool = True, device: str = "cpu",
                     out: str | Path | None = None, progress: bool | None = None, **options: Any) -> dict[str, Any]:
    """Score a streaming model on a frame-labelled streams or reps folder (see the module docstring).

    Args:
        model: ``.pt`` / ``.onnx`` streaming model, a loaded module with ``init_state`` / ``step`` (its
            ``class_names`` attribute names the classes), or a runner (``class_names``,
            ``__call__(rgb, boxes, keys)``, ``forget(keys)``).
        root: folder written by ``actkit synth streams`` or ``actkit synth reps``.
        split: ``train``, ``val``, ``test`` or ``all``.
        config: the live options (:class:`~actkit.config.StreamConfig`; default: ``actkit stream``'s):
            smoothing, the event rule (``event_threshold``, ``min_event_frames``, ``event_hold``,
            ``event_lag``: events placed that many frames earlier, each start known that many frames after
            it), ``rep_thresholds``, ``detector`` for multi-person videos (also ``truth``: the true visible
            boxes, to measure the tracker alone), ``flip``, ``lowpass``, and the evaluation's own
            ``max_videos``, ``tune_events`` (also sweep the event post-processing on this split,
            :func:`~.tune.tune_events`, report key ``event_tuning``: tune on val, then score test with its
            rule; the sweep keeps ``event_lag`` unless ``tune_grid`` sweeps it), ``offline_window`` and
            ``offline_hop`` (the model also run on clips of ``offline_window`` frames centred every
            ``offline_hop`` frames, told nothing of the segments; torch streaming models only).
        event_iou: temporal IoU for an event match.
        track_iou: box IoU for matching tracks to true people.
        tune_grid: values to sweep per parameter, over :data:`~.tune.EVENT_GRID`'s defaults.
        rep_relative: the counters follow the two positions divided by their sum (the default), or each
            position's own probability (see :class:`~.postprocess.RepetitionCounter`).
        offline: also run each true segment as a clip (doubles the model's work).
        plots: write timeline and confusion plots with the JSON.
        device: torch device.
        out: folder for ``stream_eval.json`` and plots (default: ``stream_eval_<set>_<split>/`` next to a
            model file; nothing is written for a model object without ``out``).
        progress: show a progress bar (default: when stderr is a terminal).
        **options: fields of ``config`` to replace (``smooth=None`` means none; ``tune`` is ``tune_events``).

    Returns:
        The report (also in ``<out>/stream_eval.json``).

    Raises:
        ValueError: no label JSON, an unknown or empty split, a missing video, a bad option, or a model
            whose classes match neither vocabulary.
    """
    from ..utils.io import atomic_write_json

    cfg = StreamConfig.of(config, **options)
    post_options([], cfg)  # a bad event rule fails before any work
    name = str(model) if isinstance(model, (str, Path)) else type(model).__name__
    runner, cls, layout, videos = _model_and_data(model, name, root, split, cfg, device)
    if out is None and isinstance(model, (str, Path)) and Path(model).is_file():
        out = Path(model).parent / f"stream_eval_{Path(root).resolve().name}_{split}"
    single, results, multi, skipped = _run_videos(videos, runner, cls, cfg, offline, rep_relative, track_iou,
                                                  f"eval {Path(root).name}", progress)
    report: dict[str, Any] = {
        "model": name, "data": str(root),
        "layout": layout, "split": split, "videos": len(single) + len(multi), "single_person_videos": len(single),
        "multi_person_videos": len(multi), "frames": sum(v.frames for v in single) + sum(m["frames"] for m in multi),
        "classes": cls.names, "class_vocabulary": "tags" if cls.reps else "labels",
        "options": _options(cfg, event_iou, rep_relative, offline, track_iou),
        "skipped": skipped,
    }
    if single:
        report.update(_single_scores(single, results, cls, cfg, offline, event_iou, tune_grid))
    if multi:
        report["multi_person"] = _multi_scores(multi)
    report = _finite(report)
    if out is not None:
        out = Path(out)
        if plots and single:
            report["plots"] = write_plots(out, single, results, cls, report["frame_accuracy"])
        atomic_write_json(out / "stream_eval.json", report)
        report["out"] = str(out)
    return report


def _model_and_data(model: Any, name: str, root: str | Path, split: str, cfg: StreamConfig,
                    device: str) -> tuple[Any, StreamClasses, str, list[Video]]:
    """The runner, its classes, and the layout and videos of the split (keypoint files for a keypoint model);
    an error when none of the model's labels is in the data."""
    runner = stream_runner(model, device)
    layout, videos = read_stream_set(root, split, getattr(runner, "inputs", "rgb") == "keypoints")
    videos = videos[:cfg.max_videos] if cfg.max_videos else videos
    if cfg.lowpass:
        set_lowpass(runner, cfg.lowpass, name)
    cls = StreamClasses.of(runner.class_names, name)
    truth = {n for v in videos for p in v.people for n in p.labels}
    if not truth & set(cls.labels):
        raise ValueError(f"{name}: its labels {cls.labels[:8]} match neither the labels of {root} "
                         f"({sorted(truth)[:8]}) nor their tags: the model and the data disagree")
    return runner, cls, layout, videos


def _options(cfg: StreamConfig, event_iou: float, rep_relative: bool, offline: bool, track_iou: float) -> dict[str, Any]:
    return {"smooth": cfg.smooth or "none", "window": cfg.window, "min_event_frames": cfg.min_event_frames,
            "event_threshold": cfg.event_threshold, "event_hold": cfg.event_hold, "event_lag": cfg.event_lag,
            "event_iou": event_iou, "rep_thresholds": list(cfg.rep_thresholds), "rep_relative": rep_relative,
            "offline": offline, "offline_window": cfg.offline_window, "offline_hop": cfg.offline_hop,
            "flip": cfg.flip, "lowpass": cfg.lowpass,
            "detector": cfg.detector if isinstance(cfg.detector, str) else type(cfg.detector).__name__,
            "track_iou": track_iou}


def _run_videos(videos: list[Video], runner: Any, cls: StreamClasses, cfg: StreamConfig, offline: bool,
                rep_relative: bool, track_iou: float, desc: str, progress: bool | None) -> tuple[list, list, list, list]:
    """Every video through the pipeline: one-person videos on the whole frame, others tracked; the
    unreadable ones skipped and listed."""
    from ..utils.progress import progress as bar_of
    from .runners import FlipRunner

    smooth = None if cfg.smooth == "none" else cfg.smooth
    single, results, multi, skipped = [], [], [], []
    with bar_of(total=sum(v.frames for v in videos), desc=desc, unit="frame", enable=progress) as bar:
        for v in videos:
            try:
                if len(v.people) == 1:
                    results.append(replay_single(v, runner, cls, smooth, cfg.window, offline,
                                                 tuple(cfg.rep_thresholds), bar, rep_relative, cfg.offline_window,
                                                 cfg.offline_hop, cfg.flip))
                    single.append(v)
                else:
                    multi.append(replay_multi(v, FlipRunner(runner) if cfg.flip else runner, cls, smooth,
                                              cfg.window, cfg.detector, track_iou, bar))
            except Unreadable as e:
                log.warning("%s: skipped (%s)", v.path, e)
                skipped.append({"path": str(v.path), "reason": str(e)})
    return single, results, multi, skipped


def _single_scores(single: list[Video], results: list[Any], cls: StreamClasses, cfg: StreamConfig, offline: bool,
                   event_iou: float, tune_grid: dict[str, Sequence[Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"frame_accuracy": accuracy_scores(results, offline)}
    out["events"] = event_scores(single, [r.label_probs for r in results], cls.labels, cfg.event_threshold,
                                 cfg.min_event_frames, event_iou, cfg.event_hold, cfg.event_lag)
    if cfg.tune_events:
        out["event_tuning"] = tune_events(single, results, cls, event_iou,
                                          {"event_lag": (cfg.event_lag,), **(tune_grid or {})})
    out["reps"] = rep_scores([x for r in results for x in r.reps], cls)
    out["per_video"] = [{"video": v.name, "frames": v.frames, **accuracy_scores([r], offline)}
                        for v, r in zip(single, results)]
    return out


def _multi_scores(multi: list[dict[str, Any]]) -> dict[str, Any]:
    n_true = sum(m["true_person_frames"] for m in multi)
    matched = sum(m["matched_person_frames"] for m in multi)
    frames, switches = sum(m["frames"] for m in multi), sum(m["id_switches"] for m in multi)
    return {"videos": len(multi), "frames": frames, "id_switches": switches,
            "id_switches_per_100_frames": 100.0 * switches / max(1, frames),
            "track_accuracy": sum(m["correct"] for m in multi) / matched if matched else None,
            "coverage": matched / n_true if n_true else None, "per_video": multi}


def _finite(x: Any) -> Any:
    """NaN / inf -> None, so the JSON is standard."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


