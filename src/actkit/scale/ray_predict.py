"""``actkit predict --ray``: a model over a large collection of videos and images with Ray Data.

Ray Data reads the list of inputs (a folder, a CSV / Parquet list with a ``path`` column, or a glob); a stateful
class loads the model once per Ray actor (``map_batches(..., concurrency=N, num_gpus=G)``) and turns each file
into rows; Ray writes them as Parquet, one row per image, per clip window (clip models), per frame (streaming
and crop models on videos) or per frame of body keypoints (``--model keypoints``), each with its source path.
A file that fails becomes a row with its ``error`` and is listed in ``_failed.json`` beside the Parquet files; it
never stops the run. Without ``--address`` a local Ray starts on this machine with ``--workers`` CPUs.
"""
from __future__ import annotations

import csv
import glob as globlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
KEYPOINTS = "keypoints"  # --model keypoints: BlazePose's body keypoints per frame, no classifier
COLUMNS = ("source", "index", "end", "label", "confidence", "probs", "keypoints", "error")


def list_inputs(source: str | Path) -> list[str]:
    """The files of ``source``: a folder (images and videos, recursively), a ``.csv`` / ``.parquet`` list with a
    ``path`` column (relative paths from the list's folder), or a glob pattern.

    Raises:
        FileNotFoundError: nothing matches. ValueError: a list without a ``path`` column.
    """
    from ..engine.predictor import IMAGE_EXTS, VIDEO_EXTS

    src = Path(source)
    media = IMAGE_EXTS | VIDEO_EXTS
    if src.is_dir():
        paths = [str(p) for p in sorted(src.rglob("*")) if p.suffix.lower() in media and p.is_file()]
    elif src.is_file() and src.suffix.lower() in (".csv", ".parquet"):
        if src.suffix.lower() == ".csv":
            with open(src, newline="") as f:
                rows = list(csv.DictReader(f))
            if rows and "path" not in rows[0]:
                raise ValueError(f"{src}: a list of inputs needs a 'path' column (has {', '.join(rows[0])})")
            names = [r["path"] for r in rows]
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(src)
            if "path" not in table.column_names:
                raise ValueError(f"{src}: a list of inputs needs a 'path' column (has {', '.join(table.column_names)})")
            names = [str(p) for p in table.column("path").to_pylist()]
        paths = [n if Path(n).is_absolute() else str(src.parent / n) for n in names]
    elif src.is_file():
        paths = [str(src)]
    else:
        paths = sorted(globlib.glob(str(source), recursive=True))
    if not paths:
        raise FileNotFoundError(f"{source}: no images or videos (a folder, a .csv / .parquet list, or a glob)")
    return paths


def _row(source: str, index: int = 0, end: int = -1, label: str = "", confidence: float = float("nan"),
         probs: Any = (), keypoints: Any = (), error: str = "") -> dict[str, Any]:
    return {"source": source, "index": int(index), "end": int(end), "label": label, "confidence": float(confidence),
            "probs": [float(p) for p in probs], "keypoints": [float(k) for k in np.asarray(keypoints).ravel()],
            "error": error}


