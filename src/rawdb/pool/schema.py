"""Is the database at the newest migration? One small check, asked before the pool opens.

It reads what the migrator records (``rawdb_migrations.version``) and the migration files
(``<root>/migrations/NNNN_slug.sql``). ``migrate=True`` runs the migrator first.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from pathlib import Path

from rawdb.config import Settings
from rawdb.connection import open_sync
from rawdb.errors import SchemaOutOfDate, UsageError, translate

MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def default_root() -> Path:
    """The shipped migrations: inside the installed package, else the checkout's ``sql/``."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "sql"
    return packaged if (packaged / "migrations").is_dir() else here.parents[3] / "sql"


def known_versions(root: Path) -> set[int]:
    """Version numbers of the migration files under ``root/migrations``."""
    folder = root / "migrations"
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: no migrations folder; pass migrations_dir= a folder holding migrations/"
        )
    return {int(m[1]) for p in folder.iterdir() if (m := MIGRATION_FILE.match(p.name))}


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    """Versions recorded in ``rawdb_migrations`` (empty when the migrator never ran)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rawdb_migrations'"
    ).fetchone()
    if found is None:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM rawdb_migrations")}


def ensure_current(
    database: Path, settings: Settings, *, root: Path | None = None, migrate: bool = False
) -> None:
    """Raise :class:`SchemaOutOfDate` unless every known migration is applied (sync)."""
    root = root or default_root()
    if migrate:
        migrator = importlib.import_module("rawdb.migrate").Migrator
        migrator(database, root, settings=settings).up()
    known = known_versions(root)
    conn = open_sync(database, settings, "migrator")
    try:
        applied = applied_versions(conn)
    except sqlite3.Error as exc:
        raise translate(exc, where=f"reading the schema version of {database}") from exc
    finally:
        conn.close()
    current, newest = max(applied, default=0), max(known, default=0)
    if current > newest:
        raise SchemaOutOfDate(
            f"{database} is at migration {current:04d}, newer than the newest this rawdb knows "
            f"({newest:04d}); upgrade rawdb, or point migrations_dir at the newer migrations"
        )
    missing = sorted(known - applied)
    if missing:
        listed = ", ".join(f"{v:04d}" for v in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise SchemaOutOfDate(
            f"{database} is at migration {current:04d} but the newest is {newest:04d} "
            f"(not applied: {listed}); run `python -m rawdb.migrate up` or open the pool "
            "with Pool.open(settings, migrate=True)"
        )
