"""The migrator's own tables: the set of applied versions and an append-only history."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Action = Literal["apply", "rollback", "baseline", "fail"]

# Created inside the first migration's transaction, so a database is never left with
# bookkeeping tables but no migration.
DDL = (
    """CREATE TABLE IF NOT EXISTS rawdb_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    baselined INTEGER NOT NULL DEFAULT 0 CHECK (baselined IN (0, 1))
)""",
    """CREATE TABLE IF NOT EXISTS rawdb_migration_history (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('apply', 'rollback', 'baseline', 'fail')),
    checksum TEXT,
    at TEXT NOT NULL,
    duration_ms REAL,
    backup TEXT,
    error TEXT
)""",
)


@dataclass(frozen=True)
class Applied:
    """One row of ``rawdb_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: str
    duration_ms: float
    baselined: bool


def now() -> str:
    """UTC timestamp for the bookkeeping rows."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def ensure(conn: sqlite3.Connection) -> None:
    """Create the bookkeeping tables (inside the caller's transaction)."""
    for ddl in DDL:
        conn.execute(ddl)


def exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'rawdb_migrations'"
    ).fetchone()
    return bool(row[0])


def applied(conn: sqlite3.Connection) -> dict[int, Applied]:
    """Applied versions by number (empty for a database the migrator has never touched)."""
    if not exists(conn):
        return {}
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at, duration_ms, baselined "
        "FROM rawdb_migrations ORDER BY version"
    ).fetchall()
    return {r[0]: Applied(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows}


def current(conn: sqlite3.Connection) -> int:
    """The highest applied version, 0 when none."""
    return max(applied(conn), default=0)


def record_applied(
    conn: sqlite3.Connection,
    *,
    version: int,
    name: str,
    checksum: str,
    duration_ms: float,
    baselined: bool = False,
) -> None:
    conn.execute(
        "INSERT INTO rawdb_migrations (version, name, checksum, applied_at, duration_ms, "
        "baselined) VALUES (?, ?, ?, ?, ?, ?)",
        (version, name, checksum, now(), duration_ms, int(baselined)),
    )


def remove_applied(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("DELETE FROM rawdb_migrations WHERE version = ?", (version,))


def record_event(
    conn: sqlite3.Connection,
    *,
    version: int,
    name: str,
    action: Action,
    checksum: str | None = None,
    duration_ms: float | None = None,
    backup: str | None = None,
    error: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO rawdb_migration_history "
        "(version, name, action, checksum, at, duration_ms, backup, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (version, name, action, checksum, now(), duration_ms, backup, error),
    )


def events(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, object]]:
    """The newest history rows, newest first."""
    if not exists(conn):
        return []
    cursor = conn.execute(
        "SELECT id, version, name, action, checksum, at, duration_ms, backup, error "
        "FROM rawdb_migration_history ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def last_backup(conn: sqlite3.Connection) -> str | None:
    if not exists(conn):
        return None
    row = conn.execute(
        "SELECT backup FROM rawdb_migration_history WHERE backup IS NOT NULL "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])
