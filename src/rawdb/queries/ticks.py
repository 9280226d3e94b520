"""Market-data ticks: bulk insert, latest, ranges, bars, price ranges, soft delete.

Ticks are stored in monthly tables; every function here goes through ``rawdb.partitions`` for
which tables to write or read (only those whose month overlaps the asked range).

Ticks later than the wall clock plus ``Settings.future_tolerance_s`` are refused on the way in,
and the latest-tick reads ignore such rows (stored before that check, or by hand), so a
mistyped year in the default table cannot stand in for the live month.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from rawdb.backend import Connection
from rawdb.catalog import reads, routing
from rawdb.catalog.periods import Family
from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import ForeignKeyViolation, InvalidInput, UsageError
from rawdb.models import Bar, BarSeries, PriceRange, Tick, as_rows, db_time
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, rollups
from rawdb.queries.rows import QUOTE_WIDTH, ROW_WIDTH, Horizon, prepare_ticks
from rawdb.queries.rows import Tick as TickInput
from rawdb.queries.run import engine_api, fetch_all, reading, to_model, to_models

FAMILY: Family = "market_data"
INSERTS = routing.Inserts(
    STATEMENTS["insert_tick"],
    STATEMENTS["append_ticks"],
    STATEMENTS["next_tick_id"],
    ROW_WIDTH,
    after=rollups.fold,  # bars and latest prices, in the ticks' transaction
)
QUOTE_INSERTS = replace(INSERTS, append=STATEMENTS["append_quotes"])
# Rollups off (Settings.rollups): nothing folded, the rollups marked stale in the same transaction.
PLAIN_INSERTS = replace(INSERTS, after=rollups.stale)
PLAIN_QUOTE_INSERTS = replace(QUOTE_INSERTS, after=rollups.stale)
LATEST_HELD = STATEMENTS["latest_held"]
LATEST_ALL = STATEMENTS["latest_held_all"]
INSTRUMENT_IDS = STATEMENTS["instrument_ids"]
INTERVALS = rollups.INTERVALS
DEFAULT_CHUNK = 10_000
Interval = Literal["1m", "5m", "15m", "1h", "1d"]


async def insert_ticks(
    pool: Pool, ticks: Iterable[TickInput], *, chunk: int = DEFAULT_CHUNK
) -> int:
    """Store a batch in one transaction, all or nothing; returns the number of rows written.

    Ticks are :class:`~rawdb.queries.rows.TickRow` tuples (fastest), :class:`TickIn` models or
    dicts, in a list or any other iterable (a generator is listed first). Any bad tick refuses
    the whole batch with :class:`InvalidInput` naming the row and field; an unknown instrument
    does too, and so does a tick later than the wall clock plus the future tolerance. The batch
    is checked and written ``chunk`` ticks at a time, one after the other: checking a chunk
    while SQLite writes the last does not pay, because sqlite3 takes the GIL back between rows
    and waits for it (measured 10% slower).
    """
    if chunk < 1:
        raise UsageError(f"chunk must be >= 1, got {chunk}")
    batch = as_rows(ticks, "ticks")
    if not batch:
        return 0
    horizon = Horizon.now(pool.settings.future_tolerance_s)
    try:
        async with pool.write() as conn:
            written = 0
            for rows in prepared_chunks(batch, chunk, horizon):
                written += await write_rows(conn, rows, fold_bars=pool.settings.rollups)
            return written
    except ForeignKeyViolation as exc:
        raise await _unknown_instruments(pool, batch, exc) from exc


def prepared_chunks(
    ticks: Sequence[TickInput], chunk: int, horizon: Horizon
) -> Iterator[list[tuple[Any, ...]]]:
    """Checked rows chunk by chunk (memory stays bounded for very large batches).

    Models and dicts are checked whole first (pydantic reports every bad row at once).
    """
    total = len(ticks)
    if not isinstance(ticks[0], tuple):
        rows = prepare_ticks(ticks, horizon=horizon)
        for start in range(0, total, chunk):
            yield rows[start : start + chunk]
        return
    if total <= chunk:
        yield prepare_ticks(ticks, horizon=horizon)
        return
    for start in range(0, total, chunk):
        part = ticks[start : start + chunk]
        yield prepare_ticks(part, offset=start, total=total, horizon=horizon)


async def write_rows(conn: Connection, rows: list[tuple[Any, ...]], *, fold_bars: bool) -> int:
    """Write checked rows (from ``prepare_ticks``) on the writer inside its transaction.

    The one place ticks reach their tables: the bulk insert and the streaming writer both end
    here. Rows are grouped by month, one ``executemany`` per month's table (made on demand
    inside the partition window; rows outside it go to the default table). A batch without
    bar fields binds only the columns it has; one mixing both kinds is written in full.
    ``fold_bars`` (``Settings.rollups``): fold them into the bars and latest prices, else mark
    those stale.
    """
    if (api := engine_api(conn)) is not None:
        return await api.write_rows(conn, rows)  # type: ignore[no-any-return]
    if not rows:
        return 0
    full, quotes = (INSERTS, QUOTE_INSERTS) if fold_bars else (PLAIN_INSERTS, PLAIN_QUOTE_INSERTS)
    if max(map(len, rows)) == QUOTE_WIDTH:
        return await routing.write(conn, FAMILY, rows, quotes)
    if min(map(len, rows)) < ROW_WIDTH:
        rows = [row if len(row) == ROW_WIDTH else (*row, None, None, None) for row in rows]
    return await routing.write(conn, FAMILY, rows, full)


async def _unknown_instruments(
    pool: Pool, ticks: Sequence[TickInput], exc: ForeignKeyViolation
) -> Exception:
    if (api := engine_api(pool)) is not None:
        return await api.unknown_instruments(pool, ticks, exc)  # type: ignore[no-any-return]
    ids = sorted({instrument_of(t) for t in ticks})
    async with reading(pool) as conn:
        rows = await fetch_all(conn, "known_instrument_ids", (json.dumps(ids),))
    return first_unknown(ticks, {r[0] for r in rows}) or exc


def first_unknown(ticks: Sequence[TickInput], known: set[int]) -> InvalidInput | None:
    """The refusal naming the first tick whose instrument is not in ``known`` (None: none)."""
    for index, tick in enumerate(ticks):
        if instrument_of(tick) not in known:
            return InvalidInput(
                f"ticks: batch of {len(ticks)} refused whole, nothing written: row {index}, "
                f"field 'instrument_id': unknown instrument {instrument_of(tick)}; "
                "register it with add_instrument first"
            )
    return None


def instrument_of(tick: TickInput) -> Any:
    if isinstance(tick, tuple):
        return tick[0]
    if isinstance(tick, dict):
        return tick.get("instrument_id")
    return getattr(tick, "instrument_id", None)


def _horizon(pool: Pool) -> str:
    """The earliest stored time the latest-tick reads ignore (what insert_ticks would refuse)."""
    return Horizon.now(pool.settings.future_tolerance_s).refused_from


async def latest_tick(
    pool: Pool, instrument_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Tick | None:
    """The newest live tick of one instrument, or None; rows later than the wall clock plus
    the future tolerance are not live."""
    if (api := engine_api(pool)) is not None:
        return await api.latest_tick(pool, instrument_id, timeout=timeout)  # type: ignore[no-any-return]
    horizon = _horizon(pool)
    async with reading(pool, timeout) as conn:
        if await rollups.serves(conn, reads.BEGINNING, pool.settings.future_tolerance_s):
            # A point read: in place, no hop to the connection's thread.
            held = await conn.fetchall_now(LATEST_HELD.sql, (instrument_id,), name=LATEST_HELD.name)
            if held:  # none yet: a repair dropped it, or no tick since the backfill
                return to_model(Tick, held[0])
        row = await rollups.newest_live(conn, instrument_id, horizon)
    return to_model(Tick, row)


async def latest_ticks(
    pool: Pool, instrument_ids: Sequence[int] | None = None, *, timeout: ReadTimeout = FROM_SETTINGS
) -> list[Tick]:
    """The newest live tick of each instrument (all instruments when ``instrument_ids`` is None);
    rows later than the wall clock plus the future tolerance are not live."""
    if (api := engine_api(pool)) is not None:
        return await api.latest_ticks(pool, instrument_ids, timeout=timeout)  # type: ignore[no-any-return]
    horizon = _horizon(pool)
    async with reading(pool, timeout) as conn:
        if instrument_ids is None:
            found = await conn.fetchall_now(INSTRUMENT_IDS.sql, name=INSTRUMENT_IDS.name)
            wanted = {r[0] for r in found}
        else:
            wanted = {int(i) for i in instrument_ids}
        if await rollups.serves(conn, reads.BEGINNING, pool.settings.future_tolerance_s):
            some = {"ids": json.dumps(sorted(wanted))}
            held = await conn.fetchall_now(LATEST_ALL.sql, some, name=LATEST_ALL.name)
            if len(held) == len(wanted):  # else one has no held tick yet: seek them all
                return to_models(Tick, held)
        best: dict[int, Any] = {}
        unsettled = set(wanted)

        def done(rows: list[Any], floor: str) -> bool:
            for row in rows:
                kept = best.get(row["instrument_id"])
                if kept is None or row["timestamp"] > kept["timestamp"]:
                    best[row["instrument_id"]] = row
            unsettled.clear()
            unsettled.update(i for i in wanted if i not in best or best[i]["timestamp"] < floor)
            return not unsettled

        def narrow() -> dict[str, Any]:
            return {"ids": json.dumps(sorted(unsettled))}

        ids = None if instrument_ids is None else json.dumps(sorted(wanted))
        await reads.newest(
            conn,
            FAMILY,
            STATEMENTS["latest_ticks"],
            {"ids": ids, "horizon": horizon},
            done=done,
            narrow=narrow,
            until=horizon,
        )
    return to_models(Tick, [best[key] for key in sorted(best)])


def _window(start: datetime, end: datetime) -> tuple[str, str]:
    low, high = db_time(start, "start"), db_time(end, "end")
    if end <= start:
        raise InvalidInput(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return low, high


async def tick_range(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    *,
    include_deleted: bool = False,
    limit: int = 100_000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Tick]:
    """Ticks of one instrument in ``[start, end)``, oldest first."""
    if (api := engine_api(pool)) is not None:
        found: list[Tick] = await api.tick_range(
            pool,
            instrument_id,
            start,
            end,
            include_deleted=include_deleted,
            limit=limit,
            timeout=timeout,
        )
        return found
    low, high = _window(start, end)
    params = {"instrument_id": instrument_id, "include_deleted": int(include_deleted)}
    async with reading(pool, timeout) as conn:
        rows = await reads.over_range(
            conn,
            FAMILY,
            STATEMENTS["tick_range"],
            params,
            low,
            high,
            limit=limit,
            in_place=IN_PLACE_TICKS,
        )
    return to_models(Tick, rows)


IN_PLACE_TICKS = 500
"""Most ticks a range reads on the event loop's thread before it hands the rest of its span
to the reader's thread (about 0.5 ms of SQLite: see :func:`rawdb.catalog.reads.over_range`)."""


