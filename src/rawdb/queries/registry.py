"""The query functions' statements: every ``sql/*.sql`` file of this package, parsed by
:mod:`rawdb.statements` once into an immutable registry."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rawdb.errors import InternalError
from rawdb.statements import Registry, Statement, parse

__all__ = ["Registry", "Statement", "load", "parse"]


def load(folder: Path | None = None) -> Registry:
    """Every statement of every ``*.sql`` file in the package's ``sql/`` folder."""
    root = folder or Path(str(resources.files("rawdb.queries") / "sql"))
    statements: dict[str, Statement] = {}
    for path in sorted(root.glob("*.sql")):
        for name, stmt in parse(path.read_text(encoding="utf-8"), path.name).items():
            if name in statements:
                raise InternalError(
                    f"{stmt.source}: {name!r} also defined at {statements[name].source}"
                )
            statements[name] = stmt
    return Registry(statements)
