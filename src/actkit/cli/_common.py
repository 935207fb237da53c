"""Helpers every verb module shares: flag types and the sub-command constructor."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def verb(sub: Any, name: str, fn: Callable[[argparse.Namespace], Any], help: str,
         aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """Add sub-command ``name`` whose ``run`` is ``fn``."""
    sp = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
    sp.set_defaults(fn=fn)
    return sp


def size(text: str) -> tuple[int, int]:
    """``HxW`` (or ``H,W``) -> ``(H, W)``."""
    try:
        h, w = (int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected HxW such as 32x24, got {text!r}") from e
    return h, w


def batch_sizes(text: str) -> tuple[int, ...]:
    """``16,32,64`` -> ``(16, 32, 64)``, each >= 1."""
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes must be integers such as 16,32,64, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got {text!r}")
    return sizes


def names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list flag; None when not given."""
    return tuple(v for v in text.split(",") if v) if text else None
