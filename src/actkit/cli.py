"""`actkit` command line: each verb calls one public function of the library."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

from . import __version__

log = logging.getLogger("actkit")


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected HxW such as 32x24, got {text!r}") from e
    return h, w


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes must be integers such as 16,32,64, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got {text!r}")
    return sizes


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list flag; None when not given."""
    return tuple(v for v in text.split(",") if v) if text else None


def cmd_train(a: argparse.Namespace) -> Any:
    from .config import TrainConfig, overrides_from_args, resolve
    from .engine.trainer import train

    cfg = resolve(TrainConfig, a.config, overrides_from_args(a))
    summary = train(cfg)
    test = summary.get("test") or summary["val"]
    print(f"best epoch {summary['best_epoch']}/{summary['epochs']}: {'test' if 'test' in summary else 'val'} "
          f"macro-F1 {test['macro_f1']:.4f} accuracy {test['accuracy']:.4f} -> {cfg.run.out}/summary.json")
    return summary


def cmd_eval(a: argparse.Namespace) -> Any:
    from .data.video.framelabels import stream_layout
    from .engine.evaluator import evaluate_file, format_report
    from .engine.stream_eval import evaluate_streams, format_stream_report

    if stream_layout(a.data):  # a frame-labelled streams / reps folder: score a streaming model as it runs live
        report = evaluate_streams(a.model, a.data, a.split, smooth=a.smooth, window=a.window, detector=a.detector,
                                  max_videos=a.max_videos, out=a.out, event_threshold=a.event_threshold,
                                  min_event_frames=a.min_event_frames, event_hold=a.event_hold,
                                  event_lag=a.event_lag, tune=a.tune_events,
                                  offline_window=a.offline_window, offline_hop=a.offline_hop, flip=a.flip,
                                  lowpass=a.lowpass)
        print(json.dumps(report, indent=2) if a.json else format_stream_report(report))
        return report
    if a.split == "all":
        raise ValueError("--split all is for streams / reps folders only")
    if a.lowpass:
        raise ValueError("--lowpass is for streaming models on streams / reps folders only")
    report = evaluate_file(a.model, a.data, a.split, a.out, a.threshold, format=a.format, split_index=a.split_index,
                           clips=a.clips, flip=a.flip)
    print(json.dumps(report, indent=2) if a.json else format_report(report))
    return report


def cmd_export(a: argparse.Namespace) -> Any:
    from .engine.exporter import export_onnx

    r = export_onnx(a.checkpoint, a.out, int8=a.int8, data=a.data, calib_samples=a.calib)
    print(f"{r['path']}: {r['nodes']} nodes, {r['bytes'] / 1024:.1f} KB, BatchNorm nodes {r['batchnorm_nodes']}, "
          f"torch-vs-ONNX max |diff| {r['parity_max_abs']:.2e}")
    if "int8" in r:
        q = r["int8"]
        print(f"{q['path']}: {q['bytes'] / 1024:.1f} KB, test macro-F1 {q['fp32']['macro_f1']:.4f} (fp32) -> "
              f"{q['int8']['macro_f1']:.4f} (int8): {q['macro_f1_change_points']:+.2f} points on {q['test_samples']} crops")
    return r


def cmd_predict(a: argparse.Namespace) -> Any:
    from .engine.predictor import predict

    results = predict(a.source, a.model, a.boxes, a.out, a.split, a.every, a.threads, window=a.window,
                      stride=a.stride, timeline=a.timeline, annotate=a.annotate)
    for r in results[: a.show]:
        where = f"{r.source}" + (f" frame {r.frame}" if r.frame is not None else "")
        where += f"-{r.end_frame}" if r.end_frame is not None else ""
        print(f"{where}: {r.label} {r.confidence:.3f}  " + "  ".join(f"{n}={p:.3f}" for n, p in r.topk(3)))
    if len(results) > a.show:
        print(f"... {len(results) - a.show} more" + (f" (all in {a.out})" if a.out else " (use --out FILE.jsonl)"))
    return results