async def ohlc_bars(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: Interval = "1m",
    *,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Bar]:
    """OHLC bars of one instrument overlapping ``[start, end)``, each whole (all the ticks of
    its bucket, also those before ``start`` or from ``end`` on); interval 1m, 5m, 15m, 1h or
    1d. The same bars whether they come from the kept bars or from the ticks. A chart that
    draws many bars reads them faster as columns: :func:`ohlc_series`."""
    if (api := engine_api(pool)) is not None:
        return await api.ohlc_bars(pool, instrument_id, start, end, interval, timeout=timeout)  # type: ignore[no-any-return]
    kept, rows = await _bar_rows(
        pool, instrument_id, start, end, interval, timeout=timeout, tuples=False
    )
    if kept:
        return to_models(Bar, rows)  # one pydantic call
    return [_bar(instrument_id, datetime.fromtimestamp(r["bucket"], UTC), r) for r in rows]


async def ohlc_series(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: Interval = "1m",
    *,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> BarSeries:
    """The bars of :func:`ohlc_bars` as columns (a :class:`BarSeries`): no object per bar,
    and kept bars of a window up to :data:`IN_PLACE_BARS` long are read in place, so a
    day of minute bars costs about half the models' time (README, Measured)."""
    if (api := engine_api(pool)) is not None:
        return await api.ohlc_series(pool, instrument_id, start, end, interval, timeout=timeout)  # type: ignore[no-any-return]
    kept, rows = await _bar_rows(
        pool, instrument_id, start, end, interval, timeout=timeout, tuples=True
    )
    if not rows:
        return BarSeries.of(instrument_id, interval, [], [])
    columns = list(zip(*rows, strict=True))
    if kept:  # (instrument_id, start as stored text, open, ...)
        starts = [datetime.fromisoformat(f"{text}+00:00") for text in columns[1]]
        return BarSeries.of(instrument_id, interval, starts, columns[2:])
    starts = [datetime.fromtimestamp(bucket, UTC) for bucket in columns[0]]
    return BarSeries.of(instrument_id, interval, starts, columns[1:])


IN_PLACE_BARS = 1_500
"""Most stored bars a kept-bars read fetches on the event loop's thread, as a point read is:
a day of minute bars or a month of hourly ones, about 1 ms in SQLite. The hop to the
reader's thread and back cost a day of bars 0.8 ms at p50 and 4.6 ms at p99 while a feed ran
in the same process (2026-12-02); a longer window, whose statement would hold the loop, hops."""


async def _bar_rows(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: str,
    *,
    timeout: ReadTimeout,
    tuples: bool,
) -> tuple[bool, list[Any]]:
    """(kept, rows): the kept bars' rows in the columns of a Bar (start as stored text) when
    the rollups hold the window, else bars computed from the ticks (bucket in Unix seconds).
    ``tuples``: rows read in place come as tuples."""
    seconds = rollups.interval_seconds(interval)
    _window(start, end)  # checks the arguments
    wide = rollups.whole_buckets(start, end, seconds)
    low, high = _window(*wide)
    name, extra, seconds = rollups.SOURCES[interval]
    first, last = rollups.bucket_window(start, end, seconds)
    async with reading(pool, timeout) as conn:
        if await rollups.serves(
            conn,
            first,
            pool.settings.future_tolerance_s,
            minutes=interval in rollups.FROM_MINUTES,
            until=last,
        ):
            held = {"instrument_id": instrument_id, "start": first, "end": last, **extra}
            stored = 60 if interval in rollups.FROM_MINUTES else 3600  # seconds a stored bar spans
            if (wide[1] - wide[0]).total_seconds() / stored > IN_PLACE_BARS:
                return True, await fetch_all(conn, name, held)
            stmt = STATEMENTS[name]
            return True, await conn.fetchall_now(stmt.sql, held, name=name, tuples=tuples)
        # Before the backfill is done: from the ticks. Spans are cut at month starts (UTC
        # midnight), which every bucket size divides.
        params = {"instrument_id": instrument_id, "seconds": seconds}
        rows = await reads.over_range(conn, FAMILY, STATEMENTS["ohlc_bars"], params, low, high)
    return False, rows


def _bar(instrument_id: int, start: datetime, row: Any) -> Bar:
    return Bar(
        instrument_id=instrument_id,
        start=start,
        open=row["open"],
        high=row["high"],
        low=row["low"],
        close=row["close"],
        volume=row["volume"],
        ticks=row["ticks"],
    )


async def price_range(
    pool: Pool, instrument_id: int, since: datetime, *, timeout: ReadTimeout = FROM_SETTINGS
) -> PriceRange:
    """Low, high and average live price of one instrument since ``since`` (up to the wall
    clock plus the future tolerance: a far-future bad print would skew every evaluation)."""
    if (api := engine_api(pool)) is not None:
        return await api.price_range(pool, instrument_id, since, timeout=timeout)  # type: ignore[no-any-return]
    params = {"instrument_id": instrument_id}
    low, high = db_time(since, "since"), _horizon(pool)
    async with reading(pool, timeout) as conn:
        rows = await reads.over_range(conn, FAMILY, STATEMENTS["price_range"], params, low, high)
    count = sum(r["ticks"] for r in rows)
    lows = [r["low"] for r in rows if r["low"] is not None]
    highs = [r["high"] for r in rows if r["high"] is not None]
    return PriceRange(
        instrument_id=instrument_id,
        low=min(lows, default=None),
        high=max(highs, default=None),
        average=sum(r["total"] for r in rows) / count if count else None,
        ticks=count,
    )


async def soft_delete_tick(pool: Pool, tick_id: int, *, at: datetime | None = None) -> bool:
    """Hide a bad tick from reads (kept until purged); True if it was live."""
    if (api := engine_api(pool)) is not None:
        return await api.soft_delete_tick(pool, tick_id, at=at)  # type: ignore[no-any-return]
    moment = db_time(at or datetime.now(UTC), "at")
    async with pool.write() as conn:
        done = await reads.by_id(conn, FAMILY, STATEMENTS["soft_delete_tick"], tick_id, (moment,))
        if done is not None:
            await _refresh_rollups(pool, conn, tick_id)
    return done is not None


async def restore_tick(pool: Pool, tick_id: int) -> bool:
    """Bring a soft-deleted tick back; True if it was deleted."""
    if (api := engine_api(pool)) is not None:
        return await api.restore_tick(pool, tick_id)  # type: ignore[no-any-return]
    async with pool.write() as conn:
        done = await reads.by_id(conn, FAMILY, STATEMENTS["restore_tick"], tick_id, ())
        if done is not None:
            await _refresh_rollups(pool, conn, tick_id)
    return done is not None


async def _refresh_rollups(pool: Pool, conn: Connection, tick_id: int) -> None:
    """The tick's bars and its instrument's latest price, again from the ticks."""
    place = await reads.by_id_rows(conn, FAMILY, STATEMENTS["tick_place"], tick_id)
    if place:
        await rollups.refresh(
            conn, place[0]["instrument_id"], place[0]["timestamp"], _horizon(pool)
        )


async def purge_deleted_ticks(pool: Pool, older_than: datetime) -> int:
    """Remove for good ticks soft-deleted before ``older_than``; returns how many.

    Runs table by table in one transaction (each table's partial deleted_at index finds the
    rows); archived months are not touched. ``rawdb.archive.purge`` does the same with an
    audit row per table.
    """
    if (api := engine_api(pool)) is not None:
        return await api.purge_deleted_ticks(pool, older_than)  # type: ignore[no-any-return]
    cutoff = (db_time(older_than, "older_than"),)
    async with pool.write() as conn:
        changed = await reads.every_table(conn, FAMILY, STATEMENTS["purge_deleted_ticks"], cutoff)
    return sum(changed.values())
