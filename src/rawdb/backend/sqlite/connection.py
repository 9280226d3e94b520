"""Opening a synchronous connection with rawdb's tuning (used by the migrator and tools).

The database file itself is never opened from Python: on POSIX, closing any descriptor of a
file drops every fcntl lock the process holds on it, so a header read beside a live connection
would make other processes believe the file unused, and the last of them to close would
checkpoint and delete the WAL still in use (https://www.sqlite.org/howtocorrupt.html, 2.2).
Whether a file is an SQLite database, and whether a connection can write, is asked of SQLite.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rawdb import log, sql_setup
from rawdb.backend.sqlite import pragmas
from rawdb.backend.sqlite.errors import refusal_class, translate
from rawdb.config import Settings
from rawdb.errors import (
    CannotOpen,
    DatabaseBusy,
    DatabaseCorrupt,
    InternalError,
    ReadOnlyDatabase,
)

# Transaction and connection control, as SQLite spells it: the statements every layer above
# runs through these names, so another engine's spelling has one place to go.
BEGIN_READ = "BEGIN"
"""A deferred transaction: a consistent snapshot for the reads inside it."""
BEGIN_WRITE = "BEGIN IMMEDIATE"
"""A write transaction that takes the write lock at once (never a deadlock on upgrade)."""
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"
PING = "SELECT 1"
"""The cheapest statement that proves a connection answers."""


def query_plan(sql: str) -> str:
    """The statement asking SQLite's planner how it would run ``sql`` (nothing is run)."""
    return f"EXPLAIN QUERY PLAN {sql}"


_SAVEPOINT_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def savepoint(name: str) -> str:
    """The statement opening savepoint ``name`` (a checked snake_case name)."""
    return f"SAVEPOINT {_savepoint_name(name)}"


def release(name: str) -> str:
    """The statement ending savepoint ``name``, keeping its changes."""
    return f"RELEASE {_savepoint_name(name)}"


def rollback_to(name: str) -> str:
    """The statement undoing what was done since savepoint ``name`` (it stays open)."""
    return f"ROLLBACK TO {_savepoint_name(name)}"


def _savepoint_name(name: str) -> str:
    if not _SAVEPOINT_NAME.match(name):
        raise InternalError(f"savepoint name {name!r} is not snake_case")
    return name


