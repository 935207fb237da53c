"""`actkit export`: a checkpoint to ONNX (optionally int8)."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "export", run, "export a checkpoint to ONNX (optionally int8)")
    sp.add_argument("checkpoint", help=".pt checkpoint")
    sp.add_argument("--format", default="onnx", choices=("onnx",))
    sp.add_argument("--out", help="output .onnx (default: beside the checkpoint)")
    sp.add_argument("--int8", action="store_true", help="also write a static int8 model calibrated on the val split")
    sp.add_argument("--data", help="Parquet for int8 calibration/check (default: the training data)")
    sp.add_argument("--calib", type=int, default=1024, help="calibration crops for int8")
    sp.add_argument("--stream", action="store_true", help="streaming models (pixel or skeleton): export one step "
                    "with its state as inputs and outputs, for a frame-by-frame OnnxStreamer / actkit stream")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..engine.exporter import export_onnx

    if a.stream:
        if a.int8:
            raise ValueError("--int8 is for whole-input exports; a --stream export is float32")
        from pathlib import Path

        from ..streaming.export import export_stream_onnx

        r = export_stream_onnx(a.checkpoint, a.out or Path(a.checkpoint).with_suffix(".onnx"))
        print(f"{r['path']}: one step with {len(r['state_shapes'])} state tensors, {r['nodes']} nodes, "
              f"{r['bytes'] / 1024:.1f} KB; torch-vs-ONNX max |diff| over streamed frames {r['parity_max_abs']:.2e}")
        return r
    r = export_onnx(a.checkpoint, a.out, int8=a.int8, data=a.data, calib_samples=a.calib)
    print(f"{r['path']}: {r['nodes']} nodes, {r['bytes'] / 1024:.1f} KB, BatchNorm nodes {r['batchnorm_nodes']}, "
          f"torch-vs-ONNX max |diff| {r['parity_max_abs']:.2e}")
    if "int8" in r:
        q = r["int8"]
        print(f"{q['path']}: {q['bytes'] / 1024:.1f} KB, test macro-F1 {q['fp32']['macro_f1']:.4f} (fp32) -> "
              f"{q['int8']['macro_f1']:.4f} (int8): {q['macro_f1_change_points']:+.2f} points on {q['test_samples']} crops")
    return r
