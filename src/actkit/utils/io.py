"""Atomic file writes: a reader never sees a half-written artifact.

Every file actkit produces (checkpoint, dataset, report, JSON) is written to a temporary
file in the same folder and renamed over the target, so an interrupted run leaves either
the old file or the new one, never a truncated one that looks complete.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that want a filename; rename on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask_mode() -> int:
    # mkstemp creates 0600 files; give the final file the permissions a plain open() would.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``path``; on success it is synced and renamed over ``path``.

    Args:
        path: final destination.
        mode: ``"wb"`` or ``"w"``.

    Yields:
        The open temporary file object.
    """
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def refuse_to_replace(outputs: dict[str, Any], overwrite: bool = False) -> None:
    """Stop before a run writes over a file a user already has (an earlier run's JSON lines or video); devices and
    pipes (``/dev/null``) are written to as asked.

    Args:
        outputs: ``{flag: path or None}`` of the files a command is about to write.
        overwrite: the user asked for the old files to be replaced (``--overwrite``).

    Raises:
        FileExistsError: naming the first path that exists (and its flag) when ``overwrite`` is off, or that
            is a folder where a file is meant.
    """
    for flag, path in outputs.items():
        if not path:
            continue
        p = Path(path)
        if p.is_dir():
            raise FileExistsError(f"{path} ({flag}) is a folder: give a file name")
        if p.is_file() and not overwrite:  # a regular file: /dev/null and pipes are written as asked
            raise FileExistsError(f"{path} ({flag}) exists: choose another name, or pass --overwrite to replace it")


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` as hex (what pinned downloads and shipped files are checked against)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=indent, default=_json_default)
        f.write("\n")


def atomic_write_parquet(path: str | os.PathLike, table: Any) -> None:
    """Write a ``pyarrow.Table`` (or pandas-free dict of columns) to ``path`` atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(table, dict):
        table = pa.table(table)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Silence C-level stdout/stderr (pybullet prints its build time and URDF warnings there)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
