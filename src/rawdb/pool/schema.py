"""Is the database at the newest migration? One small check, asked before the pool opens.

The migrator is the single authority on what "applied" and "pending" mean; this only asks it,
and with ``migrate=True`` lets it bring the database up to date first.
"""

from __future__ import annotations

from pathlib import Path

from rawdb import backend
from rawdb.backend import DriverError
from rawdb.config import SHIPPED_SET, Settings
from rawdb.errors import SchemaOutOfDate
from rawdb.migrate import Migrator
from rawdb.migrate.files import MigrationSet
from rawdb.migrate.history import Applied


def ensure_current(
    database: Path, settings: Settings, *, root: Path | None = None, migrate: bool = False
) -> None:
    """Raise :class:`SchemaOutOfDate` unless every migration of every configured set (rawdb's
    and ``settings.migrations``) is applied (blocking).

    ``root`` is a folder holding rawdb's own ``migrations/`` (default: the shipped ones).
    Sets recorded in the file but not configured here are the application's business.
    """
    backend.current().check_target(database)
    migrator = Migrator(database, root, settings=settings)
    try:
        if migrate:
            migrator.up()
        by_set = migrator.applied_by_set()
    except DriverError as exc:  # e.g. a corrupt schema page, met while reading the versions
        raise backend.current().translate(
            exc, where=f"reading the schema version of {database}"
        ) from exc
    for migration_set in migrator.stack.sets:
        _check_set(database, migration_set, by_set.get(migration_set.name, {}))


def _check_set(database: Path, migration_set: MigrationSet, applied: dict[int, Applied]) -> None:
    label = "" if migration_set.name == SHIPPED_SET else f"{migration_set.name} "
    current, newest = max(applied, default=0), migration_set.newest
    if current > newest:
        fix = (
            "upgrade rawdb, or point migrations_dir at the newer migrations"
            if migration_set.name == SHIPPED_SET
            else f"point the set {migration_set.name!r} at the folder holding them"
        )
        raise SchemaOutOfDate(
            f"{database} is at {label}migration {current:04d}, newer than the newest "
            f"{label or 'this rawdb '}knows ({newest:04d}); {fix}"
        )
    pending = [m.version for m in migration_set.migrations if m.version not in applied]
    if pending and not database.exists():  # a mistyped path, not a database to migrate
        backend.current().check_target(database, must_exist=True)
    if pending:
        listed = ", ".join(f"{v:04d}" for v in pending[:5]) + (" …" if len(pending) > 5 else "")
        raise SchemaOutOfDate(
            f"{database} is at {label}migration {current:04d} but the newest is {newest:04d} "
            f"(not applied: {listed}); run `rawdb migrate up` or open the pool "
            "with Pool.open(settings, migrate=True)"
        )
