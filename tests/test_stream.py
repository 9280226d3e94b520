"""The streaming writer: batching, flush, shutdown, back-pressure, failures without loss."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from rawdb.errors import DiskFull, InternalError, InvalidInput, UsageError
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.queries import instruments
from rawdb.queries.rows import TickRow

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def stored(pool) -> int:
    with sqlite3.connect(pool.settings.database) as conn:
        return conn.execute("SELECT count(*) FROM market_data").fetchone()[0]


async def instrument(pool) -> int:
    return (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id


def tick(es: int, i: int) -> TickRow:
    return TickRow(es, T0 + timedelta(milliseconds=i), 100.0 + i % 10, 1)


async def test_flush_makes_everything_put_before_it_durable(pool) -> None:
    """After flush() every tick put so far is in the database, seen by a new connection."""
    es = await instrument(pool)
    batches: list[int] = []
    config = StreamConfig(batch_size=100, max_delay=10.0)
    async with TickStream(pool, config, on_batch=lambda n, _s: batches.append(n)) as stream:
        for i in range(250):
            stream.put_nowait(tick(es, i))
        await stream.flush()
        assert stored(pool) == 250
        assert stream.committed == 250
        assert stream.queued == 0
    assert sum(batches) == 250
    assert max(batches) <= 100


async def test_time_threshold_commits_a_partial_batch(pool) -> None:
    """A lone tick is committed within max_delay without any flush."""
    es = await instrument(pool)
    async with TickStream(pool, StreamConfig(batch_size=10_000, max_delay=0.05)) as stream:
        await stream.put(tick(es, 0))
        for _ in range(100):
            if stored(pool) == 1:
                break
            await asyncio.sleep(0.02)
        assert stored(pool) == 1


async def test_close_commits_everything_queued(pool) -> None:
    """Leaving the block (clean shutdown) loses no tick, even with a long max_delay."""
    es = await instrument(pool)
    async with TickStream(pool, StreamConfig(batch_size=1_000, max_delay=60.0)) as stream:
        for i in range(2_345):
            stream.put_nowait(tick(es, i))
    assert stored(pool) == 2_345


async def test_bad_tick_is_refused_at_put(pool) -> None:
    """A bad or unknown-instrument tick raises at put and is never queued."""
    es = await instrument(pool)
    async with TickStream(pool) as stream:
        with pytest.raises(InvalidInput, match="field 'price'"):
            stream.put_nowait(TickRow(es, T0, float("nan")))
        with pytest.raises(InvalidInput, match="unknown instrument 42"):
            await stream.put(TickRow(42, T0, 1.0))
        assert stream.queued == 0
        other = await instruments.add_instrument(pool, {"symbol": "NQ", "name": "Nasdaq"})
        await stream.put(TickRow(other.id, T0, 1.0))  # put() re-reads instruments on a miss
        await stream.flush()
    assert stored(pool) == 1


async def test_back_pressure_waits_for_room(pool) -> None:
    """With the queue full, put_nowait refuses and put waits until a commit makes room."""
    es = await instrument(pool)
    config = StreamConfig(batch_size=50, max_delay=60.0, queue_limit=50)
    async with TickStream(pool, config) as stream:
        for i in range(49):
            stream.put_nowait(tick(es, i))
        stream.put_nowait(tick(es, 49))  # the 50th fills a batch; the writer will commit it
        with pytest.raises(UsageError, match="queue is full"):
            stream.put_nowait(tick(es, 50))
        await asyncio.wait_for(stream.put(tick(es, 50)), timeout=10)
        await stream.flush()
    assert stored(pool) == 51


async def test_disk_full_keeps_the_queue_and_recovers(pool) -> None:
    """A full disk makes flush raise DiskFull; once space is back every queued tick commits."""
    es = await instrument(pool)
    async with pool.write() as conn:
        pages = (await conn.fetchone("PRAGMA page_count"))[0]
        await conn.execute(f"PRAGMA max_page_count={pages + 2}")
    config = StreamConfig(batch_size=5_000, max_delay=0.01, retry_base_delay=0.01)
    async with TickStream(pool, config) as stream:
        for i in range(20_000):
            stream.put_nowait(tick(es, i))
        with pytest.raises(DiskFull):
            await stream.flush()
        assert stream.queued > 0
        async with pool.write() as conn:
            await conn.execute("PRAGMA max_page_count=1073741823")
        await asyncio.wait_for(stream.flush(), timeout=30)
    assert stored(pool) == 20_000
    with sqlite3.connect(pool.settings.database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_config_is_checked() -> None:
    """Contradictory settings say what to change."""
    with pytest.raises(UsageError, match=r"queue_limit .* is smaller than batch_size"):
        StreamConfig(batch_size=100, queue_limit=10)
    with pytest.raises(UsageError, match="max_delay"):
        StreamConfig(max_delay=0)


async def test_rows_that_became_unwritable_are_set_aside_not_lost(pool) -> None:
    """Ticks of an instrument deleted after put() go to stream.rejected; the rest commit."""
    es = await instrument(pool)
    gone = await instruments.add_instrument(pool, {"symbol": "XX", "name": "delisted"})
    config = StreamConfig(batch_size=1_000, max_delay=60.0)
    async with TickStream(pool, config) as stream:
        for i in range(300):
            stream.put_nowait(tick(gone.id if i in (7, 150, 151) else es, i))
        assert await instruments.delete_instrument(pool, gone.id)  # no ticks committed yet
        with pytest.raises(InvalidInput, match=r"3 tick\(s\) could not be written"):
            await stream.flush()
        assert [row[1] for row, _why in stream.rejected] == [gone.id] * 3
        assert all("FOREIGN KEY" in why for _row, why in stream.rejected)
    assert stored(pool) == 297


async def test_flush_reports_ticks_set_aside_since_the_last_report(pool) -> None:
    """Ticks set aside between flushes (a commit on the time threshold) are reported by the next
    flush, once; the flush after it has nothing to say."""
    es = await instrument(pool)
    gone = await instruments.add_instrument(pool, {"symbol": "XX", "name": "delisted"})
    async with TickStream(pool, StreamConfig(batch_size=1_000, max_delay=0.01)) as stream:
        await instruments.delete_instrument(pool, gone.id)
        stream.put_nowait(tick(gone.id, 0))  # known at start: put accepts it
        stream.put_nowait(tick(es, 1))
        for _ in range(200):
            if stream.rejected and stream.queued == 0:
                break
            await asyncio.sleep(0.01)
        assert len(stream.rejected) == 1
        with pytest.raises(InvalidInput, match=r"1 tick\(s\) could not be written"):
            await stream.flush()
        stream.put_nowait(tick(es, 2))
        await stream.flush()
    assert stored(pool) == 2


async def test_a_writer_task_that_dies_wakes_flush_and_put(pool, tmp_path) -> None:
    """If the writer task ends with an error that is not the database's (here: the log file the
    application configured is closed when the writer logs a refused row), flush() and put()
    raise at once instead of waiting forever."""
    es = await instrument(pool)
    gone = await instruments.add_instrument(pool, {"symbol": "XX", "name": "delisted"})
    closed = (tmp_path / "app.log").open("w")
    closed.close()
    previous = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=closed))
    try:
        async with TickStream(pool, StreamConfig(batch_size=1_000, max_delay=60.0)) as stream:
            for i in range(10):
                stream.put_nowait(tick(gone.id if i == 3 else es, i))
            assert await instruments.delete_instrument(pool, gone.id)
            with pytest.raises((InternalError, UsageError, ValueError)):
                await asyncio.wait_for(stream.flush(), timeout=10)
            with pytest.raises(InternalError, match="writer task ended unexpectedly"):
                await asyncio.wait_for(stream.put(tick(es, 99)), timeout=10)
            stream.rejected.clear()
    except ValueError as exc:  # close() re-raises the task's own error
        assert "closed file" in str(exc)
    finally:
        structlog.configure(**previous)
