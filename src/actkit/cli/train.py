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
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..config import TrainConfig, overrides_from_args, resolve
    from ..engine.trainer import train

    cfg = resolve(TrainConfig, a.config, overrides_from_args(a))
    summary = train(cfg)
    test = summary.get("test") or summary["val"]
    print(f"best epoch {summary['best_epoch']}/{summary['epochs']}: {'test' if 'test' in summary else 'val'} "
          f"macro-F1 {test['macro_f1']:.4f} accuracy {test['accuracy']:.4f} -> {cfg.run.out}/summary.json")
    return summary
