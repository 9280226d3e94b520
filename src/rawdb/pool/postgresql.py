"""The pool on PostgreSQL: the interface of :class:`~rawdb.pool.Pool` over psycopg_pool.

One writer connection serialises this process's writes (``pool.write()``: a transaction,
nested blocks become savepoints), and ``settings.readers`` connections serve reads in
autocommit, read-only sessions (``pool.read(snapshot=True)``: one REPEATABLE READ
transaction). Several processes, on several machines, may write at once: PostgreSQL's own
locks order them, waiting at most ``busy_timeout_ms`` (``lock_timeout``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rawdb import log
from rawdb.backend import BEGIN_WRITE, COMMIT
from rawdb.backend.postgresql import connection
from rawdb.backend.postgresql.driver import Error
from rawdb.backend.postgresql.pooled import (
    Observer,
    PgConnection,
    ReaderWaitTimeout,
    connect_async,
    reader_pool,
)
from rawdb.config import FROM_SETTINGS, ReadTimeout, Settings, read_timeout
from rawdb.errors import ConfigError, PoolClosed, PoolTimeout, SchemaOutOfDate
from rawdb.migrate.postgresql import PostgresMigrator
from rawdb.pool.base import Pool
from rawdb.pool.config import PoolConfig
from rawdb.pool.stats import PoolStats, WaitSummary


def _limits(settings: Settings, *, reader: bool) -> dict[str, Any]:
    statement = (
        None
        if not reader or settings.read_timeout_s is None
        else round(settings.read_timeout_s * 1000)
    )
    return {"lock_timeout_ms": settings.busy_timeout_ms, "statement_timeout_ms": statement}


class PostgresPool(Pool):
    """``Pool.open(Settings(database_url="postgresql://…"))``: the same public interface."""

    dialect = "postgresql"

    def __init__(self, settings: Settings, config: PoolConfig | None = None, **_: Any) -> None:
        if settings.database_url is None:
            raise ConfigError("a PostgreSQL pool needs Settings.database_url")
        if settings.rollups:
            raise ConfigError(
                "RAWDB_ROLLUPS: bars kept as ticks are written are SQLite-only so far; on "
                "PostgreSQL ohlc_bars computes them from the ticks. Leave rollups off."
            )
        super().__init__(settings, config)
        self.url = connection.check_url(settings.database_url)
        self.database_label = connection.redact(self.url)
        """The database as logs and reports name it (the URL without its password)."""
        self._log = log.get_logger("pool")
        self._pg_writer: PgConnection | None = None
        self._write_lock = asyncio.Lock()
        self._pg_task: asyncio.Task[Any] | None = None
        self._pg_lease: PgConnection | None = None
        self._pg_readers = reader_pool(
            self.url,
            settings.readers,
            self.config.acquire_timeout,
            **_limits(settings, reader=True),
        )
        self._acquisitions = self._timeouts = 0
        self._is_closed = False
        self._pg_observer: Observer | None = None

    async def _start(self, *, migrate: bool, migrations_dir: Path | None) -> Pool:
        migrator = PostgresMigrator(self.url, migrations_dir, settings=self.settings)
        await asyncio.to_thread(self._ensure_current, migrator, migrate)
        self._pg_writer = await connect_async(
            self.url, "writer", **_limits(self.settings, reader=False)
        )
        self._pg_writer.observer = self._pg_observer
        try:
            await self._pg_readers.open(wait=True, timeout=self.config.acquire_timeout)
        except (Error, ReaderWaitTimeout) as exc:
            await self._pg_writer.close()
            raise connection.cannot_open(self.url, exc) from exc
        self._log.info(
            log.POOL_OPENED, database=connection.redact(self.url), readers=self.settings.readers
        )
        return self

    def _ensure_current(self, migrator: PostgresMigrator, migrate: bool) -> None:
        if migrate:
            migrator.up()
        by_set = migrator.applied_by_set()
        for migration_set in migrator.stack.sets:
            applied = by_set.get(migration_set.name, {})
            pending = [m.version for m in migration_set.migrations if m.version not in applied]
            if pending:
                raise SchemaOutOfDate(
                    f"{migrator.database}: {migration_set.name} migrations not applied: "
                    f"{', '.join(f'{v:04d}' for v in pending[:5])}; run `rawdb migrate up` "
                    "or open the pool with Pool.open(settings, migrate=True)"
                )

    @asynccontextmanager
    async def read(  # type: ignore[override]  # a PgConnection, not SQLite's Connection
        self,
        *,
        snapshot: bool = False,
        own_writes: bool = False,
        timeout: ReadTimeout = FROM_SETTINGS,
    ) -> AsyncIterator[PgConnection]:
        """A reader (or, with ``own_writes=True`` inside this task's ``pool.write()``, the
        writer in its open transaction). ``timeout``: each statement's deadline on the reader
        (PostgreSQL's statement_timeout; the writer's statements run without one)."""
        deadline = read_timeout(timeout, self.settings)
        if own_writes and self._pg_lease is not None and self._pg_task is asyncio.current_task():
            yield self._pg_lease
            return
        if self._is_closed:
            raise PoolClosed("the pool is closed")
        try:
            async with self._pg_readers.connection() as raw:
                self._acquisitions += 1
                lease = PgConnection(raw)
                lease.observer = self._pg_observer
                async with self._deadline(lease, deadline):
                    if snapshot:
                        async with lease.transaction(snapshot=True):
                            yield lease
                    else:
                        yield lease
        except ReaderWaitTimeout as exc:
            self._timeouts += 1
            raise PoolTimeout(
                f"no reader free within {self.config.acquire_timeout:g} s "
                f"({self.settings.readers} readers)"
            ) from exc

    @asynccontextmanager
    async def _deadline(self, lease: PgConnection, deadline: float | None) -> AsyncIterator[None]:
        """The reader's statement_timeout for one read: the session's own (set when it opened
        from ``read_timeout_s``) unless the call asked for another, then set back."""
        if deadline == self.settings.read_timeout_s:
            lease.deadline = deadline
            yield
            return
        await lease.set_deadline(deadline)
        try:
            yield
        finally:
            await lease.reset_deadline(self.settings.read_timeout_s)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[PgConnection]:  # type: ignore[override]
        """The writer in a transaction, committed when the block ends, rolled back when it
        raises; nested in the same task, a savepoint."""
        if self._pg_lease is not None and self._pg_task is asyncio.current_task():
            async with self._pg_lease.atomic() as nested:
                yield nested
            return
        if self._is_closed or self._pg_writer is None:
            raise PoolClosed("the pool is closed")
        asked = time.perf_counter()
        async with self._write_lock:
            # The writer figures, as SQLite's pool gives them: the wait for this process's
            # writer (a wait behind another process's row locks is in the statement that
            # waited), and the commit.
            self._tell(BEGIN_WRITE, asked)
            self._acquisitions += 1
            lease = self._pg_writer
            self._pg_task, self._pg_lease = asyncio.current_task(), lease
            try:
                async with lease.transaction():
                    yield lease
                    committing = time.perf_counter()
                self._tell(COMMIT, committing)
            finally:
                self._pg_task = self._pg_lease = None

    def _tell(self, name: str, started: float) -> None:
        if self._pg_observer is not None:
            self._pg_observer(name, time.perf_counter() - started, None, None, ())

    def stats(self) -> PoolStats:
        figures = self._pg_readers.get_stats()
        waiting = figures.get("requests_waiting", 0)
        in_use = figures.get("pool_size", 0) - figures.get("pool_available", 0)
        return PoolStats(
            size=1 + self.settings.readers,
            readers=self.settings.readers,
            in_use=in_use + int(self._write_lock.locked()),
            waiting=waiting,
            writer_in_use=self._write_lock.locked(),
            acquisitions=self._acquisitions,
            timeouts=self._timeouts,
            wait=WaitSummary(0, 0.0, 0.0, 0.0, 0.0),
            recycled=0,
            health_check_failures=0,
            busy_retries=0,
            circuit_state="closed",
            consecutive_failures=0,
            closed=self._is_closed,
        )

    @property
    def observer(self) -> Observer | None:
        """Called after every named statement with ``(name, seconds, rows, error, params)``
        (a :class:`rawdb.monitor.Metrics`), on the writer and every reader."""
        return self._pg_observer

    @observer.setter
    def observer(self, observer: Observer | None) -> None:
        self._pg_observer = observer
        if self._pg_writer is not None:
            self._pg_writer.observer = observer

    @property
    def closed(self) -> bool:
        return self._is_closed

    async def close(self) -> None:
        """Wait for the write in flight, then close the writer and the readers. Safe twice."""
        if self._is_closed:
            return
        self._is_closed = True
        async with self._write_lock:
            if self._pg_writer is not None:
                await self._pg_writer.close()
        await self._pg_readers.close()
        self._log.info(log.POOL_CLOSED, database=connection.redact(self.url))


POOL = PostgresPool
"""What :meth:`Pool.open` makes for a ``postgresql`` database."""
