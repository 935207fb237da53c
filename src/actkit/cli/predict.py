"""`actkit predict`: an image, folder, Parquet file or video through a model."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "predict", run, "classify an image, folder, Parquet file or video (clip models: sliding windows)")
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
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..engine.predictor import predict

    results = predict(a.source, a.model, a.boxes, a.out, a.split, a.every, a.threads, window=a.window,
                      stride=a.stride, timeline=a.timeline, annotate=a.annotate)
    for r in results[: a.show]:
        where = f"{r.source}" + (f" frame {r.frame}" if r.frame is not None else "")
        where += f"-{r.end_frame}" if r.end_frame is not None else ""
        print(f"{where}: {r.label} {r.confidence:.3f}  " + "  ".join(f"{n}={p:.3f}" for n, p in r.topk(3)))
    if len(results) > a.show:
        print(f"... {len(results) - a.show} more" + (f" (all in {a.out})" if a.out else " (use --out FILE.jsonl)"))
    return results
