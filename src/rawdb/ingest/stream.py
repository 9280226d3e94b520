"""The streaming writer: the application puts single ticks, rawdb commits them in batches.

A tick is checked when it is put (the caller learns at once that it was bad), then waits in a
queue. A background task commits the queue in batches when ``batch_size`` ticks are waiting or
the oldest has waited ``max_delay`` seconds, one ``executemany`` per batch, so SQLite writes in
its own thread while the application goes on. ``flush()`` returns once everything put before
it is committed (durable as ``synchronous`` promises); ``close()`` commits all that is queued.
When the queue holds ``queue_limit`` ticks, ``put()`` waits: back-pressure instead of memory
growth. A batch that fails to commit (disk full, I/O error) is kept and retried with back-off;
``flush()`` raises the error meanwhile, and nothing queued is dropped.

A tick later than the wall clock plus ``Settings.future_tolerance_s`` does not stop the feed:
put() sets it aside in :attr:`TickStream.rejected` with the reason, as it does ticks a commit
refuses for good, and the next ``flush()`` reports it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import Field, model_validator

from rawdb import log
from rawdb.config import Checked
from rawdb.errors import (
    ConfigError,
    ForeignKeyViolation,
    InternalError,
    InvalidInput,
    PeriodNotWritable,
    RawdbError,
    UsageError,
)
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS
from rawdb.queries.rows import Horizon, Tick, beyond, prepare_tick
from rawdb.queries.ticks import write_rows

NOTE_EVERY = 1.0
"""Seconds between log lines about ticks set aside at put (a feed with a wrong clock sends
nothing else, and one line per tick would flood the log)."""

BatchObserver = Callable[[int, float], None]
YIELD_EVERY = 256


class StreamMetrics(Protocol):
    """What the streaming writer reports to monitoring (``rawdb.monitor.Metrics`` fits)."""

    def record_batch(self, size: int, seconds: float) -> None: ...

    def set_queue_depth(self, depth: int) -> None: ...

    def record_rejected(self, rows: int) -> None: ...


class StreamConfig(Checked):
    """How the streaming writer batches; checked when built."""

    batch_size: int = Field(default=5_000, ge=1)
    max_delay: float = Field(default=0.05, gt=0)
    """Seconds a queued tick may wait for its batch to fill before it is written anyway."""
    queue_limit: int = Field(default=200_000, ge=1)
    retry_base_delay: float = Field(default=0.05, gt=0)
    retry_max_delay: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> StreamConfig:
        if self.queue_limit < self.batch_size:
            raise ConfigError(
                f"StreamConfig.queue_limit ({self.queue_limit}) is smaller than batch_size "
                f"({self.batch_size}); raise queue_limit or lower batch_size"
            )
        if self.retry_base_delay > self.retry_max_delay:
            raise ConfigError("StreamConfig: need retry_base_delay <= retry_max_delay")
        return self


class TickStream:
    """Put ticks one at a time; they are committed in batches. Use ``async with``."""

    def __init__(
        self,
        pool: Pool,
        config: StreamConfig | None = None,
        *,
        on_batch: BatchObserver | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self._pool = pool
        self.config = config or StreamConfig()
        self._on_batch = on_batch
        self._metrics = metrics
        self._rows: list[tuple[Any, ...]] = []
        self._put_count = 0  # ticks accepted so far
        self._committed = 0  # ticks committed so far (a prefix of those accepted)
        self._oldest: float | None = None
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._error: RawdbError | None = None
        self._puts_since_yield = 0
        self._flush_to = 0  # a flush() waits for this many ticks: commit without waiting
        self._failures = 0  # commit attempts that failed; flush() waits for the next outcome
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._log = log.get_logger("stream")
        self._ids_sql = STATEMENTS["instrument_ids"].sql
        self._known: set[int] = set()
        self.rejected: list[tuple[tuple[Any, ...], str]] = []
        """Rows refused for good, with why: at put, a tick later than the future tolerance; at
        commit, one whose instrument was deleted or whose period was archived."""
        self._reported = 0  # rejected rows a flush() has raised about
        self._tolerance = pool.settings.future_tolerance_s
        # Refreshed whenever a tick reaches it: the clock only moves on, so a stale bound is
        # too strict, never too lax, and checking against it is one comparison per put.
        self._refused_from = Horizon.now(self._tolerance).refused_from
        self._next_note = 0.0

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> TickStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load the known instruments and start the writer task."""
        if self._task is not None:
            raise UsageError("this TickStream is already started")
        await self.refresh_instruments()
        self._task = asyncio.create_task(self._run(), name="rawdb-tick-stream")

    async def refresh_instruments(self) -> None:
        """Re-read which instruments exist (put() checks ticks against this set)."""
        async with self._pool.read() as conn:
            rows = await conn.fetchall(self._ids_sql, name="instrument_ids")
        self._known = {row["id"] for row in rows}

    async def close(self) -> None:
        """Commit everything queued, then stop. Raises if the last commit keeps failing."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        await task

    # --- putting ------------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Ticks accepted but not yet committed."""
        return self._put_count - self._committed

    @property
    def committed(self) -> int:
        return self._committed

    def put_nowait(self, tick: Tick) -> None:
        """Queue one tick; :class:`InvalidInput` if it is bad, :class:`UsageError` when full."""
        if self.queued >= self.config.queue_limit:
            raise UsageError(
                f"stream queue is full ({self.config.queue_limit} ticks); await put() to wait "
                "for room, or raise StreamConfig.queue_limit"
            )
        row = prepare_tick(tick)
        if row[1] not in self._known:
            raise _unknown(row[1])
        self._accept(row)

    async def put(self, tick: Tick) -> None:
        """Queue one tick, waiting while the queue is full (back-pressure).

        Every YIELD_EVERY puts it yields to the event loop even when there is room, so a
        producer that never waits for anything else cannot starve readers and the writer task.
        """
        row = prepare_tick(tick)
        self._puts_since_yield += 1
        if self._puts_since_yield >= YIELD_EVERY:
            self._puts_since_yield = 0
            await asyncio.sleep(0)
        if row[1] not in self._known:
            await self.refresh_instruments()
            if row[1] not in self._known:
                raise _unknown(row[1])
        if self.queued >= self.config.queue_limit:
            async with self._progress:
                await self._progress.wait_for(
                    lambda: self.queued < self.config.queue_limit or self._stopped()
                )
        self._accept(row)

    def _accept(self, row: tuple[Any, ...]) -> None:
        if self._task is None or self._closing:
            raise UsageError("the stream is not running; use `async with TickStream(pool)`")
        if self._task.done():
            raise InternalError(
                f"the stream's writer task ended unexpectedly ({_ending(self._task)}); ticks are "
                "no longer written (the queued ones are in memory only). Close the stream and "
                "report this"
            )
        if row[0] >= self._refused_from and self._set_aside_if_later(row):
            return
        self._rows.append(row)
        self._put_count += 1
        if self._oldest is None:
            self._oldest = time.monotonic()
            self._wake.set()
        elif len(self._rows) >= self.config.batch_size:
            self._wake.set()

    def _reject(self, row: tuple[Any, ...], why: str) -> None:
        self.rejected.append((row, why))
        if self._metrics is not None:
            self._metrics.record_rejected(1)

    def _set_aside_if_later(self, row: tuple[Any, ...]) -> bool:
        """Set the row aside in :attr:`rejected` when it is later than the horizon now."""
        horizon = Horizon.now(self._tolerance)
        self._refused_from = horizon.refused_from
        if row[0] < horizon.refused_from:
            return False
        why = f"tick refused: field 'timestamp': {beyond(horizon.last)} (got {row[0]!r} UTC)"
        self._reject(row, why)
        if time.monotonic() >= self._next_note:
            self._next_note = time.monotonic() + NOTE_EVERY
            self._log.error(log.STREAM_TICKS_SET_ASIDE, rejected=len(self.rejected), reason=why)
        return True

    async def flush(self) -> None:
        """Return once every tick put before this call is committed; raise if commits fail,
        or :class:`InvalidInput` if ticks were set aside in :attr:`rejected` since the last
        flush that said so (the rest are committed; the stream goes on)."""
        target = self._put_count
        failures = self._failures
        rejected = self._reported
        self._flush_to = max(self._flush_to, target)
        self._wake.set()
        async with self._progress:
            await self._progress.wait_for(
                lambda: self._committed >= target or self._failures > failures or self._stopped()
            )
        if self._committed < target:
            raise self._error or UsageError("the stream stopped before committing every tick")
        if len(self.rejected) > rejected:
            new = self.rejected[rejected:]
            self._reported = max(self._reported, len(self.rejected))
            raise InvalidInput(
                f"{len(new)} tick(s) could not be written and were set aside in "
                f"stream.rejected (the rest are committed); first: {new[0][1]}"
            )

    def _stopped(self) -> bool:
        return self._task is None or self._task.done()

    # --- the writer task ------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._write_batches()
        finally:
            # However the task ends, wake flush() and put() waiters: they see it stopped.
            async with self._progress:
                self._progress.notify_all()

    async def _write_batches(self) -> None:
        delay = self.config.retry_base_delay
        while True:
            await self._wait_for_batch()
            if not self._rows:
                if self._closing:
                    return
                continue
            batch = self._rows[: self.config.batch_size]
            try:
                await self._commit(batch)
            except RawdbError as exc:
                await self._note_failure(exc)
                if self._closing and delay >= self.config.retry_max_delay:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_delay)
                continue
            delay = self.config.retry_base_delay
            del self._rows[: len(batch)]
            self._oldest = time.monotonic() if self._rows else None
            self._committed += len(batch)
            self._error = None
            async with self._progress:
                self._progress.notify_all()

    async def _wait_for_batch(self) -> None:
        while (
            not self._closing
            and len(self._rows) < self.config.batch_size
            and self._committed >= self._flush_to
        ):
            if self._oldest is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            remaining = self._oldest + self.config.max_delay - time.monotonic()
            if remaining <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    async def _commit(self, batch: list[tuple[Any, ...]]) -> None:
        started = time.perf_counter()
        await self._commit_isolating(batch)
        seconds = time.perf_counter() - started
        if self._on_batch is not None:
            self._on_batch(len(batch), seconds)
        if self._metrics is not None:
            self._metrics.record_batch(len(batch), seconds)
            self._metrics.set_queue_depth(self.queued - len(batch))

    async def _commit_isolating(self, rows: list[tuple[Any, ...]]) -> None:
        """Commit ``rows``; rows refused for good are set aside, found by halving the batch.

        A tick can become unwritable after put() accepted it: its instrument was deleted, or
        its period archived. Such rows must not block the stream forever, nor vanish: they go
        to :attr:`rejected` with the reason (and a log line), the rest commit in order. Errors
        that may pass (disk full, busy) propagate, and the whole batch is retried.
        """
        try:
            async with self._pool.write() as conn:
                await write_rows(conn, rows, fold_bars=self._pool.settings.rollups)
        except (ForeignKeyViolation, PeriodNotWritable) as exc:
            if len(rows) == 1:
                self._reject(rows[0], str(exc))
                self._log.error(log.STREAM_BATCH_FAILED, rejected=1, reason=str(exc))
                return
            middle = len(rows) // 2
            await self._commit_isolating(rows[:middle])
            await self._commit_isolating(rows[middle:])

    async def _note_failure(self, exc: RawdbError) -> None:
        self._error = exc
        self._failures += 1
        self._log.error(log.STREAM_BATCH_FAILED, error=str(exc), queued=self.queued)
        async with self._progress:
            self._progress.notify_all()


def _ending(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return "finished" if error is None else f"{type(error).__name__}: {error}"


def _unknown(instrument_id: Any) -> InvalidInput:
    return InvalidInput(
        f"tick refused: field 'instrument_id': unknown instrument {instrument_id}; register it "
        "with add_instrument (put_nowait callers: then await stream.refresh_instruments())"
    )
