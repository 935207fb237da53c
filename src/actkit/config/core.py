"""One typed source of truth for run configuration.

A run is configured by a tree of dataclasses with defaults. Values come, in order, from the
defaults, a YAML file (``--config run.yaml``) and command-line flags. Flags are derived from
the dataclass fields (``--optim.lr 0.01``; common ones have short aliases such as
``--epochs``), unknown keys are rejected with a close-match suggestion, and the resolved
config is saved in the run folder. Nothing is ever ``eval``-ed.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Union


def opt(default: Any, help: str, alias: str | None = None, choices: tuple[str, ...] | None = None,
         **meta: Any) -> Any:
    """A dataclass field with the help text, flag alias and choices its command-line flag shows."""
    meta = {"help": help, "alias": alias, "choices": choices, **meta}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- machinery


def _is_dataclass_type(t: Any) -> bool:
    return isinstance(t, type) and dataclasses.is_dataclass(t)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def unknown_key(key: str, known: list[str], where: str) -> ValueError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"unknown config key {where}{key!r}.{hint} Known: {', '.join(sorted(known))}")


def coerce(value: Any, typ: Any, name: str = "") -> Any:
    """Convert ``value`` (often a string from the command line) to the field type ``typ``."""
    origin = typing.get_origin(typ)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        return None if value is None or value in ("", "none", "None") else coerce(value, args[0], name)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: expected true/false, got {value!r}")
    if typ is dict or origin is dict:
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value) if value.strip() else {}
            except yaml.YAMLError as e:
                raise ValueError(f"{name}: not a YAML mapping: {value!r} ({e})") from e
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{name}: expected a mapping such as '{{rep_branches: 2}}', got {value!r}")
        return dict(value)
    if typ in (list, tuple) or origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.replace("x", ",").split(",") if v.strip()]
        return [int(v) if str(v).strip().lstrip("-").isdigit() else v for v in value]
    try:
        return typ(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: cannot read {value!r} as {getattr(typ, '__name__', typ)}") from e


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict; unknown keys raise with a suggestion."""
    if not isinstance(data, dict):
        raise ValueError(f"config section {prefix or '<root>'} must be a mapping, got {type(data).__name__}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise ValueError(f"config section {prefix or '<root>'}: key {key!r} is not a name")
        if key not in fields:
            raise unknown_key(key, list(fields), prefix)
        typ = hints[key]
        if _is_dataclass_type(typ):
            kwargs[key] = from_dict(typ, value or {}, f"{prefix}{key}.")
        else:
            choices = fields[key].metadata.get("choices")
            kwargs[key] = coerce(value, typ, prefix + key)
            if choices and kwargs[key] not in choices:
                raise ValueError(f"{prefix}{key}: {kwargs[key]!r} is not one of {choices}")
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass tree to a plain nested dict."""
    return dataclasses.asdict(obj)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins."""
    out = dict(base)
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c = value`` in a nested dict."""
    *parents, leaf = dotted.split(".")
    for p in parents:
        if tree.get(p) is None:  # an empty YAML section (`optim:`) reads as None
            tree[p] = {}
        tree = tree[p]
        if not isinstance(tree, dict):
            raise ValueError(f"config key {dotted!r}: {p!r} is a value, not a section")
    tree[leaf] = value


RECIPES = Path(__file__).parent / "recipes"


def recipes() -> list[str]:
    """Names of the recipes shipped with actkit (``actkit train --config NAME``)."""
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a file, or a shipped recipe by name (:func:`recipes`); a clear error
    naming the file otherwise."""
    import yaml

    path = Path(path)
    if not path.is_file() and path.suffix == "" and path.parent == Path(".") and (RECIPES / f"{path}.yaml").is_file():
        path = RECIPES / f"{path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path} (shipped recipes: {', '.join(recipes())})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a mapping of sections")
    return data


def resolve(cls: type, yaml_path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Any:
    """Defaults <- YAML file <- dotted ``overrides`` (``{"optim.lr": "0.01"}``) -> dataclass, range-checked."""
    tree: dict[str, Any] = load_yaml(yaml_path) if yaml_path else {}
    for dotted, value in (overrides or {}).items():
        set_dotted(tree, dotted, value)
    return check_ranges(from_dict(cls, tree))


def check_ranges(obj: Any, prefix: str = "") -> Any:
    """Check every field against the ``RANGES`` its dataclass (and its bases) declare; one ValueError naming the
    dotted key, so the command line, YAML files and the Python API share the checks. Returns ``obj``."""
    ranges: dict[str, tuple] = {}
    for klass in reversed(type(obj).__mro__):
        ranges.update(klass.__dict__.get("RANGES", {}))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            check_ranges(value, f"{prefix}{f.name}.")
        elif f.name in ranges and isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi, *above = ranges[f.name]
            low_ok = value > lo if above else value >= lo
            if not low_ok or (hi is not None and value > hi):
                want = (f"in [{lo}, {hi}]" if hi is not None else f">= {lo}") if not above else \
                    (f"in ({lo}, {hi}]" if hi is not None else f"> {lo}")
                raise ValueError(f"{prefix}{f.name} must be {want}, got {value}")
    return obj


def save_yaml(obj: Any, path: str | Path) -> None:
    """Save a resolved dataclass tree as YAML (atomically)."""
    import yaml

    from ..utils.io import atomic_write

    with atomic_write(path, "w") as f:
        yaml.safe_dump(to_dict(obj), f, sort_keys=False)


def leaf_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field, Any]]:
    """All leaf fields of a dataclass tree as (dotted name, field, type)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        if _is_dataclass_type(typ):
            out += leaf_fields(typ, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, f, typ))
    return out


def add_config_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Declare one flag per leaf field (``--section.key`` plus its alias); defaults stay unset."""
    group = parser.add_argument_group("config (YAML keys; flags override the file)")
    for dotted, f, typ in leaf_fields(cls):
        names = [f"--{dotted}"] + ([f.metadata["alias"]] if f.metadata.get("alias") else [])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        choices = f.metadata.get("choices")
        extra = f" {{{','.join(choices)}}}" if choices else ""
        flag = {"nargs": "?", "const": "true"} if typ is bool else {}  # `--overwrite` alone means true
        group.add_argument(*names, dest=f"cfg:{dotted}", default=argparse.SUPPRESS, metavar=getattr(typ, "__name__", "V").upper(),
                           help=f"{f.metadata.get('help', '')}{extra} (default: {default})", **flag)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The dotted overrides a user gave on the command line."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg:")}


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, verb: str) -> None:
    """One ``--kebab-name`` flag per field of a flat dataclass whose ``verbs`` metadata holds ``verb``,
    with the field's default, choices and help, so every verb that shows a field shows the same default."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if verb not in meta.get("verbs", (verb,)):
            continue
        names = [meta.get("flag") or "--" + f.name.replace("_", "-")]
        if verb == "stream" and meta.get("live_alias"):
            names.append(meta["live_alias"])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kw: dict[str, Any] = {"dest": f.name, "default": default, "help": f"{meta.get('help', '')} (default: {default})"}
        if hints[f.name] is bool:
            kw["action"] = "store_true"
        else:
            kw["type"] = float if hints[f.name] is tuple else hints[f.name]
            for key in ("choices", "nargs", "metavar"):
                if meta.get(key) is not None:
                    kw[key] = meta[key]
        parser.add_argument(*names, **kw)


def dataclass_from_args(cls: type, args: argparse.Namespace) -> Any:
    """The dataclass of :func:`add_dataclass_flags` from parsed arguments (fields not shown keep defaults)."""
    given = vars(args)
    return cls(**{f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given})
