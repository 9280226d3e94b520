"""Print the import graph of src/rawdb between its units, and every cycle in it.

A unit is a subpackage (``rawdb.queries``) or a top-level module (``rawdb.config``); with
``--modules`` every module is its own unit. Imports are read with ``ast`` (nothing is run);
those under ``if TYPE_CHECKING:`` count too, since a cycle there is still a knot for readers.

    python tools/import_graph.py            # edges and cycles between units
    python tools/import_graph.py --modules  # between modules

Exit status 1 when there is a cycle.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "rawdb"


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The package's modules that ``module`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            # `from rawdb.x import y` may name a submodule y, or a name defined in x.
            names = [
                f"{target}.{a.name}" if f"{target}.{a.name}" in known else target
                for a in node.names
            ]
        else:
            continue
        for name in names:
            found = name
            while found and found not in known:
                found = found.rpartition(".")[0]
            if found.startswith(PACKAGE) and found != module:
                yield found


def unit_of(module: str, *, per_module: bool) -> str:
    if per_module:
        return module
    parts = module.split(".")
    return ".".join(parts[:2])


def graph(*, per_module: bool = False, src: Path = SRC) -> dict[str, set[str]]:
    """Edges between units: unit -> the units it imports (the package root left out)."""
    found = modules(src)
    known = set(found)
    edges: dict[str, set[str]] = {}
    for module, path in found.items():
        here = unit_of(module, per_module=per_module)
        edges.setdefault(here, set())
        for target in imports_of(module, path, known):
            there = unit_of(target, per_module=per_module)
            if there not in {here, PACKAGE}:
                edges[here].add(there)
    edges.pop(PACKAGE, None)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", action="store_true", help="one unit per module")
    args = parser.parse_args(argv)
    edges = graph(per_module=args.modules)
    for unit in sorted(edges):
        print(f"{unit} -> {', '.join(sorted(edges[unit])) or '(nothing)'}")
    knots = cycles(edges)
    print(f"\ncycles: {len(knots)}")
    for knot in knots:
        print("  " + " <-> ".join(knot))
    return 1 if knots else 0


if __name__ == "__main__":
    sys.exit(main())
