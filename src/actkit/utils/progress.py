"""One progress helper: a tqdm bar on a terminal, silent otherwise (logs, CI, pipes)."""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    """True when stderr is a terminal and ACTKIT_PROGRESS is not 0 (ACTKIT_PROGRESS=1 forces it on)."""
    env = os.environ.get("ACTKIT_PROGRESS")
    if env is not None:
        return env not in ("0", "false", "")
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", enable: bool | None = None, **kwargs) -> "Iterator[T]":
    """Wrap ``iterable`` in a progress bar that turns itself off when output is not a terminal.

    Returns a tqdm object (usable as an iterator or with ``.update(n)``), disabled when off.
    """
    from tqdm.auto import tqdm

    disable = not (progress_enabled() if enable is None else enable)
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                dynamic_ncols=True, **kwargs)