WAIT_SETTING = "RAWDB_BUSY_TIMEOUT_MS (--wait on rawdb's commands)"
"""What sets a connection's wait for the write lock, as the notices name it by default."""
RETRY_PAUSE_S = 0.01
"""Pause between tries when SQLite answers busy before its wait is over (never a busy loop)."""
PROC_LOCKS = Path("/proc/locks")
WAL_WRITE_BYTE = 120
"""The -shm byte whose fcntl lock is WAL mode's write lock (sqlite.org/walformat.html)."""
RESERVED_BYTE = 0x40000001
"""The database file's RESERVED lock byte in rollback-journal mode (PENDING_BYTE + 1)."""


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
    kind = _not_a_regular_file(path)
    if kind is not None:
        # SQLite would block forever on a FIFO and write a -journal beside a device's path.
        raise CannotOpen(
            f"{path} is {kind}, not a database file; name a regular file (or a new one). "
            "Nothing was written."
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


def _not_a_regular_file(path: Path) -> str | None:
    """What ``path`` is when it exists (through symlinks) and is not a regular file."""
    if path.is_symlink() and not path.exists():
        return f"a symlink to {os.readlink(path)}, which does not exist"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    kinds = {
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


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
    with _closed_on_failure(conn, f"opening {target}"):
        refuse_non_database(conn, target)
        sql_setup.apply(conn, settings.sql_setup)
        if role != "reader":
            refuse_read_only(conn, target)
        pragmas.apply(conn, pragmas.tuning(settings, role), settings.busy_timeout_ms / 1000)
    return conn


@contextmanager
def _closed_on_failure(conn: sqlite3.Connection, where: str) -> Iterator[None]:
    """Checks and tuning of a new connection: on any failure it is closed, a driver error
    becoming the rawdb error for its cause (naming ``where``)."""
    try:
        yield
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, where=where) from exc
    except BaseException:
        conn.close()
        raise


def scratch(setup: sql_setup.SqlSetup | str | None = None) -> sqlite3.Connection:
    """An empty in-memory database (autocommit) with the application's SQL ``setup``: where
    the migrator builds the schema a set should give and the advisor plans statements."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    with _closed_on_failure(conn, "setting up a scratch database"):
        sql_setup.apply(conn, setup)
    return conn


def open_read_only(path: Path, setup: sql_setup.SqlSetup | str | None = None) -> sqlite3.Connection:
    """A connection that cannot change the file, after SQLite has recovered a hot journal.

    A process killed inside a rollback-journal transaction leaves a hot ``-journal``; only a
    read-write connection may roll it back, and a read-only one fails on it with "attempt to
    write a readonly database". So a journal beside the file is recovered first, the way any
    SQLite client recovers it: by opening the file read-write and reading it. ``setup`` is
    the application's SQL setup (:mod:`rawdb.sql_setup`).
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
    with _closed_on_failure(conn, f"opening {path} read-only"):
        refuse_non_database(conn, path)
        sql_setup.apply(conn, setup)
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection,
    what: str,
    *,
    write: bool = True,
    component: str = "connection",
    wait_set_by: str = WAIT_SETTING,
) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (or a deferred read transaction) … ``COMMIT``; rolled back when the
    block raises. Driver errors become rawdb errors naming ``what``. A write waits for the lock
    as :func:`begin_write` says; ``component`` names the logger of its notice and
    ``wait_set_by`` what sets the wait (both for the messages only)."""
    if write:
        begin_write(conn, what, component=component, wait_set_by=wait_set_by)
    else:
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
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


def begin_write(
    conn: sqlite3.Connection,
    what: str,
    *,
    component: str = "connection",
    wait_set_by: str = WAIT_SETTING,
) -> None:
    """``BEGIN IMMEDIATE``, waiting for the write lock at most the connection's busy timeout.

    The first try does not wait. When another connection holds the lock, one warning says so
    (SQLite's own wait is silent), then tries follow, each with the time that remains, so the
    whole wait is the busy timeout whatever SQLite's busy handler does. Still held after that:
    :class:`DatabaseBusy` naming the file, the wait and what to do. The busy timeout is the
    connection's own again afterwards.
    """
    try:
        timeout_ms = busy_timeout_ms(conn)
        _set_busy_timeout(conn, 0)
    except sqlite3.Error as exc:  # e.g. a closed connection
        raise translate(exc, where=what) from exc
    started = time.monotonic()
    deadline = started + timeout_ms / 1000
    try:
        if _try_begin(conn, what):
            return
        path = database_file(conn)
        if timeout_ms > 0:
            announce_wait(log.get_logger(component), what, path, timeout_ms, wait_set_by)
        while (left := deadline - time.monotonic()) > 0:
            _set_busy_timeout(conn, math.ceil(left * 1000))
            if _try_begin(conn, what):
                return
            time.sleep(max(0.0, min(RETRY_PAUSE_S, deadline - time.monotonic())))
        message = busy_message(
            what,
            path,
            waited_s=time.monotonic() - started,
            timeout_ms=timeout_ms,
            holder=write_lock_holder(path) if path else None,
            wait_set_by=wait_set_by,
        )
        raise DatabaseBusy(message)
    finally:
        with contextlib.suppress(sqlite3.Error):  # a closed connection: the error above matters
            _set_busy_timeout(conn, timeout_ms)


def _try_begin(conn: sqlite3.Connection, what: str) -> bool:
    """``BEGIN IMMEDIATE``: True when it began, False when the lock is held elsewhere."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        if refusal_class(exc) is DatabaseBusy:
            return False
        raise translate(exc, where=what) from exc
    return True


def announce_wait(
    logger: Any, what: str, path: Path | None, timeout_ms: int, wait_set_by: str
) -> None:
    """The one notice of a wait for the write lock: a :data:`~rawdb.log.WRITE_LOCK_WAITING`
    warning on ``logger`` (its ``note`` a sentence for a person), also told to a person by
    :func:`rawdb.log.tell` (a command shows it on its terminal)."""
    where = str(path) if path else "the database"
    holder = write_lock_holder(path) if path else None
    note = (
        f"waiting up to {timeout_ms / 1000:g} s for the write lock on {where}, held by "
        f"{_held_by(holder)}; {wait_set_by} sets how long"
    )
    logger.warning(
        log.WRITE_LOCK_WAITING, what=what, database=where, wait_s=timeout_ms / 1000, note=note
    )
    log.tell(f"{what}: {note}")


def busy_message(
    what: str,
    path: Path | None,
    *,
    waited_s: float,
    timeout_ms: int,
    holder: str | None,
    wait_set_by: str,
) -> str:
    """What :class:`DatabaseBusy` says when the write lock stayed held for the whole wait."""
    where = str(path) if path else "the database"
    return (
        f"{what}: {_held_by(holder)} held the write lock on {where} for the whole wait "
        f"({waited_s:.1f} s; the wait is {timeout_ms} ms, set by {wait_set_by}); nothing was "
        "changed. Find the process holding the lock (another rawdb command, a sqlite3 shell "
        "left inside BEGIN, a backup tool) and let it finish, or raise the wait; then run it "
        "again."
    )


def _held_by(holder: str | None) -> str:
    return f"another connection ({holder})" if holder else "another connection"


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The main database file of ``conn`` (None for an in-memory database)."""
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return Path(row[2]) if row[2] else None
    return None


def write_lock_holder(database: Path) -> str | None:
    """The process holding the write lock on ``database``, as Linux's /proc/locks shows it;
    None when it cannot tell (another system, a holder in another container, no lock seen).

    SQLite cannot say who holds a lock; the kernel can: in WAL mode the write lock is an
    fcntl lock on one byte of the ``-shm`` file, in rollback-journal mode on the RESERVED byte
    of the database file. Only ``stat`` and /proc are read, never the database's files.
    """
    wanted: dict[str, int] = {}
    for path, byte in ((Path(f"{database}-shm"), WAL_WRITE_BYTE), (database, RESERVED_BYTE)):
        with contextlib.suppress(OSError):
            info = os.stat(path)
            wanted[f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"] = byte
    try:
        lines = PROC_LOCKS.read_text().splitlines() if wanted else []
    except OSError:
        return None
    for line in lines:
        pid = _holder_pid(line.split(), wanted)
        if pid is not None:
            return _describe(pid)
    return None


def _holder_pid(fields: list[str], wanted: dict[str, int]) -> int | None:
    """The pid of a /proc/locks line ``N: POSIX ADVISORY WRITE pid maj:min:inode start end``
    holding an exclusive lock over a wanted byte (waiters' lines start ``N: ->``)."""
    if len(fields) < 8 or fields[1] != "POSIX" or fields[3] != "WRITE":
        return None
    byte = wanted.get(fields[5])
    pid, start, end = fields[4], fields[6], fields[7]
    if byte is None or not pid.isdigit() or not start.isdigit():
        return None
    if int(start) <= byte and (end == "EOF" or (end.isdigit() and byte <= int(end))):
        return int(pid) or None  # 0: a process this one cannot see
    return None


def _describe(pid: int) -> str:
    if pid == os.getpid():
        return f"this process, pid {pid}"
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid}"
    # One line, short: an argument may hold newlines (python -c with a script).
    command = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split())
    if len(command) > 80:
        command = command[:79] + "…"
    return f"pid {pid}: {command}" if command else f"pid {pid}"


def busy_timeout_ms(conn: sqlite3.Connection) -> int:
    """The connection's busy timeout (how long SQLite waits for a lock), in milliseconds."""
    return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])


def _set_busy_timeout(conn: sqlite3.Connection, ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout={int(ms)}").fetchall()