class FilePredictor:
    """What each Ray actor runs: the model loaded once, then every file of each batch turned into rows."""

    def __init__(self, model: str, every: int = 1, window: int | None = None, stride: int | None = None,
                 threads: int = 1) -> None:
        self.model, self.every, self.window, self.stride, self.threads = model, every, window, stride, threads
        self.kind, self.obj = self._load(model)

    def _load(self, model: str) -> tuple[str, Any]:
        if model == KEYPOINTS:
            return KEYPOINTS, None
        from ..perception.live import live_model
        from ..streaming.runners import Runner, load_runner

        runner = live_model(model, self.threads)
        runner = runner if isinstance(runner, Runner) else load_runner(model, threads=self.threads)
        if getattr(runner, "kind", "") == "stream":
            return "stream", runner  # loaded once; each file starts from an empty state
        from ..engine.predictor import load

        predictor = load(model, self.threads)
        return ("clip" if predictor.is_clip else "crop"), predictor

    def rows(self, path: str) -> list[dict[str, Any]]:
        """One file's rows (see the module docstring)."""
        if self.kind == KEYPOINTS:
            from ..data.keypoint_sequences import person_rows
            from ..perception.keypoints import KeypointRun

            return [_row(path, r.frame, keypoints=person_rows(r.keypoints)) for r, _ in KeypointRun(path, ("body",))]
        if self.kind == "stream":
            from ..streaming.pipeline import Stream

            try:
                return [_row(path, r.frame, label=r.label, confidence=r.confidence, probs=r.probs)
                        for r in Stream(self.obj, path, threads=self.threads)]
            finally:
                self.obj.forget(list(self.obj.keys))
        if self.kind == "clip":
            from ..engine.timeline import iter_windows

            return [_row(path, r.frame, r.end_frame, r.label, r.confidence, r.probs)
                    for r in iter_windows(self.obj, path, self.window, self.stride)]
        from ..engine.predictor import iter_predictions

        return [_row(path, r.frame or 0, -1, r.label, r.confidence, r.probs)
                for r in iter_predictions(self.obj, path, every=self.every)]

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        import pyarrow as pa

        out = []
        for path in batch["path"]:
            path = str(path)
            try:
                got = self.rows(path)
                out += got or [_row(path, error="no frames")]
            except Exception as e:  # one bad file is a row with its error, never the end of the run
                out.append(_row(path, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"))
        return pa.Table.from_pylist(out, schema=SCHEMA())


def SCHEMA() -> Any:  # noqa: N802 - a constant built on first use (pyarrow imported lazily)
    import pyarrow as pa

    return pa.schema([("source", pa.string()), ("index", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
                      ("confidence", pa.float32()), ("probs", pa.list_(pa.float32())),
                      ("keypoints", pa.list_(pa.float32())), ("error", pa.string())])


def ray_predict(model: str, source: str | Path, out: str | Path, address: str | None = None, workers: int = 2,
                num_gpus: float = 0.0, every: int = 1, window: int | None = None, stride: int | None = None,
                overwrite: bool = False) -> dict[str, Any]:
    """Run ``model`` over every input of ``source`` on Ray; Parquet files into the folder ``out``.

    Raises:
        ImportError: Ray is not installed (``pip install 'actkit[ray]'``).
        FileExistsError: ``out`` holds files and ``overwrite`` is off.
    """
    try:
        import ray
    except ImportError as e:
        raise ImportError("actkit predict --ray needs Ray: pip install 'actkit[ray]'") from e
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} holds files: choose another --out or pass --overwrite")
        import shutil

        shutil.rmtree(out)
    paths = list_inputs(source)
    if model != KEYPOINTS:
        from ..models.pretrained import model_file

        model = str(model_file(model)) if not Path(model).is_dir() else str(model)
    started = not ray.is_initialized()
    t_init = time.perf_counter()
    if started:
        ray.init(address=address, **({} if address else {"num_cpus": workers, "include_dashboard": False}),
                 log_to_driver=False, configure_logging=False)
    t0 = time.perf_counter()
    try:
        ds = ray.data.from_items([{"path": p} for p in paths])
        ds = ds.map_batches(FilePredictor, fn_constructor_kwargs={"model": str(model), "every": every,
                                                                   "window": window, "stride": stride},
                            batch_size=max(1, min(8, len(paths) // (4 * workers))), batch_format="numpy",
                            concurrency=workers,
                            num_cpus=1, **({"num_gpus": num_gpus} if num_gpus else {}))
        ds.write_parquet(str(out))
    finally:
        if started:
            ray.shutdown()
    seconds = time.perf_counter() - t0
    r = summarise(out, paths, seconds, workers)
    r["ray_start_seconds"] = round(t0 - t_init, 2)
    return r


def summarise(out: Path, paths: list[str], seconds: float, workers: int) -> dict[str, Any]:
    """Rows, sources and the failed inputs of a finished run (also ``out/_failed.json``)."""
    import pyarrow.parquet as pq

    table = pq.read_table(out, columns=["source", "error"])
    sources, errors = table.column("source").to_pylist(), table.column("error").to_pylist()
    failed = sorted({(s, e) for s, e in zip(sources, errors) if e})
    (out / "_failed.json").write_text(json.dumps([{"source": s, "error": e} for s, e in failed], indent=1))
    return {"out": str(out), "inputs": len(paths), "rows": len(sources), "failed": [{"source": s, "error": e}
                                                                                   for s, e in failed],
            "seconds": round(seconds, 2), "inputs_per_s": round(len(paths) / max(seconds, 1e-9), 2),
            "workers": workers}
