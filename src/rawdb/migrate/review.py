"""Checks a pull request runs over a migration set: round trips and the committed schema."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from rawdb.backend import SyncConnection
from rawdb.backend.sqlite import driver
from rawdb.config import Settings
from rawdb.migrate import history, schema
from rawdb.migrate.runner import Migrator
from rawdb.migrate.sql import SQL


def table_digests(conn: SyncConnection) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every application table's rows."""
    names = [
        r[0] for r in conn.execute(SQL["table_names"].sql) if r[0] not in schema.MIGRATOR_TABLES
    ]
    digests: dict[str, tuple[int, str]] = {}
    for name in sorted(names):
        rows = sorted(repr(row) for row in conn.execute(SQL["table_rows"].render(table=name)))
        digests[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return digests


def _state(path: Path) -> tuple[str, dict[str, tuple[int, str]]]:
    conn = driver.open_plain(path)
    try:
        return schema.dump(conn, history.current(conn)), table_digests(conn)
    finally:
        conn.close()


def round_trip(root: Path, database: Path | None = None) -> list[str]:
    """For each migration in turn: up, down, up; schema and data must match at each point.

    Starts from ``database`` (copied, so the original is untouched) or from an empty file.
    """
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rawdb-review-") as scratch:
        path = Path(scratch) / "review.sqlite3"
        if database is not None:
            source = driver.open_plain(database)
            dest = driver.open_plain(path)
            source.backup(dest)
            source.close()
            dest.close()
        settings = Settings.from_env(database=path)
        migrator = Migrator(path, root, backup=False, settings=settings)
        for migration in migrator.pending():
            before = _state(path)
            migrator.up(to=migration.version)
            after_up = _state(path)
            migrator.down(steps=1)
            if _state(path) != before:
                problems.append(f"{migration.name}: rollback does not restore the previous state")
            migrator.up(to=migration.version)
            if _state(path) != after_up:
                problems.append(f"{migration.name}: applying again gives a different state")
    return problems


def newest_schema(root: Path) -> str:
    """The canonical schema of a fresh database migrated to the newest version."""
    with tempfile.TemporaryDirectory(prefix="rawdb-schema-") as scratch:
        path = Path(scratch) / "fresh.sqlite3"
        Migrator(path, root, backup=False, settings=Settings.from_env(database=path)).up()
        return _state(path)[0]


def schema_is_current(root: Path, committed: Path) -> list[str]:
    """A problem when the committed schema file differs from what the migrations build."""
    fresh = newest_schema(root)
    if not committed.exists():
        return [f"{committed}: missing; write it with `make schema`"]
    if committed.read_text() != fresh:
        return [f"{committed}: stale; the migrations build a different schema. Run `make schema`"]
    return []
