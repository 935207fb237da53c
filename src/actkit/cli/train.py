"""`actkit train`: crop, clip and streaming classifiers from one typed config."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..config import TrainConfig, add_config_flags, recipes

    sp = verb(sub, "train", run, "train a crop classifier (Parquet crops), a clip classifier (--task clip, videos) "
              "or a streaming model (--task stream, frame-labelled videos)")
    sp.add_argument("--config", help="YAML file with sections data/model/optim/run, or a shipped recipe: "
                    f"{', '.join(recipes())} (flags override it)")
    add_config_flags(sp, TrainConfig)
    sp.add_argument("--nproc", type=int, default=1, help="train with N processes on this machine (DDP: gloo on CPU, "
                    "nccl on GPUs), launched through torchrun; --batch-size is then the global batch")
    return sp


def launch(argv: list[str], nproc: int) -> int:
    """``argv`` again under ``torchrun --standalone --nproc_per_node nproc`` (without ``--nproc``)."""
    import subprocess
    import sys

    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "actkit",
           *rest]
    return subprocess.run(cmd, check=False).returncode


def run(a: argparse.Namespace) -> Any:
    import os

    from ..config import TrainConfig, overrides_from_args, resolve
    from ..engine.trainer import train

    if a.nproc > 1 and "WORLD_SIZE" not in os.environ:
        code = launch(a.argv, a.nproc)
        if code:
            raise RuntimeError(f"the {a.nproc} training processes stopped with exit code {code} (their log is above)")
        return None

    cfg = resolve(TrainConfig, a.config, overrides_from_args(a))
    summary = train(cfg)
    if int(os.environ.get("RANK", "0")):  # one report, from rank 0
        return summary
    test = summary.get("test") or summary["val"]
    print(f"best epoch {summary['best_epoch']}/{summary['epochs']}: {'test' if 'test' in summary else 'val'} "
          f"macro-F1 {test['macro_f1']:.4f} accuracy {test['accuracy']:.4f} -> {cfg.run.out}/summary.json")
    return summary