def cmd_stream(a: argparse.Namespace) -> Any:
    from .engine.streamer import run_stream

    stats = run_stream(a.model, a.source, print_every=a.print_every, out_video=a.out_video, jsonl=a.jsonl,
                       display=a.display, smooth=a.smooth, window=a.window, threshold=a.threshold,
                       events=_names(a.events), min_event_frames=a.min_event_frames, event_hold=a.event_hold,
                       event_lag=a.event_lag, reps=_names(a.reps),
                       rep_thresholds=tuple(a.rep_thresholds), vote=a.vote, track=a.track, detector=a.detector,
                       detector_options={"decoder": a.decoder} if a.detector.endswith(".onnx") else None,
                       realtime=a.realtime or None, fps=a.fps, queue_size=a.queue, max_frames=a.max_frames,
                       threads=a.threads, flip=a.flip, lowpass=a.lowpass)
    print(f"{stats['frames_out']} frames ({stats['frames_read']} read, dropped {stats['dropped_capture']} + "
          f"{stats['dropped_output']}) at {stats['fps']:.1f} fps; latency median {stats['latency_ms_median']:.1f} ms, "
          f"p95 {stats['latency_ms_p95']:.1f} ms; events {stats['events']}; counts {stats['counts']}")
    return stats


def cmd_bench(a: argparse.Namespace) -> Any:
    from .engine.bench import BATCH_SIZES, bench, format_table

    if a.decode:
        from .data.video.bench import run_decode_bench

        return run_decode_bench(a.out or "runs/decode_bench", repeats=a.repeats)
    if not a.models:
        raise ValueError("--models is required (or --decode for the video decoding benchmark)")
    if a.train:
        from .engine.train_bench import format_train_table, train_throughput

        models = _names(a.models) or ()
        if len(models) != 1:
            raise ValueError(f"--train takes one model, got {len(models)}: {', '.join(models)}")
        if not a.data:
            raise ValueError("--train needs --data (a dataset `actkit train` takes for the model's task)")
        threads = _names(a.threads) or ("0",)
        if not threads[0].isdigit():
            raise ValueError(f"--threads takes a thread count such as 1, got {a.threads!r}")
        over = {"model.input_size": list(a.input)} if a.input else {}
        if a.frames:
            over["model.num_frames"] = a.frames
        if a.batch and len(a.batch) > 1:
            raise ValueError(f"--train takes one batch size, got --batch {','.join(map(str, a.batch))}")
        res = train_throughput(models[0], a.data, batch=a.batch[0] if a.batch else 64, steps=a.steps, modes=a.modes, device=a.device,
                               workers=a.workers, warmup=a.warmup, compile_warmup=max(a.warmup, 8),
                               threads=int(threads[0]), overrides=over)
        print(json.dumps(res, indent=2) if a.json else format_train_table(res))
        return res
    threads = _names(a.threads) or ("1", "2")
    if not all(v.isdigit() and int(v) >= 1 for v in threads):
        raise ValueError(f"--threads takes comma-separated thread counts >= 1 such as 1,2, got {a.threads!r}")
    threads = tuple(int(v) for v in threads)
    if a.soak is not None:
        from .engine.stream_bench import format_soak, soak_bench

        models = _names(a.models) or ()
        if len(models) != 1:
            raise ValueError(f"--soak takes one model, got {len(models)}: {', '.join(models)}")
        res = soak_bench(models[0], a.source, minutes=a.soak, out=a.out, threads=threads[0],
                         latency_seconds=a.latency_seconds, input_size=a.input)
        print(json.dumps(res, indent=2) if a.json else format_soak(res))
        return res
    if a.stream:
        from .engine.stream_export import bench_stream, format_stream_table

        res = bench_stream(list(_names(a.models) or ()), threads=threads, frames=a.iters, input_size=a.input)
        print(json.dumps(res, indent=2) if a.json else format_stream_table(res))
        return res
    res = bench(list(_names(a.models) or ()), a.input, iters=a.iters, batch=a.batch or BATCH_SIZES)
    print(json.dumps(res, indent=2) if a.json else format_table(res))
    return res


