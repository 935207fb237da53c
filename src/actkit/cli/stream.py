"""`actkit stream`: live recognition on a camera, video file, URL or folder of frames."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..config import StreamConfig, add_dataclass_flags

    sp = verb(sub, "stream", run, "live recognition on a camera, video file, URL or folder of frames")
    sp.add_argument("--model", required=True, help="streaming model (.pt, .onnx or registry name) or crop "
                    "classifier (.pt/.onnx)")
    sp.add_argument("--source", required=True, help="camera index (0), video file, rtsp://... / http(s)://... URL, "
                    "or folder of frames")
    add_dataclass_flags(sp, StreamConfig, "stream")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..config import StreamConfig, dataclass_from_args
    from ..streaming.pipeline import run_stream

    stats = run_stream(a.model, a.source, dataclass_from_args(StreamConfig, a))
    print(f"{stats['frames_out']} frames ({stats['frames_read']} read, dropped {stats['dropped_capture']} + "
          f"{stats['dropped_output']}) at {stats['fps']:.1f} fps; latency median {stats['latency_ms_median']:.1f} ms, "
          f"p95 {stats['latency_ms_p95']:.1f} ms; events {stats['events']}; counts {stats['counts']}")
    return stats
