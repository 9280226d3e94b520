"""The query functions' statements: every ``sql/*.sql`` file of this package, parsed by
:mod:`rawdb.statements` once into an immutable registry."""

from __future__ import annotations

from pathlib import Path

from rawdb.statements import Registry, Statement, load_folder, load_package, parse

__all__ = ["Registry", "Statement", "load", "parse"]


def load(folder: Path | None = None, *, dialect: str = "sqlite") -> Registry:
    """Every statement of every ``*.sql`` file in the package's ``sql/`` folder (or an
    application's ``folder``), written for ``dialect``: ``"postgresql"`` statements are written
    with ``:name`` or ``?`` placeholders like SQLite's and run on a PostgreSQL pool."""
    if folder is None:
        return load_package("rawdb.queries", dialect)
    return load_folder(folder, dialect=dialect)
