"""The pool: one writer connection for every write, N query_only readers, looked after.

Writes are serialised through the one writer: ``async with pool.write() as conn`` waits its
turn, starts ``BEGIN IMMEDIATE`` (so a lock held by another process is waited for up to
busy_timeout, warned of once, then refused with DatabaseBusy; never failed at once on upgrade),
commits when the block ends and rolls back when it raises. Nested ``pool.write()`` in the same
task, and ``conn.atomic()``, become SAVEPOINTs; ``pool.read(own_writes=True)`` in the same task
reads on the writer, inside its transaction, so the block's own rows are seen (read your
writes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rawdb import log
from rawdb.backend import BEGIN_READ, COMMIT, PING, ROLLBACK
from rawdb.backend.sqlite.pooled import (
    Connection,
    Handle,
    Observer,
    Retry,
    begin_immediate,
    close_handle,
    control,
    in_transaction,
    open_handle,
)
from rawdb.breaker import BreakerState, CircuitBreaker, Clock
from rawdb.config import FROM_SETTINGS, ReadTimeout, Settings, read_timeout
from rawdb.errors import DatabaseRefused, PoolClosed, PoolTimeout, RawdbError, UsageError
from rawdb.pool.base import Pool
from rawdb.pool.config import PoolConfig
from rawdb.pool.schema import ensure_current
from rawdb.pool.slots import Slots
from rawdb.pool.stats import Counters, PoolStats, WaitWindow


class SqlitePool(Pool):
    """One writer and ``settings.readers`` reader connections to one database file; open it
    with :meth:`Pool.open`."""

    dialect = "sqlite"

    def __init__(
        self,
        settings: Settings,
        config: PoolConfig | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(settings, config)
        self._clock = clock
        self._log = log.get_logger("pool")
        self._writer = Handle("writer")
        self._readers = [Handle("reader") for _ in range(settings.readers)]
        self._writer_slots = Slots([self._writer])
        self._reader_slots = Slots(self._readers)
        self._writer_task: asyncio.Task[Any] | None = None
        self._writer_lease: Connection | None = None
        self._counters = Counters()
        self._waits = WaitWindow(self.config.wait_samples)
        self._breaker = CircuitBreaker(
            failure_threshold=self.config.breaker_failures,
            cooldown=self.config.breaker_cooldown,
            success_threshold=self.config.breaker_successes,
            clock=clock,
            on_change=self._circuit_changed,
        )
        self._retry = Retry(
            self.config.read_retries,
            self.config.retry_base_delay,
            self.config.retry_max_delay,
            self._count_retry,
        )
        self._closing = False
        self._closed = asyncio.Event()

    # --- lending ------------------------------------------------------------------------------

    @asynccontextmanager
    async def read(
        self,
        *,
        snapshot: bool = False,
        own_writes: bool = False,
        timeout: ReadTimeout = FROM_SETTINGS,
    ) -> AsyncIterator[Connection]:
        """A reader connection (query_only); ``snapshot=True`` makes every query see one state.

        ``own_writes=True`` inside ``pool.write()`` of the same task lends the writer instead,
        in the open transaction: the block's own rows are seen (a reader sees them only after
        COMMIT), and the transaction already is one state. The typed query functions read so;
        other tasks, and ``own_writes=False``, get readers.

        ``timeout`` is the block's deadline in seconds (None: none; left out:
        ``Settings.read_timeout_s``): a statement still running that long after the reader is
        lent is interrupted and raises :class:`~rawdb.errors.QueryTimeout`, and the reader
        goes back to the pool in good order. The wait for a free reader is not part of it
        (``PoolConfig.acquire_timeout`` bounds that, as :class:`PoolTimeout`): a full pool and
        a slow statement have different remedies, and each error names its own. The writer is
        never lent with a deadline: a read joining a write transaction runs to its end, since
        interrupting the writer could undo the block's writes.
        """
        seconds = read_timeout(timeout, self.settings)  # checked even where it does not apply
        joined = self._joined_writer() if own_writes else None
        if joined is not None:
            view = Connection(joined, None)  # its own lease: it stops working with the block
            try:
                yield view
            finally:
                view._release()
            return
        handle, lease = await self._acquire(self._reader_slots, timeout=seconds)
        try:
            if snapshot:
                await control(handle, BEGIN_READ)
            yield lease
        finally:
            if in_transaction(handle):  # a snapshot (or a stray BEGIN): end it first
                await asyncio.shield(self._end_read(handle, lease))
            else:  # nothing to await: release at once, without a shielded task per read
                self._release(self._reader_slots, handle, lease)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """The writer inside ``BEGIN IMMEDIATE``: committed when the block ends, rolled back if
        it raises. Inside another ``write()`` of the same task it is a SAVEPOINT instead."""
        task = asyncio.current_task()
        if self._writer_lease is not None and self._writer_task is task:
            async with self._writer_lease.atomic() as nested:
                yield nested
            return
        handle, lease = await self._acquire(self._writer_slots)
        try:
            await begin_immediate(
                handle, Path(self.settings.database), self.settings.busy_timeout_ms, self._log
            )
        except BaseException:
            await asyncio.shield(self._end_write(handle, lease, commit=False))
            raise
        self._writer_task, self._writer_lease = task, lease
        succeeded = False
        try:
            yield lease
            succeeded = True
        finally:
            self._writer_task = self._writer_lease = None
            await asyncio.shield(self._end_write(handle, lease, commit=succeeded))

    # --- figures and shutdown -------------------------------------------------------------------

    def stats(self) -> PoolStats:
        """Pool figures for monitoring (cheap; no database access)."""
        counters = self._counters
        return PoolStats(
            size=1 + len(self._readers),
            readers=len(self._readers),
            in_use=self._writer_slots.in_use + self._reader_slots.in_use,
            waiting=self._writer_slots.waiting + self._reader_slots.waiting,
            writer_in_use=self._writer_slots.in_use > 0,
            acquisitions=counters.acquisitions,
            timeouts=counters.timeouts,
            wait=self._waits.summary(),
            recycled=counters.recycled,
            health_check_failures=counters.health_check_failures,
            busy_retries=counters.busy_retries,
            circuit_state=self._breaker.state.value,
            consecutive_failures=self._breaker.consecutive_failures,
            closed=self._closed.is_set(),
        )

    @property
    def observer(self) -> Observer | None:
        """Called after every statement with ``(name, seconds, rows, error, params)``.

        Set it to a :class:`rawdb.monitor.Metrics` (``Monitor`` does) or any such callable;
        None (the default) turns observation off at the cost of one attribute check.
        """
        return self._writer.observer

    @observer.setter
    def observer(self, observer: Observer | None) -> None:
        for handle in [self._writer, *self._readers]:
            handle.observer = observer

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def close(self) -> None:
        """Refuse new work, wait for work in flight (up to ``close_timeout``), run
        ``PRAGMA optimize`` on each connection and close them. Safe to call twice."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._writer_slots.close()
        self._reader_slots.close()
        try:
            async with asyncio.timeout(self.config.close_timeout):
                await self._writer_slots.drained()
                await self._reader_slots.drained()
        except TimeoutError:
            self._log.warning(
                log.POOL_CLOSE_FORCED,
                in_use=self._writer_slots.in_use + self._reader_slots.in_use,
                waited_s=self.config.close_timeout,
            )
        for handle in [*self._readers, self._writer]:  # the writer last: it checkpoints the WAL
            await self._discard(handle, optimize=True)
        self._closed.set()
        self._log.info(
            log.POOL_CLOSED, database=str(self.settings.database), **_brief(self.stats())
        )

    # --- internals ------------------------------------------------------------------------------

    def _joined_writer(self) -> Handle | None:
        """The writer, when the calling task is inside its ``pool.write()``; else None.

        The owning task, not a ContextVar, decides: a task started inside the block copies the
        block's context but is another task, and must neither share the writer with it (nor
        reach it after the block) nor see its rows before they are committed.
        """
        if self._writer_lease is not None and self._writer_task is asyncio.current_task():
            return self._writer
        return None

    async def _start(self, *, migrate: bool, migrations_dir: Path | None) -> SqlitePool:
        database = Path(self.settings.database)
        await asyncio.to_thread(
            ensure_current, database, self.settings, root=migrations_dir, migrate=migrate
        )
        try:
            await self._connect(self._writer)  # first: it may switch the file to WAL
            results = await asyncio.gather(
                *(self._connect(h) for h in self._readers), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        except BaseException:
            for handle in [*self._readers, self._writer]:
                await self._discard(handle, optimize=False)
            self._closing = True
            self._closed.set()
            raise
        self._log.info(log.POOL_OPENED, database=str(database), readers=len(self._readers))
        return self

    async def _connect(self, handle: Handle) -> None:
        self._breaker.check()
        try:
            await open_handle(handle, self.settings, self._clock())
        except RawdbError as exc:
            self._breaker.record_failure(exc)
            raise

    async def _discard(self, handle: Handle, *, optimize: bool) -> None:
        """Close a connection, logging rather than raising: a close must not fail a caller."""
        try:
            await close_handle(handle, optimize=optimize)
        except Exception as exc:  # the connection is gone either way
            self._log.warning(log.POOL_CLEANUP_FAILED, role=handle.role, error=str(exc))

    async def _acquire(
        self, slots: Slots[Handle], *, timeout: float | None = None
    ) -> tuple[Handle, Connection]:
        if self._closing:
            raise PoolClosed("the pool is closed; open a new one with Pool.open()")
        self._breaker.check()
        started = time.perf_counter()
        try:
            handle = await slots.take(self.config.acquire_timeout)
        except TimeoutError:
            self._counters.timeouts += 1
            message = self._timeout_message(slots)
            self._log.warning(log.POOL_ACQUIRE_TIMEOUT, waited_s=self.config.acquire_timeout)
            raise PoolTimeout(message) from None
        try:
            await self._prepare(handle)
        except BaseException:
            slots.give(handle)
            raise
        self._waits.add(time.perf_counter() - started)
        self._counters.acquisitions += 1
        retry = self._retry if handle.role == "reader" else None
        return handle, Connection(handle, retry, timeout=timeout)  # the deadline starts here

    async def _prepare(self, handle: Handle) -> None:
        """Reopen a connection that is closed, broken, too old or too used; check an idle one."""
        now = self._clock()
        config = self.config
        if handle.raw is None or handle.broken:
            await self._discard(handle, optimize=False)
            await self._connect(handle)
        elif (config.max_age is not None and now - handle.opened_at >= config.max_age) or (
            config.max_queries is not None and handle.queries >= config.max_queries
        ):
            self._counters.recycled += 1
            self._log.debug(log.POOL_CONNECTION_RECYCLED, role=handle.role, queries=handle.queries)
            await self._discard(handle, optimize=False)
            await self._connect(handle)
        elif now - handle.last_used >= config.health_check_after and not await _healthy(handle):
            self._counters.health_check_failures += 1
            self._breaker.record_failure("health check (SELECT 1) failed")
            self._log.warning(log.POOL_HEALTH_CHECK_FAILED, role=handle.role)
            await self._discard(handle, optimize=False)
            await self._connect(handle)

    def _release(self, slots: Slots[Handle], handle: Handle, lease: Connection) -> None:
        lease._release()
        handle.last_used = self._clock()
        if handle.broken:
            self._breaker.record_failure(f"{handle.role} connection failed during use")
        else:
            self._breaker.record_success()
        slots.give(handle)

    async def _end_read(self, handle: Handle, lease: Connection) -> None:
        try:
            await _rollback_quietly(handle)
        finally:
            self._release(self._reader_slots, handle, lease)

    async def _end_write(self, handle: Handle, lease: Connection, *, commit: bool) -> None:
        try:
            if not commit:
                await _rollback_quietly(handle)
            elif not in_transaction(handle) and handle.broken:
                raise DatabaseRefused(
                    "the writer connection failed inside pool.write(); nothing of the block was "
                    "committed. The pool reopens the connection; retry the transaction."
                )
            elif not in_transaction(handle):
                raise UsageError(
                    "the write transaction was no longer open when pool.write() ended (a COMMIT "
                    "or ROLLBACK statement inside the block, or SQLite rolled back after an "
                    "error); let the block end the transaction and use conn.atomic() to undo part"
                )
            else:
                try:
                    await control(handle, COMMIT)
                except RawdbError:
                    await _rollback_quietly(handle)  # a failed COMMIT leaves the transaction open
                    raise
        finally:
            self._release(self._writer_slots, handle, lease)

    def _timeout_message(self, slots: Slots[Handle]) -> str:
        waited = f"{self.config.acquire_timeout:g} s"
        if slots is self._writer_slots:
            return (
                f"the writer connection was not free within {waited} (PoolConfig.acquire_timeout;"
                f" {slots.waiting} other callers waiting). Keep write transactions short (one "
                "batch per pool.write(), no unrelated awaits inside) or raise acquire_timeout. "
                "A task inside pool.write() that waits for another task calling pool.write() "
                "never gets it."
            )
        return (
            f"no reader connection was free within {waited} (PoolConfig.acquire_timeout; "
            f"{slots.size} readers in use, {slots.waiting} other callers waiting). Keep "
            "pool.read() blocks short, raise Settings.readers (RAWDB_READERS) or raise "
            "acquire_timeout."
        )

    def _count_retry(self) -> None:
        self._counters.busy_retries += 1

    def _circuit_changed(self, old: BreakerState, new: BreakerState) -> None:
        self._log.warning(
            log.POOL_CIRCUIT_CHANGED,
            old=old.value,
            new=new.value,
            last_error=self._breaker.last_error,
        )


async def _healthy(handle: Handle) -> bool:
    """``SELECT 1`` answers: the thread and the connection underneath are alive."""
    try:
        rows = list(await handle.connection().execute_fetchall(PING))
    except Exception:
        return False
    return bool(rows) and rows[0][0] == 1


async def _rollback_quietly(handle: Handle) -> None:
    """ROLLBACK, tolerating 'no transaction is active'; any other failure retires the handle."""
    if handle.raw is None or handle.broken:
        return
    try:
        await control(handle, ROLLBACK)
    except RawdbError as exc:
        if "no transaction is active" not in str(exc):
            handle.broken = True


def _brief(stats: PoolStats) -> dict[str, Any]:
    return {
        "acquisitions": stats.acquisitions,
        "timeouts": stats.timeouts,
        "recycled": stats.recycled,
        "wait_p99_ms": stats.wait.p99_ms,
    }


POOL = SqlitePool
"""What :meth:`Pool.open` makes for a ``sqlite`` database."""
