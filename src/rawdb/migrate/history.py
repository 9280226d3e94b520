"""The migrator's own tables: the applied versions of each migration set, and an append-only
history.

A database migrated before sets existed has a version table without ``set_name``; its rows
are rawdb's, and :func:`upgrade` rewrites the table in place (inside the caller's write
transaction) the first time a command that writes runs on it. A version table of sets written
before rollback checksums were recorded gets its ``rollback_checksum`` column the same way
(:func:`add_rollback_checksums`). Readers understand every layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from rawdb.backend import SyncConnection
from rawdb.config import SHIPPED_SET
from rawdb.migrate.sql import SQL

Action = Literal["apply", "rollback", "baseline", "fail"]
Layout = Literal["none", "single", "sets"]
Owner = Callable[[int, str, str], tuple[str, int]]
"""Where a row of the old single-set table belongs: (version, name, checksum) → (set, version)."""
RollbackOf = Callable[[str, int, str], str | None]
"""The rollback checksum to record for an applied row: (set, version, checksum) → checksum,
None when the applied file is no longer the one on disk (or it has no rollback)."""

ROLLBACK_COLUMN = "rollback_checksum"
"""The version table's column older tables of sets lack (:func:`add_rollback_checksums`)."""


@dataclass(frozen=True)
class Applied:
    """One row of ``rawdb_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: str
    duration_ms: float
    baselined: bool
    set_name: str = SHIPPED_SET
    depends_on: dict[str, int] = field(default_factory=dict)
    """The versions of other sets this one was applied on (what rolling them back would break)."""
    rollback_checksum: str | None = None
    """The rollback file's checksum when the migration was applied (None: not recorded)."""


