"""One Markdown table of the training runs in a folder, grouped by name over seeds.

Usage: .venv/bin/python benchmarks/runs_table.py DIR [--base NAME] [--plot PNG]

A run folder ``<name>_s<seed>`` (with a ``summary.json``) joins group ``<name>``. Each row gives what
the group's config changes from the `actkit train` defaults (model, model args and every other key,
read from the run's ``config.yaml``), test macro-F1 per seed, its mean and spread, val mean, and train
time; ``--base NAME`` adds each group's mean difference to that group over the seeds both have (paired),
in points, with its 95 % t interval and the count of seeds that are up. ``--plot PNG`` draws each group's test macro-F1 per seed (dots) and mean (bar), best mean first.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import yaml

from actkit.config import TrainConfig, resolve, to_dict

IGNORED = {"data.path", "run.out", "run.seed", "run.plots", "run.threads", "run.keep_last", "run.keep_best"}


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict) and k != "args":
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def changes(config: dict, defaults: dict) -> str:
    """What ``config`` sets apart from ``defaults`` (both flattened to dotted keys), as one Markdown cell."""
    got = flat(config)
    parts = [f"`{got['model.name']}`"]
    if got.get("model.args"):
        parts.append(f"`{json.dumps(got['model.args'])}`")
    for k, v in got.items():
        if k in IGNORED or k in ("model.name", "model.args") or defaults.get(k) == v:
            continue
        if k == "distill.teacher":
            v = Path(v).parts[-3] if len(Path(v).parts) >= 3 else v
        parts.append(f"{k} {v}")
    return ", ".join(parts)


# Two-sided 95 % Student t quantiles by degrees of freedom (1-30); beyond, the normal 1.96 is close enough.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def paired(diff: list[float]) -> str:
    """Mean paired difference in points, its 95 % t interval and how many seeds are up: ``+0.21 ±0.45, 6/10 up``."""
    mean = 100 * statistics.mean(diff)
    up = f"{sum(d > 0 for d in diff)}/{len(diff)} up"
    if len(diff) < 2:
        return f"{mean:+.2f} ({up})"
    half = 100 * statistics.stdev(diff) / len(diff) ** 0.5 * (T975[len(diff) - 2] if len(diff) - 1 <= len(T975) else 1.96)
    return f"{mean:+.2f} ±{half:.2f} ({up})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--base", default="", help="group to compare every other group with")
    ap.add_argument("--plot", type=Path, help="also draw test macro-F1 per seed and group to this PNG")
    args = ap.parse_args()
    groups: dict[str, list[Path]] = {}
    for d in sorted(args.folder.iterdir()):
        m = re.fullmatch(r"(.+)_s(\d+)", d.name)
        if m and d.is_dir() and (d / "summary.json").is_file():
            groups.setdefault(m.group(1), []).append(d)
    if not groups:
        raise SystemExit(f"{args.folder}: no finished runs named <name>_s<seed>")
    by_seed: dict[str, dict[int, float]] = {}
    rows = []
    defaults = flat(to_dict(resolve(TrainConfig)))
    for name, dirs in groups.items():
        dirs.sort(key=lambda d: int(d.name.rsplit("_s", 1)[1]))
        s = [json.loads((d / "summary.json").read_text()) for d in dirs]
        test = [x["test"]["macro_f1"] for x in s]
        by_seed[name] = {int(d.name.rsplit("_s", 1)[1]): t for d, t in zip(dirs, test)}
        config = yaml.safe_load((dirs[0] / "config.yaml").read_text())
        seeds = ",".join(d.name.rsplit("_s", 1)[1] for d in dirs)
        rows.append((name, changes(config, defaults), seeds, test, statistics.mean(x["val"]["macro_f1"] for x in s),
                     statistics.mean(x["train_seconds"] for x in s)))
    base = by_seed.get(args.base)
    head = "| run | what it sets | seeds | test macro-F1 per seed | **mean** | min-max | val mean | train s |"
    print(head + (f" vs `{args.base}`, same seeds (95 % interval) |" if base is not None else ""))
    print("|" + "---|" * (8 + (base is not None)))
    for name, what, seeds, test, val, secs in rows:
        line = (f"| {name} | {what} | {seeds} | {', '.join(f'{v:.4f}' for v in test)} | **{statistics.mean(test):.4f}** "
                f"| {min(test):.4f}-{max(test):.4f} | {val:.4f} | {secs:.0f} |")
        if base is not None:
            common = sorted(set(by_seed[name]) & set(base))
            diff = [by_seed[name][k] - base[k] for k in common]
            line += f" {paired(diff)} |" if common else " - |"
        print(line)
    if args.plot:
        from actkit.engine.plots import plot_seeds

        order = sorted(by_seed, key=lambda g: -statistics.mean(by_seed[g].values()))
        plot_seeds({g: list(by_seed[g].values()) for g in order}, args.plot, title=f"{args.folder.name}: test macro-F1 per seed",
                   xlabel="test macro-F1", reference=args.base)


if __name__ == "__main__":
    main()
