"""Is the database at the newest migration? One small check, asked before the pool opens.

The migrator is the single authority on what "applied" and "pending" mean; this only asks it,
and with ``migrate=True`` lets it bring the database up to date first.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rawdb.config import Settings
from rawdb.connection import check_database_path
from rawdb.errors import SchemaOutOfDate, translate
from rawdb.migrate import Migrator


def ensure_current(
    database: Path, settings: Settings, *, root: Path | None = None, migrate: bool = False
) -> None:
    """Raise :class:`SchemaOutOfDate` unless every known migration is applied (blocking).

    ``root`` is a folder holding ``migrations/`` (default: the migrations shipped with rawdb).
    """
    check_database_path(database)
    migrator = Migrator(database, root, settings=settings)
    try:
        if migrate:
            migrator.up()
        applied = migrator.applied()
    except sqlite3.Error as exc:  # e.g. a corrupt schema page, met while reading the versions
        raise translate(exc, where=f"reading the schema version of {database}") from exc
    current, newest = max(applied, default=0), migrator.migrations.newest
    if current > newest:
        raise SchemaOutOfDate(
            f"{database} is at migration {current:04d}, newer than the newest this rawdb knows "
            f"({newest:04d}); upgrade rawdb, or point migrations_dir at the newer migrations"
        )
    pending = [m.version for m in migrator.pending(applied)]
    if pending and not database.exists():  # a mistyped path, not a database to migrate
        check_database_path(database, must_exist=True)
    if pending:
        listed = ", ".join(f"{v:04d}" for v in pending[:5]) + (" …" if len(pending) > 5 else "")
        raise SchemaOutOfDate(
            f"{database} is at migration {current:04d} but the newest is {newest:04d} "
            f"(not applied: {listed}); run `python -m rawdb.migrate up` or open the pool "
            "with Pool.open(settings, migrate=True)"
        )
