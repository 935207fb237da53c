"""One progress helper: a tqdm bar on a terminal; in logs, CI and pipes a log line now and then.

Long work must show progress where nobody watches a terminal too (a training launched with
``nohup`` writes nothing for minutes otherwise): without a terminal, :func:`progress` logs
``desc: n/total unit (p %), elapsed, ETA`` at most every ``ACTKIT_PROGRESS_LOG_S`` seconds
(default 60; 0 turns it off). An explicit ``enable=False`` is silent.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")
log = logging.getLogger("actkit.progress")


def progress_enabled() -> bool:
    """True when stderr is a terminal and ACTKIT_PROGRESS is not 0 (ACTKIT_PROGRESS=1 forces it on)."""
    env = os.environ.get("ACTKIT_PROGRESS")
    if env is not None:
        return env not in ("0", "false", "")
    return sys.stderr.isatty()


def _minutes(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


class LogProgress:
    """The tqdm calls actkit uses (iterate, ``update``, ``set_postfix``, ``close``, ``with``), as log lines.

    Args:
        iterable: what to iterate (or None with ``update``).
        total: number of steps (default ``len(iterable)`` when it has one).
        desc, unit: as tqdm's.
        every_s: seconds between lines at the least.
    """

    def __init__(self, iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
                 unit: str = "it", every_s: float = 60.0) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit, self.every_s = iterable, total, desc, unit, every_s
        self.n, self.postfix = 0, ""
        self.t0 = self.last = time.perf_counter()

    def __iter__(self) -> Iterator[T]:
        for x in self.iterable or ():
            yield x
            self.update(1)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        el = (now or time.perf_counter()) - self.t0
        text = f"{self.desc or 'progress'}: {self.n}"
        if self.total:
            eta = el / self.n * (self.total - self.n) if self.n else float("nan")
            text += f"/{self.total} {self.unit} ({100 * self.n / self.total:.0f} %), {_minutes(el)} elapsed, ETA {_minutes(eta)}"
        else:
            text += f" {self.unit}, {_minutes(el)} elapsed"
        return text + (f", {self.postfix}" if self.postfix else "")

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in kw.items())

    def close(self) -> None:
        pass

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress(iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", enable: bool | None = None, **kwargs) -> "Iterator[T]":
    """Wrap ``iterable`` in a progress bar; without a terminal, in periodic log lines (see the module doc).

    Returns a tqdm object (usable as an iterator or with ``.update(n)``), or a :class:`LogProgress`.
    """
    from tqdm.auto import tqdm

    on = progress_enabled() if enable is None else enable
    if not on and enable is None and os.environ.get("ACTKIT_PROGRESS") is None:
        every = float(os.environ.get("ACTKIT_PROGRESS_LOG_S", "60"))
        if every > 0:
            return LogProgress(iterable, total, desc, unit, every)  # type: ignore[return-value]
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not on, leave=False,
                dynamic_ncols=True, **kwargs)
