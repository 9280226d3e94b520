"""Online backups taken before the migrator changes a database."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from rawdb import backend, sql_setup
from rawdb.backend import DriverError, SyncConnection
from rawdb.backend.sqlite import driver
from rawdb.errors import DatabaseCorrupt
from rawdb.migrate.sql import SQL
from rawdb.sql_setup import SqlSetup

PARTIAL = ".partial"


def backup_path(database: Path, version: int, when: datetime | None = None) -> Path:
    """``<db>.v0003.20261121T101500Z.bak`` beside the database: version it was taken at, time."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return database.with_name(f"{database.name}.v{version:04d}.{stamp}.bak")


def take(conn: SyncConnection, target: Path, setup: SqlSetup | str | None = None) -> Path:
    """Copy the whole database through SQLite's online backup API in one step.

    One step holds a read transaction for the whole copy, so the backup is a consistent
    snapshot even while another connection writes (WAL lets the writer go on meanwhile).
    The copy is written under ``<target>.partial`` and renamed only once it is complete and
    passes ``quick_check``: a file named ``.bak`` is always a usable database, and a run killed
    mid-copy leaves only a ``.partial`` file, which no one mistakes for a backup. The copy's
    connection has the application's SQL ``setup``: quick_check computes its indexes' expressions.
    """
    partial = target.with_name(target.name + PARTIAL)
    try:
        dest = driver.open_plain(partial)
        try:
            sql_setup.apply(dest, setup)
            conn.backup(dest, pages=-1)
            # A rollback-journal copy in one file, with no -wal or -journal left beside it.
            dest.execute(SQL["journal_mode_delete"].sql).fetchall()
            verdict = dest.execute(SQL["quick_check"].sql).fetchone()[0]
        finally:
            dest.close()
    except DriverError as exc:
        _discard(partial)
        where = f"writing the backup {target}{sql_setup.missing_hint(exc)}"
        raise backend.current().translate(exc, where=where) from exc
    except BaseException:
        _discard(partial)
        raise
    if verdict != "ok":
        _discard(partial)
        raise DatabaseCorrupt(
            f"the backup copy {partial} failed quick_check ({verdict}); nothing was migrated. "
            "Run `PRAGMA integrity_check` on the database itself."
        )
    os.replace(partial, target)
    return target


def discard_unfinished(database: Path) -> list[tuple[Path, int]]:
    """Remove the unfinished copies (``.bak.partial`` and its journal) a killed run left
    beside ``database``; (path, bytes) of each. Call it holding the migrator lock: then no
    other migrator is writing one."""
    removed: list[tuple[Path, int]] = []
    for leftover in sorted(database.parent.glob(f"{database.name}.v*.bak{PARTIAL}*")):
        try:
            size = leftover.stat().st_size
            leftover.unlink()
        except FileNotFoundError:
            continue
        removed.append((leftover, size))
    return removed


def _discard(partial: Path) -> None:
    for leftover in (partial, partial.with_name(partial.name + "-journal")):
        leftover.unlink(missing_ok=True)
