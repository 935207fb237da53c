"""The one name-keyed model registry (after torchvision ``models/_api.py`` and timm ``_registry.py``).

Every model family registers a builder per named size when it is imported (``models/__init__.py``
imports them all; this module imports none of them); builders are three lines that fill a
dataclass config and call the family's private constructor. ``create_model(name, **overrides)``
replaces config fields, so a user can ask for ``create_model("sc_s", head="transformer")``.
"""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch.nn as nn


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about a model name."""

    name: str
    family: str
    task: str
    builder: Callable[..., nn.Module]
    doc: str


class UnknownFieldError(TypeError, ValueError):
    """A config field the model does not have: a TypeError to Python callers (an unexpected keyword), a
    ValueError (bad input, one line) to the command line."""


_REGISTRY: dict[str, ModelEntry] = {}
_DEPRECATED: dict[str, tuple[str, dict[str, Any]]] = {}  # old name -> (current name, config fields)


def register_model(family: str, task: str = "crop") -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under its function name; duplicate names are refused."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is already registered (by family {_REGISTRY[name].family!r})")
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        _REGISTRY[name] = ModelEntry(name, family, task, fn, doc)
        return fn

    return wrap


def register_model_deprecations(mapping: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Names kept for earlier benchmarks (after timm's ``register_model_deprecations``): each resolves to a
    current model with config fields set, with a warning; :func:`list_models` does not list them."""
    for old, (new, fields) in mapping.items():
        if old in _REGISTRY or old in _DEPRECATED:
            raise ValueError(f"model name {old!r} is already registered")
        _DEPRECATED[old] = (new, dict(fields))


def resolve_name(name: str) -> tuple[str, dict[str, Any]]:
    """``(current name, config fields)`` for a registered or deprecated name (a warning for the latter)."""
    if name in _DEPRECATED:
        new, fields = _DEPRECATED[name]
        warnings.warn(f"model name {name!r} is deprecated: it builds {new!r} with {fields}", DeprecationWarning,
                      stacklevel=3)
        return new, fields
    return name, {}


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Registered model names matching a glob ``pattern`` (and ``task`` if given), sorted."""
    return sorted(n for n, e in _REGISTRY.items()
                  if fnmatch.fnmatch(n, pattern) and (task is None or e.task == task))


def model_entry(name: str) -> ModelEntry:
    """The registry entry for ``name`` (a deprecated name: its current model's); KeyError with close
    matches if unknown."""
    name = _DEPRECATED[name][0] if name in _DEPRECATED else name
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}.{hint} See `actkit models` for the list.")
    return _REGISTRY[name]


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model, replacing fields of its config with ``overrides``.

    Args:
        name: a name from :func:`list_models`.
        **overrides: config fields, e.g. ``num_classes=3, input_size=(24, 40)``.
    """
    current, fields = resolve_name(name)
    model = model_entry(current).builder(**{**fields, **overrides})
    model.model_name = current
    return model


def build_config(cfg_cls: type, base: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """Fill ``cfg_cls`` from ``base`` then ``overrides``; unknown keys get a close-match error."""
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    for key in overrides:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownFieldError(f"{cfg_cls.__name__} has no field {key!r}{hint}")
    merged = {**base, **overrides}
    for key in ("input_size", "token_grid", "widths", "depths", "strides"):
        if key in merged and isinstance(merged[key], list):
            merged[key] = tuple(merged[key])
    defaults = {f.name: f.default for f in dataclasses.fields(cfg_cls)}
    for key, value in overrides.items():
        _check_size(cfg_cls.__name__, key, merged[key], defaults.get(key))
    return cfg_cls(**merged)


def _check_size(where: str, key: str, value: Any, default: Any) -> None:
    """A field set from outside (``--model.args``, a config file) must have its default's type, and sizes and
    counts cannot go below zero (or below one where the default's are positive): one ValueError naming the
    field, instead of an error deep inside torch."""
    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = whole(value) and value >= 0, "an integer >= 0"
    elif isinstance(default, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), "a number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, tuple) and default and all(whole(d) and d >= 1 for d in default):
        ok, want = isinstance(value, (tuple, list)) and all(whole(v) and v >= 1 for v in value), "integers >= 1"
    else:
        return
    if not ok:
        raise ValueError(f"{where}.{key} must be {want}, got {value!r}")