def cmd_data_crops(a: argparse.Namespace) -> Any:
    from .data.crops import build_crops

    classes = _names(a.classes)
    s = build_crops(a.source, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex,
                    classes=list(classes) if classes else None, plots=not a.no_plots)
    print(f"{a.out}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in s["counts"].items()) + f"; skipped {s['n_skipped']}")
    return s


def cmd_data_resplit(a: argparse.Namespace) -> Any:
    from .data.crops import resplit

    s = resplit(a.input, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex)
    print(f"{a.out}: regrouped; {s.get('straddling_before', 0)} groups straddled splits before")
    return s


def cmd_synth_postures(a: argparse.Namespace) -> Any:
    from .data.synth.postures import render_postures

    s = render_postures(a.out, n=a.n, seed=a.seed, workers=a.workers, sheet=a.sheet)
    print(json.dumps({k: v for k, v in s.items() if k != "path"}, indent=1, default=str))
    return s


def cmd_synth_actions(a: argparse.Namespace) -> Any:
    from .data.synth.actions import render_actions

    s = render_actions(a.out, clips_per_class=a.clips_per_class, frames=a.frames, size=a.size, fps=a.fps,
                       seed=a.seed, workers=a.workers, sheet=a.sheet, classes=_names(a.classes), split_by=a.split_by)
    print(json.dumps(s, indent=1, default=str))
    return s


def cmd_synth_reps(a: argparse.Namespace) -> Any:
    from .data.synth.reps import render_reps

    s = render_reps(a.out, videos_per_exercise=a.videos_per_exercise, seconds=tuple(a.seconds), size=a.size,
                    fps=a.fps, seed=a.seed, workers=a.workers, exercises=_names(a.exercises), sheet=a.sheet)
    print(json.dumps(s, indent=1, default=str))
    return s


def cmd_synth_streams(a: argparse.Namespace) -> Any:
    from .data.synth.streams import render_streams

    s = render_streams(a.out, videos=a.videos, seconds=tuple(a.seconds), size=a.size, fps=a.fps, seed=a.seed,
                       workers=a.workers, people=tuple(a.people), sheet=a.sheet)
    print(json.dumps({k: v for k, v in s.items() if k != "vocabulary"}, indent=1, default=str))
    return s


def cmd_synth_dives(a: argparse.Namespace) -> Any:
    from .data.synth.dives import render_dives

    frames = a.frames[0] if len(a.frames) == 1 else tuple(a.frames)
    s = render_dives(a.out, videos_per_class=a.videos_per_class, frames=frames, size=a.size, fps=a.fps, seed=a.seed,
                     workers=a.workers, classes=_names(a.classes), sheet=a.sheet)
    print(json.dumps(s, indent=1, default=str))
    return s


def cmd_models(a: argparse.Namespace) -> Any:
    from .models import count_params, create_model, list_models, model_entry

    names = list_models(a.pattern)
    for n in names:
        e = model_entry(n)
        model = create_model(n)
        print(f"{n:<22}{e.family:<12}{count_params(model):>11,}  {e.doc}")
        if a.config:  # the fields `--model.args` may set
            for key, value in model.config_dict().items():
                print(f"    {key}: {json.dumps(value, default=str)}")
    return names


def cmd_demo(a: argparse.Namespace) -> Any:
    from .apps.postures import run_demo

    report = run_demo(a.out, n=a.n, epochs=a.epochs, seed=a.seed, workers=a.workers)
    print(f"demo report: {report}")
    return report


def build_parser() -> argparse.ArgumentParser:
    from .config import TrainConfig, add_config_flags

    p = argparse.ArgumentParser(prog="actkit", description="Recognise what people are doing and in what state they are.")
    p.add_argument("--version", action="version", version=f"actkit {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--debug", action="store_true", help="full tracebacks on errors")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, fn: Callable, help: str, aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        sp.set_defaults(fn=fn)
        return sp

    sp = verb("train", cmd_train, "train a crop classifier (Parquet crops) or, with --task clip, a clip classifier (videos)")
    sp.add_argument("--config", help="YAML file with sections data/model/optim/run (flags override it)")
    add_config_flags(sp, TrainConfig)

    sp = verb("eval", cmd_eval, "evaluate a .pt/.onnx model on a dataset split (metrics, calibration, threshold, plots)",
              aliases=("evaluate",))
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file")
    sp.add_argument("--data", required=True, help="Parquet crop dataset, a video dataset for clip models, or a "
                    "streams / reps folder (actkit synth) for streaming models")
    sp.add_argument("--split", default="test", choices=("train", "val", "test", "all"), help="all: streams / reps only")
    sp.add_argument("--format", default="auto", help="clip models: video dataset format (auto, folder, ucf101, hmdb51, kinetics, diving48, csv)")
    sp.add_argument("--split-index", type=int, default=1, help="clip models: official split number (UCF-101 / HMDB51)")
    sp.add_argument("--clips", type=int, default=3, help="clip models: clips per video, averaged")
    sp.add_argument("--flip", action="store_true", help="also score each clip mirrored left-right, averaged (streaming "
                    "models: every frame also run mirrored through its own state, as `actkit stream --flip`)")
    sp.add_argument("--lowpass", type=float, default=0.0, metavar="SIGMA",
                    help="streams / reps: Gaussian blur of every input frame, sigma in model-input pixels, as "
                         "`actkit stream --lowpass` (0: none)")
    sp.add_argument("--threshold", type=float, help="binary threshold (default: the model's tuned one)")
    sp.add_argument("--out", help="folder for eval_<split>.json and plots (streams / reps: stream_eval.json, "
                    "default stream_eval_<set>_<split>/ next to the model)")
    sp.add_argument("--json", action="store_true", help="print the full report as JSON")
    sp.add_argument("--smooth", default="ema", choices=("none", "mean", "ema", "hmm"),
                    help="streams / reps: causal smoothing (hmm: a sticky HMM filter, labels lasting --window frames "
                         "on average)")
    sp.add_argument("--window", type=int, default=5, help="streams / reps: smoothing window in frames")
    sp.add_argument("--detector", default="hog", help="streams / reps: person detector for multi-person videos (hog, motion, .onnx, or truth: the true boxes, to score the tracker alone)")
    sp.add_argument("--max-videos", type=int, help="streams / reps: only the first N videos of the split")
    sp.add_argument("--event-threshold", type=float, default=0.5,
                    help="streams / reps: events start when a label's probability > t, end when < t/2")
    sp.add_argument("--min-event-frames", type=int, default=4, help="streams / reps: shortest event")
    sp.add_argument("--event-hold", type=int, default=0,
                    help="streams / reps: frames a dip below t/2 must last to end an event (0: at once)")
    sp.add_argument("--event-lag", type=int, default=0, metavar="N",
                    help="streams / reps: events compensate N frames of smoothing delay (placed N frames earlier, "
                         "a start known N frames after it; per-frame labels unchanged). --tune-events tunes the "
                         "rest at this lag")
    sp.add_argument("--tune-events", action="store_true",
                    help="streams / reps: also sweep smoothing, threshold, shortest event and hold on this split "
                         "for the best event F1 (tune on val, then score test with the flags it prints)")
    sp.add_argument("--offline-window", type=int, default=0, metavar="N",
                    help="streams / reps: also score the model offline on N-frame clips centred every "
                         "--offline-hop frames, told no segment bounds (torch .pt models; 0: not run)")
    sp.add_argument("--offline-hop", type=int, default=4, help="streams / reps: frames between offline window centres")

    sp = verb("export", cmd_export, "export a checkpoint to ONNX (optionally int8)")
    sp.add_argument("checkpoint", help=".pt checkpoint")
    sp.add_argument("--format", default="onnx", choices=("onnx",))
    sp.add_argument("--out", help="output .onnx (default: beside the checkpoint)")
    sp.add_argument("--int8", action="store_true", help="also write a static int8 model calibrated on the val split")
    sp.add_argument("--data", help="Parquet for int8 calibration/check (default: the training data)")
    sp.add_argument("--calib", type=int, default=1024, help="calibration crops for int8")

    sp = verb("predict", cmd_predict, "classify an image, folder, Parquet file or video (clip models: sliding windows)")
    sp.add_argument("source", help="image, folder of images or videos, .parquet or video file")
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file")
    sp.add_argument("--boxes", help="CSV of crop boxes: image|frame,x0,y0,x1,y1 (default: the whole image)")
    sp.add_argument("--out", help="write every result as JSON lines here")
    sp.add_argument("--split", help="for Parquet sources: only this split")
    sp.add_argument("--every", type=int, default=1, help="for videos: every N-th frame")
    sp.add_argument("--threads", type=int, default=0, help="CPU threads (0: default)")
    sp.add_argument("--show", type=int, default=20, help="print at most this many results")
    sp.add_argument("--window", type=int, help="clip models: window length in frames (default: the model's clip at its fps)")
    sp.add_argument("--stride", type=int, help="clip models: frames between window starts (default: half a window)")
    sp.add_argument("--timeline", help="clip models: write the window labels and merged segments here (.json or .csv)")
    sp.add_argument("--annotate", help="clip models: write the video with label and confidence drawn (.mp4)")

    sp = verb("stream", cmd_stream, "live recognition on a camera, video file, URL or folder of frames")
    sp.add_argument("--model", required=True, help="streaming model (.pt, .onnx or registry name) or crop classifier (.pt/.onnx)")
    sp.add_argument("--source", required=True, help="camera index (0), video file, rtsp://... / http(s)://... URL, or folder of frames")
    sp.add_argument("--out-video", help="write an annotated mp4 here")
    sp.add_argument("--jsonl", help="write one JSON line per frame (labels, events, counts) plus a summary line")
    sp.add_argument("--display", action="store_true", help="show a window ('q' quits; headless OpenCV: warns, continues)")
    sp.add_argument("--smooth", choices=("mean", "ema", "hmm"),
                    help="smooth probabilities over --window frames (hmm: a causal sticky HMM filter, labels lasting "
                         "--window frames on average)")
    sp.add_argument("--window", type=int, default=5, help="smoothing window in frames")
    sp.add_argument("--threshold", "--event-threshold", type=float, default=0.5, dest="threshold",
                    help="event threshold t: start/count when p > t, end/re-arm when p < t/2 (--event-threshold: "
                         "the same, as `actkit evaluate --tune-events` prints it)")
    sp.add_argument("--events", help="comma-separated classes to detect events for (default: positive class, or all); "
                    "an exercise (squat) of a model trained on its positions (squat_high/_low) sums them")
    sp.add_argument("--min-event-frames", type=int, default=1, help="shortest event reported")
    sp.add_argument("--event-hold", type=int, default=0,
                    help="frames a dip below t/2 must last to end an event (a shorter dip continues it; 0: ends at once)")
    sp.add_argument("--event-lag", type=int, default=0, metavar="N",
                    help="events compensate N frames of smoothing delay: placed N frames earlier, each start known "
                         "N frames after it (per-frame labels unchanged; e.g. --smooth mean --window 2N+1)")
    sp.add_argument("--reps", help="two-position repetition counter: POS0,POS1 class names (e.g. up,down)")
    sp.add_argument("--rep-thresholds", type=float, nargs=2, default=(0.5, 0.5), metavar=("T0", "T1"))
    sp.add_argument("--vote", help="k-of-n vote on a binary model's positive class, e.g. 3/7,3/4")
    sp.add_argument("--track", action="store_true", help="detect and track people; classify each one")
    sp.add_argument("--detector", default="auto", help="hog, motion, auto (hog if available) or a detector .onnx (YOLO rows)")
    sp.add_argument("--decoder", default="yolo", choices=("yolo", "yolo_nobj", "boxes_scores"),
                    help="output layout of a --detector .onnx: rows of 4+1+C, rows of 4+C, or boxes + scores outputs")
    sp.add_argument("--realtime", action="store_true", help="pace files to their fps and drop the oldest frames when behind")
    sp.add_argument("--fps", type=float, help="source frame rate override (folders: default 10)")
    sp.add_argument("--queue", type=int, default=4, help="capture queue bound")
    sp.add_argument("--max-frames", type=int, help="stop after this many frames")
    sp.add_argument("--threads", type=int, default=0, help="CPU threads (0: default)")
    sp.add_argument("--flip", action="store_true", help="test-time flip: also run every frame (or track) mirrored "
                    "left-right with its own state and average the two (twice the model's work)")
    sp.add_argument("--lowpass", type=float, default=0.0, metavar="SIGMA",
                    help="streaming models: Gaussian blur of every input frame, sigma in model-input pixels (fine "
                         "textures alias less; best with a model trained with --data.blur; 0: none)")
    sp.add_argument("--print-every", type=float, default=0.0, help="print a status line every N seconds")

    sp = verb("bench", cmd_bench, "latency and throughput of several models side by side (ONNX Runtime); "
              "--stream, --soak, --decode, --train")
    sp.add_argument("--models", help="comma-separated registry names, .pt or .onnx files")
    sp.add_argument("--input", type=_size, help="input HxW for registry names, e.g. 32x24")
    sp.add_argument("--iters", type=int, default=2000, help="batch-1 calls per model and thread setting")
    sp.add_argument("--batch", type=_batch_sizes, default=None,
                    help="batch size(s) for throughput, comma-separated; the best per model is reported "
                         "(default 16,32,64,256; --train: one batch size, default 64)")
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.add_argument("--stream", action="store_true", help="streaming models (task 'stream'): per-frame step latency and max "
                    "frames/s in ONNX Runtime and torch on --threads, --iters steps each")
    sp.add_argument("--threads", help="--stream: comma-separated thread counts (default 1,2); --soak: the first one "
                    "(default 1); --train: torch CPU threads (default: torch's)")
    sp.add_argument("--soak", type=float, metavar="MINUTES", help="memory soak of one streaming model: the real pipeline over "
                    "MINUTES of looped --source at 16 fps, RSS slope after warm-up, then end-to-end realtime latency")
    sp.add_argument("--source", help="--soak: video file or frame folder (default: render a 20 s synthetic stream into --out)")
    sp.add_argument("--latency-seconds", type=float, default=20.0, help="--soak: length of the realtime latency run (0: skip)")
    sp.add_argument("--decode", action="store_true", help="video decoding: 16 frames sampled from a 60 s video (seeking) "
                    "vs decoding it whole, at several keyframe intervals")
    sp.add_argument("--out", help="--decode: folder for the generated test videos (default runs/decode_bench); --soak: folder "
                    "for soak.json and soak_rss.png (default runs/soak)")
    sp.add_argument("--repeats", type=int, default=5, help="--decode: interleaved repetitions")
    sp.add_argument("--train", action="store_true", help="training throughput of one model on --data in several "
                    "--modes (fp32, bf16, channels-last, torch.compile), interleaved, with the share of step time "
                    "spent waiting for data")
    sp.add_argument("--data", help="--train: a dataset `actkit train` takes for the model's task (video dataset, crop "
                    "Parquet, streams folder)")
    sp.add_argument("--modes", help="--train: comma-separated of fp32, fp32_cl, bf16, bf16_cl, bf16_cl_compile "
                    "(default: fp32, bf16, bf16_cl, bf16_cl_compile)")
    sp.add_argument("--steps", type=int, default=20, help="--train: timed training steps per mode, after warm-up")
    sp.add_argument("--warmup", type=int, default=3, help="--train: untimed steps per mode first (compiled modes: "
                    "at least 8)")
    sp.add_argument("--device", default="auto", help="--train: auto, cpu, cuda or cuda:N")
    sp.add_argument("--workers", type=int, default=0, help="--train: DataLoader worker processes")
    sp.add_argument("--frames", type=int, help="--train: frames per clip (default: the model's)")

    dp = sub.add_parser("data", help="build and fix crop datasets").add_subparsers(dest="data_verb", metavar="DATA_VERB", required=True)
    sp = dp.add_parser("crops", help="build a Parquet crop dataset from a class-folder tree or a CSV (path,label[,group])")
    sp.set_defaults(fn=cmd_data_crops)
    sp.add_argument("source", help="folder <root>/<class>/... or CSV")
    sp.add_argument("--out", required=True, help="output .parquet")
    sp.add_argument("--classes", help="comma-separated allowed classes (others are skipped and listed)")
    sp.add_argument("--no-plots", action="store_true", help="skip the class-ratio and size PNGs")
    for s in (sp, dp.add_parser("resplit", help="re-split a Parquet (e.g. a leaky random split) by groups")):
        if s is not sp:
            s.set_defaults(fn=cmd_data_resplit)
            s.add_argument("input", help="input .parquet")
            s.add_argument("--out", required=True, help="output .parquet")
        s.add_argument("--val", type=float, default=0.1, help="validation fraction")
        s.add_argument("--test", type=float, default=0.1, help="test fraction")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--group-regex", help="regex on the path whose first group names the group (video, person, face)")

    syp = sub.add_parser("synth", help="render synthetic labelled data from motion capture").add_subparsers(dest="synth_verb", metavar="SET", required=True)
    sp = syp.add_parser("postures", help="person crops (standing / sitting / lying) labelled from body geometry")
    sp.set_defaults(fn=cmd_synth_postures)
    sp.add_argument("--out", required=True, help="output .parquet")
    sp.add_argument("--n", type=int, default=3000, help="number of crops to render")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("actions", help="the 15 motion-capture clips as 15 action classes, as mp4 clips in UCF-101 layout")
    sp.set_defaults(fn=cmd_synth_actions)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished clips are kept)")
    sp.add_argument("--clips-per-class", type=int, default=20)
    sp.add_argument("--frames", type=int, default=32, help="frames per clip")
    sp.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--classes", help="comma-separated clip names (default: all 15)")
    sp.add_argument("--split-by", default="appearance", choices=("appearance", "timeline"),
                    help="timeline: splits also hold out a part of each motion's timeline")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("reps", help="exercise videos (squat, jumping jack, lunge, arm raise) with per-frame phase tags and true rep counts")
    sp.set_defaults(fn=cmd_synth_reps)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished videos are kept)")
    sp.add_argument("--videos-per-exercise", type=int, default=8)
    sp.add_argument("--seconds", type=float, nargs=2, default=(6.0, 12.0), metavar=("MIN", "MAX"), help="video length range")
    sp.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--exercises", help="comma-separated subset of squat,jumping_jack,lunge,arm_raise")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("streams", help="long videos chaining actions, idle and exercise sets (1-4 people) with per-frame labels, reps and boxes")
    sp.set_defaults(fn=cmd_synth_streams)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished videos are kept)")
    sp.add_argument("--videos", type=int, default=4)
    sp.add_argument("--seconds", type=float, nargs=2, default=(60.0, 120.0), metavar=("MIN", "MAX"), help="video length range")
    sp.add_argument("--people", type=int, nargs=2, default=(1, 1), metavar=("MIN", "MAX"), help="people per video")
    sp.add_argument("--size", type=int, default=160, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("dives", help="procedural dives of the 48 Diving48 classes (take-off, somersaults, twists, position) in Diving48 format")
    sp.set_defaults(fn=cmd_synth_dives)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished videos are kept)")
    sp.add_argument("--videos-per-class", type=int, default=4)
    sp.add_argument("--frames", type=int, nargs="+", default=[32, 48], metavar="N", help="frames per video, or MIN MAX drawn per video")
    sp.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=25)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--classes", help="comma-separated class indices 0-47 or dive numbers such as 5253B (default: all 48)")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = verb("models", cmd_models, "list registered models with parameter counts")
    sp.add_argument("pattern", nargs="?", default="*", help="glob, e.g. 'sc_*'")
    sp.add_argument("--config", action="store_true", help="also print each model's config fields (what `--model.args` can set)")

    sp = verb("demo", cmd_demo, "render postures, train, evaluate, export, bench and write a report")
    sp.add_argument("--out", default="runs/demo")
    sp.add_argument("--n", type=int, default=4000, help="crops to render")
    sp.add_argument("--epochs", type=int, default=30)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``actkit`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        args.fn(args)
    except (ValueError, FileNotFoundError, KeyError, ImportError, RuntimeError) as e:
        if args.debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"actkit {args.verb}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished checkpoints and files are intact", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
