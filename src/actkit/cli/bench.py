"""`actkit bench`: models side by side (latency, throughput, streaming, soak, decoding, training)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import batch_sizes, names, size, verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "bench", run, "latency and throughput of several models side by side (ONNX Runtime); --stream, --soak, --decode, --train")
    sp.add_argument("--models", help="comma-separated registry names, .pt or .onnx files")
    sp.add_argument("--input", type=size, help="input HxW for registry names, e.g. 32x24")
    sp.add_argument("--iters", type=int, default=2000, help="batch-1 calls per model and thread setting")
    sp.add_argument("--batch", type=batch_sizes, default=None,
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
    sp.add_argument("--perception", action="store_true", help="the keypoint front-end: ms per person for body, hands "
                    "and face (1 thread) on the sample photos, and people recall / frames per second of each "
                    "--detectors on the sample plaza video (2 threads)")
    sp.add_argument("--reference-python", help="--perception: a Python with mediapipe==0.10.21 installed; its own "
                    "solutions are timed on the same photos in the same run")
    sp.add_argument("--parity", nargs="?", const="tests/data/mediapipe_reference.json", metavar="REFERENCE_JSON",
                    help="--perception: only the landmark errors against MediaPipe's reference outputs (default "
                    "tests/data/mediapipe_reference.json of a source checkout; benchmarks/parity.sh writes it)")
    sp.add_argument("--posture-rule", metavar="POSTURES_PARQUET", help="--perception: only the geometric posture "
                    "rule's coverage and accuracy on the test split of a postures crop set (`actkit synth postures`)")
    sp.add_argument("--two-stream", metavar="IMAGE_DATA", help="--perception: only what BlazePose keypoints add "
                    "to an image model (--models: its checkpoint or ONNX) trained on IMAGE_DATA with --task image")
    sp.add_argument("--posture-footage", metavar="MODEL", help="--perception: only a skeleton posture model on "
                    "everyone in --source (default: the sample plaza video): the share of person-frames per posture")
    sp.add_argument("--pose-errors", nargs=2, metavar=("REPS", "KEYPOINTS"), help="--perception: only BlazePose's "
                    "errors on rendered people against the true joints (a folder of actkit synth reps and its keypoint "
                    "set from actkit keypoints REPS --dataset --out KEYPOINTS), and the noise model they imply")
    sp.add_argument("--skeleton-step", metavar="MODEL", help="--perception: only a skeleton model's cost per person "
                    "per frame on 1 thread (a shipped name such as exercises, or a .pt / .onnx), beside BlazePose's")
    sp.add_argument("--detectors", default="motion,hog,blazepose", help="--perception: detectors for the footage run "
                    "(empty: skip it)")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..bench.inference import BATCH_SIZES, bench, format_table

    if a.perception:
        return _perception(a)
    if a.decode:
        from ..bench.decode import run_decode_bench

        return run_decode_bench(a.out or "runs/decode_bench", repeats=a.repeats)
    if not a.models:
        raise ValueError("--models is required (or --decode for the video decoding benchmark)")
    if a.train:
        from ..bench.training import format_train_table, train_throughput

        models = names(a.models) or ()
        if len(models) != 1:
            raise ValueError(f"--train takes one model, got {len(models)}: {', '.join(models)}")
        if not a.data:
            raise ValueError("--train needs --data (a dataset `actkit train` takes for the model's task)")
        threads = names(a.threads) or ("0",)
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
    threads = names(a.threads) or ("1", "2")
    if not all(v.isdigit() and int(v) >= 1 for v in threads):
        raise ValueError(f"--threads takes comma-separated thread counts >= 1 such as 1,2, got {a.threads!r}")
    threads = tuple(int(v) for v in threads)
    if a.soak is not None:
        from ..bench.soak import format_soak, soak_bench

        models = names(a.models) or ()
        if len(models) != 1:
            raise ValueError(f"--soak takes one model, got {len(models)}: {', '.join(models)}")
        res = soak_bench(models[0], a.source, minutes=a.soak, out=a.out, threads=threads[0],
                         latency_seconds=a.latency_seconds, input_size=a.input)
        print(json.dumps(res, indent=2) if a.json else format_soak(res))
        return res
    if a.stream:
        from ..bench.streaming import bench_stream, format_stream_table

        res = bench_stream(list(names(a.models) or ()), threads=threads, frames=a.iters, input_size=a.input)
        print(json.dumps(res, indent=2) if a.json else format_stream_table(res))
        return res
    res = bench(list(names(a.models) or ()), a.input, iters=a.iters, batch=a.batch or BATCH_SIZES)
    print(json.dumps(res, indent=2) if a.json else format_table(res))
    return res


def _perception(a: argparse.Namespace) -> Any:
    from ..bench.perception import footage, format_perception, landmark_speed, reference_speed
    from ..perception.samples import fetch_samples

    if a.pose_errors:
        from ..bench.pose_errors import pose_errors

        res = pose_errors(*a.pose_errors)
        print(json.dumps(res, indent=2))
        return res
    if a.skeleton_step:
        from ..bench.perception import skeleton_step_speed

        res = skeleton_step_speed(a.skeleton_step, steps=max(200, a.iters))
        print(json.dumps(res, indent=2))
        return res
    if a.posture_footage:
        from ..bench.perception import posture_on_footage

        res = posture_on_footage(a.posture_footage, a.source)
        print(json.dumps(res, indent=2))
        return res
    if a.posture_rule or a.two_stream:
        from ..bench.perception import posture_rule_accuracy, two_stream

        if a.two_stream and not a.models:
            raise ValueError("--two-stream needs --models MODEL (the image model trained on that data)")
        res = posture_rule_accuracy(a.posture_rule) if a.posture_rule else two_stream(a.two_stream, a.models)
        print(json.dumps(res, indent=2))
        return res
    fetch_samples()
    if a.parity:
        import tempfile
        from pathlib import Path

        from ..bench.perception import format_parity, parity, parity_images

        with tempfile.TemporaryDirectory() as tmp:
            res = parity(json.loads(Path(a.parity).read_text()), parity_images(tmp))
        print(json.dumps(res, indent=2) if a.json else format_parity(res))
        return res
    repeats = min(a.iters, 100)
    res: dict[str, Any] = {"speed": landmark_speed(repeats)}
    if a.reference_python:
        res["reference"] = reference_speed(a.reference_python, repeats)
    detectors = names(a.detectors) or ()
    if detectors:
        res["footage"] = footage(tuple(detectors), threads=int((names(a.threads) or ("2",))[0]))
    print(json.dumps(res, indent=2) if a.json else format_perception(res))
    return res
