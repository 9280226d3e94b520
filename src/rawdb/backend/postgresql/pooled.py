"""An async PostgreSQL connection as rawdb's layers use it: statements by name, rows as
dicts, binary COPY, and every driver error turned into rawdb's."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from psycopg_pool import PoolTimeout as ReaderWaitTimeout

from rawdb.backend.postgresql import connection, errors
from rawdb.backend.postgresql.driver import Error, pg_sql
from rawdb.errors import UsageError

__all__ = ["PgConnection", "ReaderWaitTimeout", "connect_async", "reader_pool"]

Params = Sequence[Any] | Mapping[str, Any] | None
Observer = Callable[[str, float, int | None, BaseException | None, object], None]


class PgConnection:
    """One leased connection (the writer inside its transaction, or a reader)."""

    dialect = "postgresql"

    def __init__(self, raw: AsyncConnection[Any]) -> None:
        self.raw = raw
        self.observer: Observer | None = None
        """Told of every named statement, as the SQLite pool's connections tell theirs."""
        self.deadline: float | None = None
        """The session's statement_timeout in seconds (None: none), named by QueryTimeout."""

    def _observed(
        self,
        name: str,
        started: float,
        rows: int | None,
        error: BaseException | None,
        params: Params,
    ) -> None:
        if self.observer is not None and name:
            self.observer(name, time.perf_counter() - started, rows, error, params or ())

    def __getattr__(self, name: str) -> Any:
        # A rawdb function written for SQLite's connection only, called on PostgreSQL: say so
        # rather than fail with an AttributeError deep inside it.
        raise UsageError(
            f"this rawdb function does not run on PostgreSQL yet (it needs the SQLite "
            f"connection's {name!r}); see docs/postgresql.md for what does"
        )

    async def fetchall(
        self, sql: str, params: Params = None, *, name: str = ""
    ) -> list[dict[str, Any]]:
        started = time.perf_counter()
        try:
            cursor = self.raw.cursor(row_factory=dict_row)
            await cursor.execute(sql, params)  # statements are literals
            rows = await cursor.fetchall()
        except Error as exc:
            refused = errors.translate(exc, statement=name or None, deadline=self.deadline)
            self._observed(name, started, None, refused, params)
            raise refused from exc
        self._observed(name, started, len(rows), None, params)
        return rows

    async def stream(
        self, sql: str, params: Params = None, *, name: str = "", chunk: int = 20_000
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Rows as tuples, ``chunk`` at a time through a server-side cursor (memory stays flat;
        inside a transaction of its own, or of the caller's)."""
        try:
            async with self.raw.transaction(), self.raw.cursor(name="rawdb_stream") as cursor:
                await cursor.execute(sql, params)
                while rows := await cursor.fetchmany(chunk):
                    for row in rows:
                        yield row
        except Error as exc:
            raise errors.translate(exc, statement=name or None, deadline=self.deadline) from exc

    async def fetchone(
        self, sql: str, params: Params = None, *, name: str = ""
    ) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params, name=name)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None, *, name: str = "") -> int:
        """Run one statement; the rows it changed."""
        started = time.perf_counter()
        try:
            cursor = await self.raw.execute(sql, params)
        except Error as exc:
            refused = errors.translate(exc, statement=name or None, deadline=self.deadline)
            self._observed(name, started, None, refused, params)
            raise refused from exc
        self._observed(name, started, cursor.rowcount, None, params)
        return cursor.rowcount

    async def executemany(
        self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]], *, name: str = ""
    ) -> int:
        """One statement over many parameter sets (pipelined by psycopg); the sets run."""
        batch = list(rows)
        started = time.perf_counter()
        try:
            async with self.raw.cursor() as cursor:
                await cursor.executemany(sql, batch)
        except Error as exc:
            refused = errors.translate(exc, statement=name or None)
            self._observed(name, started, None, refused, None)
            raise refused from exc
        self._observed(name, started, len(batch), None, None)
        return len(batch)

    async def copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        name: str = "",
    ) -> int:
        """Binary COPY of ``rows`` into ``table`` (PostgreSQL routes each to its partition)."""
        statement = pg_sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            pg_sql.Identifier(table), pg_sql.SQL(", ").join(map(pg_sql.Identifier, columns))
        )
        written = 0
        started = time.perf_counter()
        try:
            async with self.raw.cursor().copy(statement) as copy:
                copy.set_types(list(types))
                for row in rows:
                    await copy.write_row(row)
                    written += 1
        except Error as exc:
            refused = errors.translate(exc, statement=name or f"copy into {table}")
            self._observed(name, started, None, refused, None)
            raise refused from exc
        self._observed(name, started, written, None, None)
        return written

    @asynccontextmanager
    async def transaction(self, *, snapshot: bool = False) -> AsyncIterator[PgConnection]:
        """A transaction (a savepoint when one is open), committed when the block ends;
        ``snapshot``: REPEATABLE READ, so every query sees one state."""
        try:
            async with self.raw.transaction():
                if snapshot:
                    await self.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield self
        except Error as exc:
            raise errors.translate(exc, where="committing") from exc

    async def set_deadline(self, seconds: float | None) -> None:
        """This session's statement_timeout (None: none) until :meth:`reset_deadline`."""
        milliseconds = "0" if seconds is None else str(max(1, round(seconds * 1000)))
        await self.execute("SELECT set_config('statement_timeout', %s, false)", (milliseconds,))
        self.deadline = seconds

    async def reset_deadline(self, session_default: float | None) -> None:
        """Back to the statement_timeout the session opened with (``session_default``)."""
        self.deadline = session_default
        try:
            await self.raw.execute("RESET statement_timeout")
        except Error:
            # The session broke during the read: psycopg_pool discards it on return, and the
            # read's own error is the one the caller must see.
            if not self.raw.broken and not self.raw.closed:
                raise

    async def close(self) -> None:
        await self.raw.close()

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[PgConnection]:
        """A SAVEPOINT: an error inside undoes only this block."""
        try:
            async with self.raw.transaction():
                yield self
        except Error as exc:
            raise errors.translate(exc) from exc


async def connect_async(url: str, role: connection.Role, **limits: Any) -> PgConnection:
    """An async connection for ``role`` (see :func:`connection.session_options`)."""
    try:
        raw = await AsyncConnection.connect(url, **connection.session_options(role, **limits))
    except Error as exc:
        raise connection.cannot_open(url, exc) from exc
    return PgConnection(raw)


def reader_pool(url: str, size: int, timeout: float, **limits: Any) -> AsyncConnectionPool[Any]:
    """``size`` read-only reader sessions, opened by the caller (``await pool.open()``)."""
    return AsyncConnectionPool(
        url,
        min_size=size,
        max_size=size,
        kwargs=connection.session_options("reader", **limits),
        open=False,
        timeout=timeout,
        name="rawdb readers",
    )
