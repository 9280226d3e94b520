"""Opening a synchronous connection with rawdb's tuning (used by the migrator and tools)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rawdb import pragmas
from rawdb.config import Settings
from rawdb.errors import DatabaseCorrupt, RawdbError, translate

SQLITE_HEADER = b"SQLite format 3\x00"


def check_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that exists but is not an SQLite database."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise DatabaseCorrupt(
            f"{path}: not an SQLite database (header {header[:16]!r}); "
            "point RAWDB_DATABASE at the right file. Nothing was written."
        )


def open_sync(
    path: Path | str,
    settings: Settings | None = None,
    role: pragmas.Role = "migrator",
    *,
    any_thread: bool = False,
) -> sqlite3.Connection:
    """A stdlib connection in autocommit mode (rawdb issues BEGIN itself), tuned and checked.

    ``any_thread`` lifts sqlite3's same-thread check, for the pool: its connections are opened
    in aiosqlite's thread and may run a point read on the event loop's (never two at once).
    """
    settings = settings or Settings.from_env()
    target = Path(path)
    check_file(target)
    try:
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            timeout=settings.busy_timeout_ms / 1000,
            check_same_thread=not any_thread,
        )
    except sqlite3.Error as exc:
        raise translate(exc, where=f"opening {target}") from exc
    try:
        pragmas.apply(conn, pragmas.tuning(settings, role))
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, where=f"tuning {target}") from exc
    except RawdbError:
        conn.close()
        raise
    return conn
