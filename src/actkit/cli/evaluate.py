"""`actkit eval`: a model on a dataset split: crops, clips, or a streaming model run as it runs live."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..config import StreamConfig, add_dataclass_flags

    sp = verb(sub, "eval", run, "evaluate a .pt/.onnx model on a dataset split (metrics, calibration, threshold, "
              "plots); on a streams / reps folder, a streaming model as `actkit stream` runs it", aliases=("evaluate",))
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file; on streams / reps folders also a "
                    "shipped skeleton model (posture, exercises), run on keypoints or behind the pose model")
    sp.add_argument("--data", required=True, help="Parquet crop dataset, a video dataset for clip models, or a "
                    "streams / reps folder (actkit synth) for streaming models")
    sp.add_argument("--split", default="test", choices=("train", "val", "test", "all"), help="all: streams / reps only")
    sp.add_argument("--format", default="auto", help="clip models: video dataset format (auto, folder, ucf101, "
                    "hmdb51, kinetics, diving48, csv)")
    sp.add_argument("--split-index", type=int, default=1, help="clip models: official split number (UCF-101 / HMDB51)")
    sp.add_argument("--clips", type=int, default=3, help="clip models: clips per video, averaged")
    sp.add_argument("--threshold", type=float, help="crop models: binary threshold (default: the model's tuned one)")
    sp.add_argument("--out", help="folder for eval_<split>.json and plots (streams / reps: stream_eval.json, "
                    "default stream_eval_<set>_<split>/ next to the model)")
    sp.add_argument("--json", action="store_true", help="print the full report as JSON")
    live = sp.add_argument_group("streams / reps folders: the live pipeline's options, as `actkit stream` takes them")
    add_dataclass_flags(live, StreamConfig, "eval")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..config import StreamConfig, dataclass_from_args
    from ..data.video.framelabels import stream_layout
    from ..engine.evaluator import evaluate_file, format_report

    if stream_layout(a.data):  # a frame-labelled streams / reps folder: score a streaming model as it runs live
        from ..streaming.evaluate import evaluate_streams
        from ..streaming.report import format_stream_report

        from ..data.video.framelabels import is_keypoint_set
        from ..perception.live import live_model

        # a skeleton model reads a keypoint set's keypoints, or runs behind the pose model on videos
        model = a.model if is_keypoint_set(a.data) else live_model(a.model)
        out = a.out or (None if Path(a.model).is_file() else f"stream_eval_{Path(a.data).resolve().name}_{a.split}")
        # behind the pose model, the offline oracle would run the pose model a second time per frame: left out
        report = evaluate_streams(model, a.data, a.split, dataclass_from_args(StreamConfig, a), out=out,
                                  offline=model is a.model)
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
