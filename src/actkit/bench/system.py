"""What every benchmark reports beside its numbers: the machine, and summary statistics of timings."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def threads_key(threads: int) -> str:
    """The report key of a thread setting (0: ONNX Runtime's default, "all")."""
    return "all" if threads == 0 else f"{threads}thread"


def time_stats(ms: np.ndarray) -> dict[str, float]:
    """Min, median, p99 and mean of timings in milliseconds."""
    return {"min": float(ms.min()), "median": float(np.median(ms)), "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean())}


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``'s model name where there is one)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def machine_info() -> dict[str, Any]:
    """CPU model, core count and library versions, for the record."""
    import platform

    import onnxruntime

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version()}