def now() -> str:
    """UTC timestamp for the bookkeeping rows."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _columns(conn: SyncConnection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(SQL["table_info"].sql, (table,))}


def layout(conn: SyncConnection) -> Layout:
    """No version table, the single-set table of older rawdb, or the table of sets."""
    if not exists(conn):
        return "none"
    return "sets" if "set_name" in _columns(conn, "rawdb_migrations") else "single"


def ensure(
    conn: SyncConnection, owner: Owner | None = None, rollback_of: RollbackOf | None = None
) -> None:
    """Create the bookkeeping tables, or bring old ones to the current layout (inside the
    caller's write transaction)."""
    if layout(conn) == "single":
        upgrade(conn, owner)
    conn.execute(SQL["create_versions_table"].sql)
    conn.execute(SQL["create_history_table"].sql)
    add_rollback_checksums(conn, rollback_of)


def needs_upgrade(conn: SyncConnection) -> bool:
    """Whether the version table is of an older layout (no sets, or no rollback checksums)."""
    kind = layout(conn)
    return kind == "single" or (
        kind == "sets" and ROLLBACK_COLUMN not in _columns(conn, "rawdb_migrations")
    )


def add_rollback_checksums(conn: SyncConnection, rollback_of: RollbackOf | None) -> int:
    """Give a version table of sets its rollback_checksum column, in place, filled for the
    rows whose applied file is still on disk (``rollback_of``); the rows filled (inside the
    caller's write transaction). What is recorded then is the rollback as it is at that
    moment: edits after it are reported, earlier ones cannot be known."""
    if layout(conn) != "sets" or ROLLBACK_COLUMN in _columns(conn, "rawdb_migrations"):
        return 0
    conn.execute(SQL["add_rollback_checksum_column"].sql)
    return fill_rollback_checksums(conn, rollback_of)


def fill_rollback_checksums(conn: SyncConnection, rollback_of: RollbackOf | None) -> int:
    """Record the rollback checksum of rows that have none, where ``rollback_of`` knows it."""
    if rollback_of is None:
        return 0
    rows = conn.execute(SQL["versions_without_rollback_checksum"].sql).fetchall()
    filled = 0
    for set_name, version, checksum in rows:
        found = rollback_of(str(set_name), int(version), str(checksum))
        if found is not None:
            conn.execute(SQL["set_rollback_checksum"].sql, (found, set_name, version))
            filled += 1
    return filled


def upgrade(conn: SyncConnection, owner: Owner | None = None) -> int:
    """Rewrite the single-set version table with a set per row (rawdb's unless ``owner`` says
    otherwise), and give the history its set column; the rows moved (inside the caller's
    write transaction)."""
    if layout(conn) != "single":
        return 0
    rows = conn.execute(SQL["single_set_versions"].sql).fetchall()
    conn.execute(SQL["rename_single_set_table"].sql)
    conn.execute(SQL["create_versions_table"].sql)
    for version, name, checksum, applied_at, duration_ms, baselined in rows:
        set_name, number = owner(version, name, checksum) if owner else (SHIPPED_SET, version)
        conn.execute(
            SQL["insert_moved_version"].sql,
            (set_name, number, name, checksum, applied_at, duration_ms, baselined),
        )
    conn.execute(SQL["drop_single_set_table"].sql)
    if "set_name" not in _columns(conn, "rawdb_migration_history"):
        conn.execute(SQL["add_history_set_column"].sql)
    return len(rows)


def exists(conn: SyncConnection) -> bool:
    row = conn.execute(SQL["versions_table_exists"].sql).fetchone()
    return bool(row[0])


def applied_by_set(conn: SyncConnection) -> dict[str, dict[int, Applied]]:
    """Applied versions of every set recorded in the file, by set and number."""
    found: dict[str, dict[int, Applied]] = {}
    kind = layout(conn)
    if kind == "none":
        return found
    if kind == "single":
        query = "applied_versions_single_set"
    elif ROLLBACK_COLUMN in _columns(conn, "rawdb_migrations"):
        query = "applied_versions"
    else:
        query = "applied_versions_without_rollback_column"
    rows = conn.execute(SQL[query].sql).fetchall()
    for r in rows:
        set_name = str(r[6])
        found.setdefault(set_name, {})[r[0]] = Applied(
            r[0], r[1], r[2], r[3], r[4], bool(r[5]), set_name, json.loads(r[7]), r[8]
        )
    return found


def managed_sets(conn: SyncConnection) -> set[str]:
    """Every set the migrator has ever recorded anything of in this file (applied versions
    or history events), rolled back to nothing included."""
    kind = layout(conn)
    if kind == "none":
        return set()
    found = set(applied_by_set(conn))
    columns = _columns(conn, "rawdb_migration_history")  # empty: no history table
    if "set_name" in columns:
        rows = conn.execute(SQL["history_set_names"].sql)
        found |= {str(r[0]) for r in rows}
    elif columns and conn.execute(SQL["history_event_count"].sql).fetchone()[0]:
        found.add(SHIPPED_SET)
    return found


def applied(conn: SyncConnection, set_name: str = SHIPPED_SET) -> dict[int, Applied]:
    """Applied versions of one set by number (empty for a set never applied)."""
    return applied_by_set(conn).get(set_name, {})


def current(conn: SyncConnection, set_name: str = SHIPPED_SET) -> int:
    """The highest applied version of a set, 0 when none."""
    return max(applied(conn, set_name), default=0)


def record_applied(
    conn: SyncConnection,
    *,
    version: int,
    name: str,
    checksum: str,
    duration_ms: float,
    baselined: bool = False,
    set_name: str = SHIPPED_SET,
    depends_on: dict[str, int] | None = None,
    rollback_checksum: str | None = None,
) -> None:
    conn.execute(
        SQL["insert_applied_version"].sql,
        (
            set_name,
            version,
            name,
            checksum,
            now(),
            duration_ms,
            int(baselined),
            json.dumps(depends_on or {}, sort_keys=True),
            rollback_checksum,
        ),
    )


def remove_applied(conn: SyncConnection, version: int, set_name: str = SHIPPED_SET) -> None:
    conn.execute(SQL["delete_applied_version"].sql, (set_name, version))


def record_event(
    conn: SyncConnection,
    *,
    version: int,
    name: str,
    action: Action,
    checksum: str | None = None,
    duration_ms: float | None = None,
    backup: str | None = None,
    error: str | None = None,
    set_name: str = SHIPPED_SET,
) -> None:
    conn.execute(
        SQL["insert_history_event"].sql,
        (set_name, version, name, action, checksum, now(), duration_ms, backup, error),
    )


def events(conn: SyncConnection, limit: int = 50) -> list[dict[str, object]]:
    """The newest history rows, newest first."""
    if not exists(conn):
        return []
    with_set = "set_name" in _columns(conn, "rawdb_migration_history")
    query = "history_events" if with_set else "history_events_single_set"
    cursor = conn.execute(SQL[query].sql, (limit,))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def last_backup(conn: SyncConnection) -> str | None:
    if not exists(conn):
        return None
    row = conn.execute(SQL["last_backup"].sql).fetchone()
    return None if row is None else str(row[0])
