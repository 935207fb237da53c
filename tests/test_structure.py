"""The layout's limits, read from the source tree with ``ast`` so they cannot rot.

* no module over 500 lines, no function over 80;
* no import cycle between modules, counting imports inside functions;
* layers import only downward, in one declared order;
* no private name (``_x``) imported from another module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Each layer may import itself and the layers before it, never a later one.
LAYERS = ("utils", "config", "results", "models", "data", "engine", "streaming", "perception", "bench", "apps", "scale", "custom", "studio",
          "cli")
TOP = {"actkit", "actkit.__main__"}  # the public API and ``python -m actkit``: lazy imports of any layer


def _modules() -> dict[str, tuple[Path, ast.Module, bool]]:
    out = {}
    for path in sorted((SRC / "actkit").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if package else parts)
        out[name] = (path, ast.parse(path.read_text(), str(path)), package)
    return out


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import of ``name``, nested ones included."""
    path, tree, package = MODULES[name]
    pkg = name.split(".") if package else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = pkg[:len(pkg) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:  # `from . import x` may import the submodule x
                sub = f"{mod}.{a.name}"
                found.append((sub, [], node.lineno) if sub in MODULES else (mod, [a.name], node.lineno))
    return [(m, n, line) for m, n, line in found if m == "actkit" or m.startswith("actkit.")]


def _layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_tree_is_the_one_the_limits_describe():
    assert len(MODULES) > 50 and "actkit.streaming.pipeline" in MODULES and "actkit.cli" in MODULES
    declared = {p.name for p in (SRC / "actkit").iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    declared |= {p.stem for p in (SRC / "actkit").glob("*.py") if not p.name.startswith("_")}
    assert declared <= set(LAYERS), f"top-level packages without a layer: {declared - set(LAYERS)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_and_function_sizes(name):
    path, tree, _ = MODULES[name]
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)}: {lines} lines (limit {MAX_MODULE_LINES})"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines, line {n.lineno})" for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(SRC)}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def test_no_import_cycles():
    graph = {n: {m for m, _, _ in _imports(n) if m in MODULES and m != n} for n in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append(path[path.index(m):] + [m] if m in path else [n, m])
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_layers_import_only_downward():
    bad = []
    for name in MODULES:
        mine = _layer(name)
        if name in TOP or mine is None:
            continue
        for mod, _, line in _imports(name):
            theirs = _layer(mod)
            if theirs is not None and theirs > mine:
                bad.append(f"{name}:{line} imports {mod} ({LAYERS[mine]} < {LAYERS[theirs]})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_private_name_crosses_a_module():
    bad = [f"{name}:{line} takes {n} from {mod}" for name in MODULES for mod, names, line in _imports(name)
           for n in names if n.startswith("_") and not n.startswith("__") and mod != name]
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path):
    """The checks above can fail: a made-up pair of modules importing each other, one from a later layer."""
    fake = {"actkit.models.a": "from ..streaming import b\n", "actkit.streaming.b": "def f():\n    from ..models import a\n"}
    for name, text in fake.items():
        MODULES[name] = (tmp_path / f"{name}.py", ast.parse(text), False)
    try:
        with pytest.raises(AssertionError, match="actkit.models.a -> actkit.streaming.b"):
            test_no_import_cycles()
        with pytest.raises(AssertionError, match="actkit.models.a:1 imports actkit.streaming.b"):
            test_layers_import_only_downward()
    finally:
        for name in fake:
            del MODULES[name]
