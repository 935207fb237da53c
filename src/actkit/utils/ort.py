"""ONNX Runtime and ONNX metadata helpers every part that runs an exported model shares."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``actkit`` metadata of an ONNX file written by ``actkit export``; one ValueError naming the file
    for a missing, corrupt or foreign file."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX model not found: {path}")
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises protobuf errors (DecodeError, ...) for a file that is not ONNX
        raise ValueError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    props = {p.key: p.value for p in m.metadata_props}
    if "actkit" not in props:
        raise ValueError(f"{path}: no actkit metadata (was it exported by `actkit export`?)")
    try:
        return json.loads(props["actkit"])
    except ValueError:
        raise ValueError(f"{path}: its actkit metadata is not valid JSON") from None


def ort_session(path: str | Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (0: all)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # ONNX Runtime raises its own types for a corrupt or unsupported graph
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path}: ONNX Runtime cannot load it ({first})") from None
