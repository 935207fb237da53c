"""`actkit models`: the registry, with parameter counts and config fields; `actkit models fetch mediapipe`
obtains the perception front-end's model files."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import verb

FETCHABLE = ("mediapipe",)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "models", run, "list registered models with parameter counts; `models fetch mediapipe` gets "
              "MediaPipe's pose, hand and face model files (pinned by sha256, cached under ACTKIT_HOME)")
    sp.add_argument("pattern", nargs="?", default="*", help="glob, e.g. 'sc_*'; or `fetch` followed by what to fetch")
    sp.add_argument("what", nargs="?", help=f"with `fetch`: {', '.join(FETCHABLE)}")
    sp.add_argument("--config", action="store_true", help="also print each model's config fields (what `--model.args` can set)")
    sp.add_argument("--from", dest="source", help="with `fetch`: a folder of the model files, or the mediapipe "
                    "0.10.21 wheel (default: `pip download --no-deps mediapipe==0.10.21`, never installed)")
    sp.add_argument("--force", action="store_true", help="with `fetch`: fetch again even if cached")
    sp.add_argument("--pretrained", action="store_true", help="list the models shipped trained in the package "
                    "(usable by name: `--model posture`), with their labels and recorded accuracy")
    return sp


def run(a: argparse.Namespace) -> Any:
    if a.pattern == "fetch":
        return _fetch(a)
    if a.pretrained:
        from ..models.pretrained import pretrained_models

        cards = pretrained_models()
        for name, c in cards.items():
            scores = "; ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in c.get("scores", {}).items())
            print(f"{name:<11}{c['model']:<15}{c['task']:<10}{len(c['labels'])} labels: "
                  f"{', '.join(c['labels'][:6])}{' ...' if len(c['labels']) > 6 else ''}\n{'':11}{scores}")
        return cards
    if a.what is not None:
        raise ValueError(f"unexpected {a.what!r}: `actkit models [PATTERN]` or `actkit models fetch {FETCHABLE[0]}`")
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


def _fetch(a: argparse.Namespace) -> Any:
    from ..perception.assets import cache_dir, fetch_mediapipe

    if a.what not in FETCHABLE:
        raise ValueError(f"`actkit models fetch` takes one of {', '.join(FETCHABLE)}, got {a.what!r}")
    files = fetch_mediapipe(a.source, force=a.force)
    print(f"{len(files)} MediaPipe model files verified in {cache_dir()}")
    return files
