"""The packages import in one direction only, bottom to top, and the graph has no cycle.

The order is docs/architecture.md's; `python tools/import_graph.py` prints the graph."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conftest import ROOT

LAYERS: list[tuple[str, set[str]]] = [
    (
        "ground",
        {
            "rawdb.errors",
            "rawdb.log",
            "rawdb.sql_setup",
            "rawdb.config",
            "rawdb.models",
            "rawdb.cli_common",
            "rawdb.version",
            "rawdb.tasks",
        },
    ),
    ("statements", {"rawdb.statements"}),
    ("backend seam", {"rawdb.backend"}),
    ("migrations", {"rawdb.migrate"}),
    ("pool", {"rawdb.pool", "rawdb.breaker"}),
    ("catalogue", {"rawdb.catalog"}),
    ("queries", {"rawdb.queries"}),
    ("engine moves", {"rawdb.transfer"}),
    ("ingest and archive", {"rawdb.ingest", "rawdb.archive"}),
    ("partition maintenance", {"rawdb.partitions"}),
    ("monitor", {"rawdb.monitor"}),
    ("trading", {"rawdb.trading"}),
    ("faces", {"rawdb.cli", "rawdb.__main__", "rawdb.demo", "rawdb.web"}),
]


def _graph_tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


GRAPH = _graph_tool()
RANK = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}


def test_every_package_has_a_layer() -> None:
    """A new package or top-level module is placed in the order before it lands."""
    unplaced = sorted(set(GRAPH.graph()) - set(RANK))
    assert unplaced == [], f"add these to LAYERS (and docs/architecture.md): {unplaced}"


def test_imports_point_down() -> None:
    """No package imports one above it."""
    upward = [
        f"{unit} ({LAYERS[RANK[unit]][0]}) imports {target} ({LAYERS[RANK[target]][0]})"
        for unit, targets in GRAPH.graph().items()
        for target in sorted(targets)
        if unit in RANK and target in RANK and RANK[target] > RANK[unit]
    ]
    assert upward == []


def test_no_cycles_between_packages_or_modules() -> None:
    assert GRAPH.cycles(GRAPH.graph()) == []
    assert GRAPH.cycles(GRAPH.graph(per_module=True)) == []


def test_the_graph_reads_real_imports(tmp_path: Path) -> None:
    """The reader finds an upward import and a cycle when there is one (a package written
    here for the purpose), so a green run above means something."""
    pkg = tmp_path / "src" / "rawdb"
    (pkg / "low").mkdir(parents=True)
    (pkg / "high").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("from rawdb.high import thing\n")
    (pkg / "high" / "__init__.py").write_text("from rawdb import low\nthing = 1\n")
    edges = GRAPH.graph(src=tmp_path / "src")
    assert edges == {"rawdb.low": {"rawdb.high"}, "rawdb.high": {"rawdb.low"}}
    assert GRAPH.cycles(edges) == [["rawdb.high", "rawdb.low"]]


DRIVERS = {"sqlite3", "aiosqlite", "psycopg", "asyncpg", "apsw"}
BELOW_THE_SEAM = {"rawdb/statements.py"}
"""Below the seam and engine-bound by nature: statement files are parsed with SQLite's own
test for a complete statement (a second dialect brings its own)."""


def test_nothing_above_the_seam_imports_a_driver() -> None:
    """Only rawdb.backend talks to a database driver; every other module names what it needs
    through rawdb.backend (so a second engine has one package to move into)."""
    import ast  # noqa: PLC0415 -- this test only

    offenders = []
    src = ROOT / "src"
    for path in sorted((src / "rawdb").rglob("*.py")):
        relative = path.relative_to(src).as_posix()
        if relative.startswith("rawdb/backend/") or relative in BELOW_THE_SEAM:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{relative}: {n}" for n in names if n.split(".")[0] in DRIVERS]
    assert offenders == []


def test_the_sqlite_path_never_imports_the_postgresql_driver() -> None:
    """The base install has no psycopg: nothing but a postgresql:// database may need it."""
    import subprocess  # noqa: PLC0415 -- appended test; the imports above are shared

    code = (
        "import sys, rawdb, rawdb.cli, rawdb.migrate.cli, rawdb.pool, rawdb.queries, "
        "rawdb.monitor, rawdb.partitions, rawdb.archive, rawdb.trading; "
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('psycopg', 'rawdb.backend.postgresql'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
