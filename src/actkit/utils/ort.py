"""ONNX Runtime and ONNX metadata helpers every part that runs an exported model shares."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``actkit`` metadata of an ONNX file written by :func:`export_onnx`."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in m.metadata_props}
    if "actkit" not in props:
        raise ValueError(f"{path}: no actkit metadata (was it exported by `actkit export`?)")
    return json.loads(props["actkit"])


def ort_session(path: str | Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (0: all)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
