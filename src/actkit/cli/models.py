"""`actkit models`: the registry, with parameter counts and config fields."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "models", run, "list registered models with parameter counts")
    sp.add_argument("pattern", nargs="?", default="*", help="glob, e.g. 'sc_*'")
    sp.add_argument("--config", action="store_true", help="also print each model's config fields (what `--model.args` can set)")
    return sp


def run(a: argparse.Namespace) -> Any:
    from ..models import count_params, create_model, list_models, model_entry

    names = list_models(a.pattern)
    for n in names:
        e = model_entry(n)
        model = create_model(n)
        print(f"{n:<22}{e.family:<12}{count_params(model):>11,}  {e.doc}")
        if a.config:  # the fields `--model.args` may set
            for key, value in model.config_dict().items():
                print(f"    {key}: {json.dumps(value, default=str)}")
    return names
