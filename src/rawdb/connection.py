"""Opening a synchronous connection with rawdb's tuning (used by the migrator and tools).

The database file itself is never opened from Python: on POSIX, closing any descriptor of a
file drops every fcntl lock the process holds on it, so a header read beside a live connection
would make other processes believe the file unused, and the last of them to close would
checkpoint and delete the WAL still in use (https://www.sqlite.org/howtocorrupt.html, 2.2).
Whether a file is an SQLite database, and whether a connection can write, is asked of SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rawdb import pragmas
from rawdb.config import Settings
from rawdb.errors import (
    CannotOpen,
    DatabaseBusy,
    DatabaseCorrupt,
    RawdbError,
    ReadOnlyDatabase,
    refusal_class,
    translate,
)


def check_database_path(path: Path, *, must_exist: bool = False) -> None:
    """Refuse a path that cannot name a database file, before SQLite is asked (stat only).

    SQLite reports a directory as a "disk I/O error" and a missing folder as "unable to open";
    and a missing file would be created empty, which a mistyped path never wants.
    """
    if path.is_dir():
        raise CannotOpen(
            f"{path} is a directory, not a database file; name the file, e.g. "
            f"{path / 'rawdb.sqlite3'}. Nothing was written."
        )
    if not path.parent.is_dir():
        raise CannotOpen(
            f"{path}: the folder {path.parent} does not exist; check the path (rawdb creates a "
            "database file, never its folders). Nothing was written."
        )
    if must_exist and not path.exists():
        raise CannotOpen(
            f"{path} does not exist; check the path, or create the database with "
            f"`RAWDB_DATABASE={path} python -m rawdb.migrate up`. Nothing was written."
        )


def refuse_non_database(conn: sqlite3.Connection, path: Path) -> None:
    """Read page 1 through SQLite; a file that is not a database is refused untouched."""
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_NOTADB":
            raise
        raise DatabaseCorrupt(
            f"{path}: not an SQLite database (SQLite: {exc}); point RAWDB_DATABASE at the "
            "right file. Nothing was written."
        ) from exc


def refuse_read_only(conn: sqlite3.Connection, path: Path) -> None:
    """Prove the connection can write: SQLite opens a file it cannot write read-only, silently.

    The probe writes the header's user_version back unchanged inside a transaction it rolls
    back, so nothing reaches the file. It does not wait for the write lock (busy_timeout is 0
    until the tuning sets it again): another writer holding the lock has shown that the file
    is writable, and the first write of this connection will wait its turn as usual.
    """
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            return
        raise
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"PRAGMA user_version={version}")
    except sqlite3.OperationalError as exc:
        if not getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
            raise
        raise ReadOnlyDatabase(
            f"{path}: SQLite could open it only read-only (SQLite: {exc}); the file, its folder "
            "or the file system is not writable. Fix that, then retry; nothing was written."
        ) from exc
    finally:
        conn.execute("ROLLBACK")


def open_sync(
    path: Path | str,
    settings: Settings | None = None,
    role: pragmas.Role = "migrator",
    *,
    any_thread: bool = False,
    create: bool = True,
) -> sqlite3.Connection:
    """A stdlib connection in autocommit mode (rawdb issues BEGIN itself), tuned and checked.

    A writer or migrator connection is checked to be writable; ``create=False`` refuses a
    file that does not exist instead of creating it. ``any_thread`` lifts sqlite3's
    same-thread check, for the pool: its connections are opened in aiosqlite's thread and may
    run a point read on the event loop's (never two at once).
    """
    settings = settings or Settings.from_env()
    target = Path(path)
    check_database_path(target, must_exist=not create)
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
        refuse_non_database(conn, target)
        if role != "reader":
            refuse_read_only(conn, target)
        pragmas.apply(conn, pragmas.tuning(settings, role))
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, where=f"opening {target}") from exc
    except RawdbError:
        conn.close()
        raise
    return conn


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file, after SQLite has recovered a hot journal.

    A process killed inside a rollback-journal transaction leaves a hot ``-journal``; only a
    read-write connection may roll it back, and a read-only one fails on it with "attempt to
    write a readonly database". So a journal beside the file is recovered first, the way any
    SQLite client recovers it: by opening the file read-write and reading it.
    """
    check_database_path(path, must_exist=True)
    journal = path.with_name(f"{path.name}-journal")
    if journal.exists() and journal.stat().st_size > 0:
        try:
            recovering = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
            try:
                refuse_non_database(recovering, path)
            finally:
                recovering.close()
        except sqlite3.Error as exc:
            raise translate(exc, where=f"recovering the hot journal {journal}") from exc
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise translate(exc, where=f"opening {path} read-only") from exc
    try:
        refuse_non_database(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, where=f"opening {path} read-only") from exc
    except RawdbError:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, what: str, *, write: bool = True) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (or a deferred read transaction) … ``COMMIT``; rolled back when the
    block raises. Driver errors become rawdb errors naming ``what``; a write lock another
    process held past busy_timeout says so and what to do."""
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        if refusal_class(exc) is DatabaseBusy:
            raise DatabaseBusy(
                f"{what}: another connection held the database's write lock for longer than "
                f"busy_timeout ({_busy_timeout_ms(conn)} ms; RAWDB_BUSY_TIMEOUT_MS); nothing "
                "was changed. Run it again once the other writer is done, or wait longer."
            ) from exc
        raise translate(exc, where=what) from exc
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, where=what) from exc
        raise


def _busy_timeout_ms(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
