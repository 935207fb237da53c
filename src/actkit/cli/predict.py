"""`actkit predict`: an image, folder, Parquet file or video through a model."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "predict", run, "classify an image, folder, Parquet file or video (clip models: sliding windows)")
    sp.add_argument("source", help="image, folder of images or videos, .parquet or video file")
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file (with --ray also a streaming or "
                    "skeleton model, a custom classifier's folder, or 'keypoints' for body keypoints per frame)")
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
    ray = sp.add_argument_group("Ray batch inference (SOURCE: a folder, a .csv / .parquet list with a path "
                                "column, or a glob; --out: a folder of Parquet files)")
    ray.add_argument("--ray", action="store_true", help="run on Ray Data: a local Ray on this machine, or --address")
    ray.add_argument("--address", help="a running Ray cluster: auto or HOST:PORT")
    ray.add_argument("--workers", type=int, default=2, help="model copies (Ray actors)")
    ray.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per actor")
    sp.add_argument("--overwrite", action="store_true", help="replace --out / --timeline / --annotate files that "
                    "exist (with --ray: an --out folder that holds files)")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..engine.predictor import predict

    if a.ray:
        from ..scale.ray_predict import ray_predict

        if not a.out:
            raise ValueError("--ray writes Parquet files: give --out FOLDER")
        r = ray_predict(a.model, a.source, a.out, a.address, a.workers, a.num_gpus, a.every, a.window, a.stride,
                        a.overwrite)
        print(f"{r['inputs']} inputs -> {r['rows']} rows in {r['out']} ({r['seconds']:.1f} s, {r['inputs_per_s']:.2f} "
              f"inputs/s, {r['workers']} workers; Ray start {r['ray_start_seconds']:.1f} s); {len(r['failed'])} failed"
              + "".join(f"\n  {f['source']}: {f['error']}" for f in r["failed"]))
        return r

    from ..utils.io import refuse_to_replace

    refuse_to_replace({"--out": a.out, "--timeline": a.timeline, "--annotate": a.annotate}, a.overwrite)
    results = predict(a.source, a.model, a.boxes, a.out, a.split, a.every, a.threads, window=a.window,
                      stride=a.stride, timeline=a.timeline, annotate=a.annotate)
    for r in results[: a.show]:
        where = f"{r.source}" + (f" frame {r.frame}" if r.frame is not None else "")
        where += f"-{r.end_frame}" if r.end_frame is not None else ""
        print(f"{where}: {r.label} {r.confidence:.3f}  " + "  ".join(f"{n}={p:.3f}" for n, p in r.topk(3)))
    if len(results) > a.show:
        print(f"... {len(results) - a.show} more" + (f" (all in {a.out})" if a.out else " (use --out FILE.jsonl)"))
    return results
