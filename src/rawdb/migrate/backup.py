"""Online backups taken before the migrator changes a database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def backup_path(database: Path, version: int, when: datetime | None = None) -> Path:
    """``<db>.v0003.20261121T101500Z.bak`` beside the database: version it was taken at, time."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return database.with_name(f"{database.name}.v{version:04d}.{stamp}.bak")


def take(conn: sqlite3.Connection, target: Path) -> Path:
    """Copy the whole database through SQLite's online backup API in one step.

    One step holds a read transaction for the whole copy, so the backup is a consistent
    snapshot even while another connection writes (WAL lets the writer go on meanwhile).
    """
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest, pages=-1)
    finally:
        dest.close()
    return target
