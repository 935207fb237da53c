"""`actkit stream`: live recognition on a camera, video file, URL or folder of frames."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..config import StreamConfig, add_dataclass_flags

    sp = verb(sub, "stream", run, "live recognition on a camera, video file, URL or folder of frames")
    sp.add_argument("--model", required=True, help="streaming model (.pt, .onnx or registry name), crop "
                    "classifier (.pt/.onnx), or a skeleton model behind the pose model: a shipped one (posture, "
                    "actions, exercises: `actkit models --pretrained`) or a .pt/.onnx of task skeleton")
    sp.add_argument("--source", required=True, help="camera index (0), video file, rtsp://... / http(s)://... URL, "
                    "or folder of frames")
    add_dataclass_flags(sp, StreamConfig, "stream")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..config import StreamConfig, dataclass_from_args
    from ..perception.live import live_model
    from ..streaming.pipeline import run_stream

    cfg = dataclass_from_args(StreamConfig, a)
    stats = run_stream(live_model(a.model, cfg.threads), a.source, cfg)
    print(f"{stats['frames_out']} frames ({stats['frames_read']} read, dropped {stats['dropped_capture']} + "
          f"{stats['dropped_output']}) at {stats['fps']:.1f} fps; latency median {stats['latency_ms_median']:.1f} ms, "
          f"p95 {stats['latency_ms_p95']:.1f} ms; events {stats['events']}; counts {stats['counts']}")
    return stats
