"""Market-data ticks: bulk insert, latest, ranges, bars, price ranges, soft delete."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from rawdb.errors import ForeignKeyViolation, InvalidInput, UsageError
from rawdb.ingest.rows import Tick as TickInput
from rawdb.ingest.rows import prepare_ticks
from rawdb.models import Bar, PriceRange, Tick, to_db_time
from rawdb.pool import Pool
from rawdb.pool.conn import Connection
from rawdb.queries._run import execute, execute_many, fetch_all, fetch_one, to_model, to_models

INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
DEFAULT_CHUNK = 10_000
Interval = Literal["1m", "5m", "15m", "1h", "1d"]


async def insert_ticks(
    pool: Pool, ticks: Sequence[TickInput], *, chunk: int = DEFAULT_CHUNK
) -> int:
    """Store a batch in one transaction, all or nothing; returns the number of rows written.

    Ticks are :class:`~rawdb.ingest.rows.TickRow` tuples (fastest), :class:`TickIn` models or
    dicts. Any bad tick refuses the whole batch with :class:`InvalidInput` naming the row and
    field; an unknown instrument does too. Chunks are checked while the previous chunk is being
    written (SQLite works in its own thread), so validation costs little wall time.
    """
    if chunk < 1:
        raise UsageError(f"chunk must be >= 1, got {chunk}")
    if not ticks:
        return 0
    try:
        async with pool.write() as conn:
            return await _pipelined_insert(conn, ticks, chunk)
    except ForeignKeyViolation as exc:
        raise await _unknown_instruments(pool, ticks, exc) from exc


def _prepared_chunks(ticks: Sequence[TickInput], chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """Checked rows chunk by chunk, lazily, so each chunk is checked while the last is written.

    Models and dicts are checked whole first (pydantic reports every bad row at once).
    """
    total = len(ticks)
    if not isinstance(ticks[0], tuple):
        rows = prepare_ticks(ticks)
        for start in range(0, total, chunk):
            yield rows[start : start + chunk]
        return
    for start in range(0, total, chunk):
        yield prepare_ticks(ticks[start : start + chunk], offset=start, total=total)


async def _pipelined_insert(conn: Connection, ticks: Sequence[TickInput], chunk: int) -> int:
    written = 0
    pending: asyncio.Task[int] | None = None
    try:
        for rows in _prepared_chunks(ticks, chunk):
            if pending is not None:
                written += await pending
            pending = asyncio.ensure_future(write_rows(conn, rows))
            await asyncio.sleep(0)  # hand the batch to SQLite's thread, then check the next
    except BaseException:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        raise
    assert pending is not None
    return written + await pending


async def write_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    """Write checked rows (from ``prepare_ticks``) on the writer inside its transaction.

    The one place ticks reach their table: the bulk insert and the streaming writer both end here.
    """
    return await execute_many(conn, "insert_tick", rows)


async def _unknown_instruments(
    pool: Pool, ticks: Sequence[TickInput], exc: ForeignKeyViolation
) -> Exception:
    ids = sorted({_instrument_of(t) for t in ticks})
    async with pool.read() as conn:
        rows = await fetch_all(conn, "known_instrument_ids", (json.dumps(ids),))
    known = {r[0] for r in rows}
    for index, tick in enumerate(ticks):
        if _instrument_of(tick) not in known:
            return InvalidInput(
                f"ticks: batch of {len(ticks)} refused whole, nothing written: row {index}, "
                f"field 'instrument_id': unknown instrument {_instrument_of(tick)}; "
                "register it with add_instrument first"
            )
    return exc


def _instrument_of(tick: TickInput) -> Any:
    if isinstance(tick, tuple):
        return tick[0]
    if isinstance(tick, dict):
        return tick.get("instrument_id")
    return getattr(tick, "instrument_id", None)


async def latest_tick(pool: Pool, instrument_id: int) -> Tick | None:
    """The newest live tick of one instrument, or None."""
    async with pool.read() as conn:
        return to_model(Tick, await fetch_one(conn, "latest_tick", (instrument_id,)))


async def latest_ticks(pool: Pool, instrument_ids: Sequence[int] | None = None) -> list[Tick]:
    """The newest live tick of each instrument (all instruments when ``instrument_ids`` is None)."""
    ids = None if instrument_ids is None else json.dumps([int(i) for i in instrument_ids])
    async with pool.read() as conn:
        return to_models(Tick, await fetch_all(conn, "latest_ticks", (ids,)))


def _window(start: datetime, end: datetime) -> tuple[str, str]:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start and end must be timezone-aware datetimes")
    if end <= start:
        raise InvalidInput(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return to_db_time(start), to_db_time(end)


async def tick_range(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    *,
    include_deleted: bool = False,
    limit: int = 100_000,
) -> list[Tick]:
    """Ticks of one instrument in ``[start, end)``, oldest first."""
    low, high = _window(start, end)
    params = {
        "instrument_id": instrument_id,
        "start": low,
        "end": high,
        "include_deleted": int(include_deleted),
        "limit": limit,
    }
    async with pool.read() as conn:
        return to_models(Tick, await fetch_all(conn, "tick_range", params))


async def ohlc_bars(
    pool: Pool, instrument_id: int, start: datetime, end: datetime, interval: Interval = "1m"
) -> list[Bar]:
    """OHLC bars of one instrument in ``[start, end)``; interval 1m, 5m, 15m, 1h or 1d."""
    if interval not in INTERVALS:
        raise InvalidInput(f"interval {interval!r}: use one of {', '.join(INTERVALS)}")
    low, high = _window(start, end)
    params = {
        "instrument_id": instrument_id,
        "start": low,
        "end": high,
        "seconds": INTERVALS[interval],
    }
    async with pool.read() as conn:
        rows = await fetch_all(conn, "ohlc_bars", params)
    return [
        Bar(
            instrument_id=instrument_id,
            start=datetime.fromtimestamp(row["bucket"], UTC),
            open=row["open"],
            high=row["high"],
            low=row["low"],
            close=row["close"],
            volume=row["volume"],
            ticks=row["ticks"],
        )
        for row in rows
    ]


async def price_range(pool: Pool, instrument_id: int, since: datetime) -> PriceRange:
    """Low, high and average live price of one instrument since ``since``."""
    if since.tzinfo is None:
        raise InvalidInput("since must be a timezone-aware datetime")
    async with pool.read() as conn:
        row = await fetch_one(conn, "price_range", (instrument_id, to_db_time(since)))
    assert row is not None  # an aggregate always returns one row
    return PriceRange(
        instrument_id=instrument_id,
        low=row["low"],
        high=row["high"],
        average=row["average"],
        ticks=row["ticks"],
    )


async def soft_delete_tick(pool: Pool, tick_id: int, *, at: datetime | None = None) -> bool:
    """Hide a bad tick from reads (kept until purged); True if it was live."""
    moment = to_db_time(at or datetime.now(UTC))
    async with pool.write() as conn:
        return (await execute(conn, "soft_delete_tick", (moment, tick_id))).rowcount == 1


async def restore_tick(pool: Pool, tick_id: int) -> bool:
    """Bring a soft-deleted tick back; True if it was deleted."""
    async with pool.write() as conn:
        return (await execute(conn, "restore_tick", (tick_id,))).rowcount == 1


async def purge_deleted_ticks(pool: Pool, older_than: datetime) -> int:
    """Remove for good ticks soft-deleted before ``older_than``; returns how many."""
    if older_than.tzinfo is None:
        raise InvalidInput("older_than must be a timezone-aware datetime")
    async with pool.write() as conn:
        return (await execute(conn, "purge_deleted_ticks", (to_db_time(older_than),))).rowcount
