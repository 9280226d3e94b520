"""One pooled connection: how it is opened and tuned, and the handle a caller uses.

:class:`Handle` is the pool's record of a physical connection (age, query count, health).
:class:`Connection` is what ``pool.read()`` / ``pool.write()`` hand out: a lease on a handle that
stops working when its ``async with`` block ends, so a stale reference cannot reach a
connection another task now holds.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from rawdb.backend.sqlite import deadline, pragmas
from rawdb.backend.sqlite.connection import (
    BEGIN_WRITE,
    COMMIT,
    announce_wait,
    busy_message,
    open_sync,
    release,
    rollback_to,
    savepoint,
    write_lock_holder,
)
from rawdb.backend.sqlite.errors import translate
from rawdb.config import Settings
from rawdb.errors import (
    CannotOpen,
    ConfigError,
    DatabaseBusy,
    QueryTimeout,
    RawdbError,
    UsageError,
)

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]
Observer = Callable[[str, float, int | None, BaseException | None, object], None]
"""Told of every statement: ``(name, seconds, rows, error, params)``; see ``Pool.observer``.
Transaction control reports as ``"BEGIN IMMEDIATE"`` (the wait for the write lock) and
``"COMMIT"``. It runs on the event loop after each statement, so it must be quick."""

# Result codes after which a connection is not trusted again: it is closed and reopened.
BROKEN_CODES = ("SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN")
BUSY_CODES = ("SQLITE_BUSY", "SQLITE_LOCKED")
OBSERVED_CONTROL = frozenset({BEGIN_WRITE, COMMIT})
# What aiosqlite says when its worker thread or the sqlite3 connection underneath is gone.
GONE_MESSAGES = ("Connection closed", "no active connection")
WAIT_NOTICE_AFTER = 0.1
IN_PLACE_ROWS = 500
"""Most rows :meth:`Connection.executemany_now` runs on the calling thread (~2 ms of upserts)."""
"""Seconds ``pool.write()`` waits for the write lock before it warns: a shorter wait (another
process's commit) is routine, a longer one deserves its line."""
WAIT_SET_BY = "Settings.busy_timeout_ms (RAWDB_BUSY_TIMEOUT_MS; --wait on rawdb's commands)"
WAITING_WHAT = "pool.write() (BEGIN IMMEDIATE)"


@dataclass(eq=False, slots=True)
class Handle:
    """The pool's record of one physical connection (``raw`` is None while closed)."""

    role: pragmas.Role
    raw: aiosqlite.Connection | None = None
    direct: sqlite3.Connection | None = None  # readers: a second one, for point reads
    own: sqlite3.Connection | None = None  # the writer: raw's own, for point reads in its txn
    inner: sqlite3.Connection | None = None  # readers: raw's own, for interrupt() at a deadline
    alarm: deadline.Alarm = field(default_factory=deadline.Alarm)  # direct's progress handler
    opened_at: float = 0.0
    last_used: float = 0.0
    queries: int = 0
    broken: bool = False
    depth: int = 0  # open SAVEPOINTs of atomic() blocks
    observer: Observer | None = None

    def connection(self) -> aiosqlite.Connection:
        if self.raw is None:
            raise UsageError("this connection is closed; use connections only inside pool blocks")
        return self.raw


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a statement that returns no rows did."""

    rowcount: int
    lastrowid: int | None


@dataclass(frozen=True, slots=True)
class Retry:
    """Back-off for reads that hit SQLITE_BUSY: ``base * 2**attempt``, capped, with jitter."""

    attempts: int
    base: float
    cap: float
    on_retry: Callable[[], None]


def connect_sync(
    path: Path, settings: Settings, role: pragmas.Role, *, any_thread: bool = False
) -> sqlite3.Connection:
    """Open, tune and check one stdlib connection; runs inside aiosqlite's worker thread."""
    conn = open_sync(path, settings, role, any_thread=any_thread)
    row = conn.execute(pragmas.reading("foreign_keys")).fetchone()
    if row is None or row[0] != 1:
        conn.close()
        raise ConfigError(
            f"{path}: PRAGMA foreign_keys is off on a new {role} connection; rawdb refuses to "
            "run without foreign keys (an SQLite build with SQLITE_OMIT_FOREIGN_KEY?)"
        )
    conn.row_factory = sqlite3.Row
    return conn


async def open_handle(handle: Handle, settings: Settings, now: float) -> None:
    """(Re)open the physical connection of ``handle`` with the tuning for its role."""

    path = Path(settings.database)

    def connector() -> sqlite3.Connection:
        writer = handle.role == "writer"
        conn = connect_sync(path, settings, handle.role, any_thread=writer)
        if writer:
            handle.own = conn
        elif handle.role == "reader":
            handle.inner = conn
            handle.direct = connect_direct(path, settings, handle.alarm)
        return conn

    try:
        handle.raw = await aiosqlite.Connection(connector, iter_chunk_size=256)
    except sqlite3.Error as exc:
        _close_direct(handle)
        raise translate(exc, where=f"opening a {handle.role} connection") from exc
    handle.opened_at = handle.last_used = now
    handle.queries = 0
    handle.broken = False
    handle.depth = 0


def connect_direct(path: Path, settings: Settings, alarm: deadline.Alarm) -> sqlite3.Connection:
    """A reader's second connection, for :meth:`Connection.fetchall_now` on the event loop's
    thread: opened in aiosqlite's thread (hence ``any_thread``), used by one task at a time
    (the lease), and it never waits for a lock (busy_timeout 0: a busy read goes the usual
    way instead of making the event loop sleep). ``alarm`` stops a read past its deadline."""
    conn = connect_sync(path, settings, "reader", any_thread=True)
    conn.execute(pragmas.setting("busy_timeout", 0))
    deadline.install(conn, alarm)
    return conn


def _close_direct(handle: Handle) -> None:
    handle.own = handle.inner = None  # aiosqlite closes them
    direct, handle.direct = handle.direct, None
    if direct is not None:
        direct.close()


async def close_handle(handle: Handle, *, optimize: bool) -> None:
    """Close the physical connection, first running ``PRAGMA optimize`` when asked.

    ``analysis_limit`` keeps the ANALYZE that optimize may start short on big tables. A reader
    lifts ``query_only`` for this, since ANALYZE writes ``sqlite_stat1``; it is closing anyway.
    """
    _close_direct(handle)
    raw, handle.raw = handle.raw, None
    if raw is None:
        return
    try:
        if optimize and not handle.broken:
            await _optimize(raw, handle.role)
    finally:
        await raw.close()


async def _optimize(raw: aiosqlite.Connection, role: pragmas.Role) -> None:
    """``PRAGMA optimize`` without waiting for the write lock its ANALYZE takes: at close it is
    a chance, not a duty (the next close, or ``Upkeep``, runs it), and a lock another process
    holds must not delay a shutdown by busy_timeout for each connection."""
    await raw.execute(pragmas.setting("busy_timeout", 0))
    if role == "reader":
        await raw.execute(pragmas.setting("query_only", "OFF"))
    await raw.execute(pragmas.setting("analysis_limit", 1000))
    try:
        await raw.execute(pragmas.reading("optimize"))
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise


def in_transaction(handle: Handle) -> bool:
    """Whether a transaction is open; a connection that cannot say is marked broken."""
    if handle.raw is None:
        return False
    try:
        return handle.raw.in_transaction
    except ValueError:  # aiosqlite: the sqlite3 connection underneath is gone
        handle.broken = True
        return False


async def control(handle: Handle, sql: str) -> None:
    """Run a transaction-control statement (BEGIN, COMMIT, SAVEPOINT…), errors translated."""
    observer = handle.observer if sql in OBSERVED_CONTROL else None
    started = time.perf_counter() if observer is not None else 0.0
    try:
        await handle.connection().execute(sql)
    except sqlite3.Error as exc:
        _note_broken(handle, exc)
        if observer is not None:
            observer(sql, time.perf_counter() - started, None, exc, ())
        raise translate(exc, statement=sql) from exc
    if observer is not None:
        observer(sql, time.perf_counter() - started, None, None, ())


async def begin_immediate(handle: Handle, database: Path, timeout_ms: int, logger: Any) -> None:
    """``BEGIN IMMEDIATE`` on the writer, waiting for the write lock at most ``timeout_ms``.

    SQLite's busy handler does the waiting, in the connection's thread (the event loop runs
    on), and spends the whole busy timeout before it gives up. A wait longer than
    :data:`WAIT_NOTICE_AFTER` is announced once on ``logger`` (see
    :func:`rawdb.backend.sqlite.connection.announce_wait`); a lock still held at the end raises
    :class:`DatabaseBusy` naming the file and what to do.
    """
    notice = None
    if timeout_ms > WAIT_NOTICE_AFTER * 1000:
        notice = asyncio.get_running_loop().call_later(
            WAIT_NOTICE_AFTER, _warn_waiting, logger, database, timeout_ms
        )
    started = time.perf_counter()
    try:
        await control(handle, BEGIN_WRITE)
    except DatabaseBusy as exc:
        message = busy_message(
            WAITING_WHAT,
            database,
            waited_s=time.perf_counter() - started,
            timeout_ms=timeout_ms,
            holder=write_lock_holder(database),
            wait_set_by=WAIT_SET_BY,
        )
        raise DatabaseBusy(message, statement=BEGIN_WRITE) from exc
    finally:
        if notice is not None:
            notice.cancel()


def _warn_waiting(logger: Any, database: Path, timeout_ms: int) -> None:
    announce_wait(logger, WAITING_WHAT, database, timeout_ms, WAIT_SET_BY)


async def with_busy_retry(op: Callable[[], Awaitable[T]], retry: Retry) -> T:
    """Run ``op``; on SQLITE_BUSY sleep with exponential back-off and try again."""
    attempt = 0
    while True:
        try:
            return await op()
        except sqlite3.OperationalError as exc:
            if attempt >= retry.attempts or not is_busy(exc):
                raise
            delay = min(retry.cap, retry.base * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            retry.on_retry()
            await asyncio.sleep(delay)


def is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", None) or ""
    return name.startswith(BUSY_CODES)


def _note_broken(handle: Handle, exc: sqlite3.Error) -> None:
    name = getattr(exc, "sqlite_errorname", None) or ""
    # A writer refused as read-only was opened while its file system was read-only (SQLite
    # then opens read-only without a word): reopen it, so writes resume once it is writable.
    read_only_writer = handle.role == "writer" and name.startswith("SQLITE_READONLY")
    if (
        name.startswith(BROKEN_CODES)
        or read_only_writer
        or (isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc))
    ):
        handle.broken = True


def _excerpt(sql: str) -> str:
    words = sql.split()
    return " ".join(words[:4]) + (" …" if len(words) > 4 else "")


class Connection:
    """A connection lent by the pool for one ``async with`` block.

    Rows come back as :class:`sqlite3.Row` (index and column-name access). Pass ``name`` (the
    prepared statement's name) so errors, logs and metrics say which statement failed.

    With ``timeout`` (seconds, a reader's lease only) every statement of the block must end
    within that long of the lease's start, else SQLite is interrupted and
    :class:`~rawdb.errors.QueryTimeout` raised (see :mod:`rawdb.backend.sqlite.deadline`).
    """

    dialect = "sqlite"
    """The engine, as :attr:`rawdb.pool.Pool.dialect` names it."""

    __slots__ = ("_deadline", "_handle", "_retry", "_timeout")

    def __init__(
        self, handle: Handle, retry: Retry | None, *, timeout: float | None = None
    ) -> None:
        self._handle: Handle | None = handle
        self._retry = retry
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout

    @property
    def role(self) -> pragmas.Role:
        return self._live().role

    @property
    def in_transaction(self) -> bool:
        return self._live().connection().in_transaction

    @property
    def raw(self) -> aiosqlite.Connection:
        """The aiosqlite connection underneath, for what this class does not offer."""
        return self._live().connection()

    async def execute(
        self, sql: str, params: Params = (), *, name: str | None = None
    ) -> ExecResult:
        """Run one statement that returns no rows; use :meth:`fetchall` for queries."""

        async def run() -> ExecResult:
            cursor = await self.raw.execute(sql, params)
            result = ExecResult(cursor.rowcount, cursor.lastrowid)
            if cursor.description is not None:
                await cursor.close()  # it returned rows: finish it so no read stays open
            return result

        return await self._call(name or _excerpt(sql), run, read=False, params=params)

    async def executemany(
        self, sql: str, rows: Iterable[Params], *, name: str | None = None
    ) -> int:
        """Run one statement for each row of a batch in a single await; returns rows changed."""

        async def run() -> int:
            cursor = await self.raw.executemany(sql, rows)
            return cursor.rowcount

        return await self._call(name or _excerpt(sql), run, read=False, params=rows)

    async def executemany_now(
        self, sql: str, rows: Sequence[Params], *, name: str | None = None
    ) -> int:
        """:meth:`executemany` of at most :data:`IN_PLACE_ROWS` rows on the writer inside its
        transaction, run on the calling thread (more rows, or another connection: the usual
        way). The rollups' ~300 upserts of a dense batch take 1.4 ms in SQLite, and their three
        hops to the thread added 2-3 ms more (measured); a sparse batch's thousands of bars
        would hold the event loop for tens of ms, so they hop."""
        handle = self._live()
        own = handle.own
        if own is None or not in_transaction(handle) or len(rows) > IN_PLACE_ROWS:
            return await self.executemany(sql, rows, name=name)

        async def run() -> int:
            return own.executemany(sql, rows).rowcount

        return await self._call(name or _excerpt(sql), run, read=False, params=rows, in_place=True)

    async def fetchall(
        self, sql: str, params: Params = (), *, name: str | None = None
    ) -> list[sqlite3.Row]:
        """All rows of a query, in one await."""

        async def run() -> list[sqlite3.Row]:
            return list(await self.raw.execute_fetchall(sql, params))

        return await self._call(name or _excerpt(sql), run, read=True, params=params)

    async def fetchall_now(
        self, sql: str, params: Params = (), *, name: str | None = None, tuples: bool = False
    ) -> list[Any]:
        """All rows of a point read (an index seek, a few rows), run on the calling thread.

        A hop to the connection's thread and back costs 0.1 ms on an idle machine and up to
        2 ms on a busy one (measured, README), against ~10 us for the seek itself; so latest
        ticks and the partition registry are read in place: on a reader's second connection,
        which never waits for a lock, or on the writer's own inside its transaction (it holds
        the lock; a batch's registry and id look-ups save two hops). A busy database, a
        snapshot (``read(snapshot=True)``) or the writer outside a transaction sends the read
        the usual way. Never for scans: the event loop waits for the whole statement.
        ``tuples``: rows read in place come as plain tuples (no ``sqlite3.Row`` a row for the
        garbage collector to track); rows read the usual way stay Rows, sequences alike.
        """
        handle = self._live()
        if handle.own is not None and in_transaction(handle):
            direct = handle.own
        elif handle.direct is not None and not in_transaction(handle):
            direct = handle.direct
        else:
            return await self.fetchall(sql, params, name=name)

        async def run() -> list[Any]:
            cursor = direct.cursor()
            if tuples:
                cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()

        try:
            return await self._call(
                name or _excerpt(sql), run, read=False, params=params, in_place=True
            )
        except DatabaseBusy:
            return await self.fetchall(sql, params, name=name)

    async def fetchone(
        self, sql: str, params: Params = (), *, name: str | None = None
    ) -> sqlite3.Row | None:
        """The first row of a query, or None; write ``LIMIT 1`` when more rows could match."""
        rows = await self.fetchall(sql, params, name=name)
        return rows[0] if rows else None

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[Connection]:
        """A nested transaction (SAVEPOINT) inside ``pool.write()``.

        On an exception only this block's changes are rolled back and the exception goes on;
        the enclosing write transaction carries on if the caller catches it.
        """
        handle = self._live()
        if handle.role != "writer" or not in_transaction(handle):
            raise UsageError(
                "atomic() works on the writer inside `async with pool.write() as conn:`; "
                "call conn.atomic() there, or nest pool.write() in the same task"
            )
        handle.depth += 1
        name = f"rawdb_sp_{handle.depth}"
        try:
            await control(handle, savepoint(name))
            try:
                yield self
            except BaseException:
                await asyncio.shield(_undo_savepoint(handle, name))
                raise
            await control(handle, release(name))
        finally:
            handle.depth -= 1

    def _live(self) -> Handle:
        if self._handle is None:
            raise UsageError(
                "this connection was used after its `async with pool.read()/write()` block "
                "ended; keep every use inside the block"
            )
        return self._handle

    def _release(self) -> None:
        self._handle = None

    async def _call(
        self,
        name: str,
        op: Callable[[], Awaitable[T]],
        *,
        read: bool,
        params: object = (),
        in_place: bool = False,
    ) -> T:
        handle = self._live()
        handle.queries += 1
        if handle.observer is None:
            return await self._run(handle, name, op, read=read, in_place=in_place)
        started = time.perf_counter()
        try:
            result = await self._run(handle, name, op, read=read, in_place=in_place)
        except BaseException as exc:
            handle.observer(name, time.perf_counter() - started, None, exc, params)
            raise
        handle.observer(name, time.perf_counter() - started, _rows_of(result), None, params)
        return result

    async def _run(
        self,
        handle: Handle,
        name: str,
        op: Callable[[], Awaitable[T]],
        *,
        read: bool,
        in_place: bool = False,
    ) -> T:
        try:
            at = self._deadline
            if at is not None and in_place:  # the hot path, inline: direct's progress handler
                if time.monotonic() >= at:
                    raise QueryTimeout.not_started(name, self._timeout or 0.0)
                handle.alarm.at = at
                try:
                    return await op()
                finally:
                    handle.alarm.at = None
            if at is not None:
                return await self._bounded(handle, name, op, at, read=read)
            if read and self._retry is not None:
                return await with_busy_retry(op, self._retry)
            return await op()
        except sqlite3.Error as exc:
            _note_broken(handle, exc)
            if self._timeout is not None and deadline.is_interrupt(exc):
                raise QueryTimeout.ran_past(name, self._timeout) from exc
            code = getattr(exc, "sqlite_errorname", None) or ""
            if handle.role == "reader" and code.startswith("SQLITE_READONLY"):
                raise UsageError(
                    f"statement {name!r}: reader connections are query_only and cannot write; "
                    "run writes inside `async with pool.write() as conn:`"
                ) from exc
            raise translate(exc, statement=name) from exc
        except ValueError as exc:
            if str(exc) not in GONE_MESSAGES:
                raise
            handle.broken = True
            raise CannotOpen(
                f"statement {name!r}: the connection underneath was closed; the pool reopens "
                "it on next use, retry the operation",
                statement=name,
            ) from exc

    async def _bounded(
        self, handle: Handle, name: str, op: Callable[[], Awaitable[T]], at: float, *, read: bool
    ) -> T:
        """``op`` on the connection's thread, interrupted once the clock reaches ``at``; each
        retry of a busy read gets only what is left."""
        inner = handle.inner
        if inner is None:  # the writer: never lent with a deadline
            return await op()
        timeout = self._timeout or 0.0

        def attempt() -> Awaitable[T]:
            return deadline.on_thread(op, at, inner.interrupt, name, timeout)

        if read and self._retry is not None:
            return await with_busy_retry(attempt, self._retry)
        return await attempt()


def _rows_of(result: object) -> int | None:
    """Rows a statement returned (a list) or changed (a count), for the observer."""
    if isinstance(result, list):
        return len(result)
    if isinstance(result, ExecResult):
        return result.rowcount
    return result if isinstance(result, int) else None


async def _undo_savepoint(handle: Handle, name: str) -> None:
    """Roll back to and release a savepoint, unless SQLite already ended the transaction."""
    if not in_transaction(handle):
        return
    try:
        await control(handle, rollback_to(name))
        await control(handle, release(name))
    except RawdbError:
        handle.broken = True  # the outer block rolls back; a reopened connection starts clean


__all__ = ["Connection", "ExecResult", "Handle", "Observer"]
