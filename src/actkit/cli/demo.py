"""`actkit demo`: render postures, train, evaluate, export, bench and write a report."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "demo", run, "render postures, train, evaluate, export, bench and write a report")
    sp.add_argument("--out", default="runs/demo")
    sp.add_argument("--n", type=int, default=4000, help="crops to render")
    sp.add_argument("--epochs", type=int, default=30)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2)
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..apps.postures import run_demo

    report = run_demo(a.out, n=a.n, epochs=a.epochs, seed=a.seed, workers=a.workers)
    print(f"demo report: {report}")
    return report
