"""Ticks on PostgreSQL: what :mod:`rawdb.queries.ticks` does, for a pool whose ``dialect`` is
``postgresql`` (see :mod:`rawdb.queries.postgresql`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rawdb.backend.postgresql.pooled import PgConnection
from rawdb.catalog import policy
from rawdb.catalog.periods import Family, Period
from rawdb.config import ReadTimeout
from rawdb.errors import ForeignKeyViolation, InvalidInput, PeriodNotWritable
from rawdb.models import Bar, BarSeries, PriceRange, Tick
from rawdb.pool import Pool
from rawdb.queries.postgresql.common import SQL, aware, pg, utc
from rawdb.queries.rollups import interval_seconds, whole_buckets
from rawdb.queries.rows import QUOTE_WIDTH, ROW_WIDTH, Horizon
from rawdb.queries.rows import Tick as TickInput
from rawdb.queries.run import dicts_to_models

FAMILY: Family = "market_data"
TICK_COLUMNS = (
    "timestamp", "instrument_id", "price", "volume", "bid", "ask", "bid_size", "ask_size",
    "open_price", "high_price", "low_price",
)  # fmt: skip
# The time goes as "timestamp" (a naive UTC datetime): in COPY's binary format it is the same
# 8 bytes as timestamptz (microseconds since 2000-01-01, UTC for timestamptz), and making each
# datetime aware cost 2 us a tick, a fifth of the whole write (measured).
TICK_TYPES = (
    "timestamp", "int8", "float8", "int8", "float8", "float8", "int8", "int8",
    "float8", "float8", "float8",
)  # fmt: skip


_naive = datetime.fromisoformat
"""A checked row's stored UTC text as a naive datetime (see TICK_TYPES)."""


# --- writing ------------------------------------------------------------------------------


async def write_rows(conn: PgConnection, rows: list[tuple[Any, ...]]) -> int:
    """Checked rows (``prepare_ticks``'s) into their months' partitions by binary COPY, on the
    writer inside its transaction, after one round trip that locks their instruments, marks
    the rollups stale and reads the partitions (``begin_tick_batch``).
    (:func:`rawdb.queries.ticks.insert_ticks` and the streaming writer check and chunk the
    ticks, then hand each chunk here by the connection's dialect.)"""
    if not rows:
        return 0
    ids = sorted({row[1] for row in rows})
    batch = await conn.fetchone(SQL["begin_tick_batch"].sql, {"ids": ids}, name="begin_tick_batch")
    assert batch is not None  # one row, always
    if len(batch["found"]) != len(ids):
        missing = sorted(set(ids) - set(batch["found"]))
        raise ForeignKeyViolation(
            f"statement 'begin_tick_batch': unknown instrument(s) {missing[:5]}",
            statement="begin_tick_batch",
        )
    months = {row[0][:7] for row in rows}
    await ensure_partitions(conn, FAMILY, months, rows, present=batch["partitions"])
    width = QUOTE_WIDTH if max(map(len, rows)) == QUOTE_WIDTH else ROW_WIDTH
    if width == ROW_WIDTH and min(map(len, rows)) < ROW_WIDTH:
        rows = [row if len(row) == ROW_WIDTH else (*row, None, None, None) for row in rows]
    written = await conn.copy_rows(
        "market_data",
        TICK_COLUMNS[:width],
        TICK_TYPES[:width],
        ((_naive(row[0]), *row[1:]) for row in rows),
        name="insert_ticks",
    )
    return int(written)


async def ensure_partitions(
    conn: PgConnection,
    family: Family,
    months: Iterable[str],
    rows: Sequence[tuple[Any, ...]] = (),
    *,
    anywhere: bool = False,
    present: dict[str, str] | None = None,
) -> list[str]:
    """Make the partitions of ``months`` ('YYYY-MM' texts) that are missing; returns the ones
    made. Outside the partition window (unless ``anywhere``, which a copy of a whole database
    uses) a month is refused, naming the first row of it; an archived one too. ``present``:
    the family's partitions and states when the caller has read them already."""
    if present is None:
        found = await conn.fetchall(
            SQL["partitions_of"].sql, {"family": family}, name="partitions_of"
        )
        present = {row["name"]: row["state"] for row in found}
    setup = policy.current()
    first, last = setup.policy.window(family, setup.clock())
    made: list[str] = []
    for key in sorted(set(months)):
        period = Period.of_text(family, key)
        state = present.get(period.table)
        if state == "active":
            continue
        if state is not None:
            raise PeriodNotWritable(
                f"{family}: {period.table} is {state}; restore it before writing rows for "
                f"{key}. Nothing was written."
            )
        if not anywhere and not first <= period <= last:
            index = next((i for i, row in enumerate(rows) if row[0][:7] == key), 0)
            raise PeriodNotWritable(
                f"{family}: batch refused whole, nothing written: row {index}, field "
                f"'timestamp': {key} is outside the partition window ({first.table} to "
                f"{last.table}); PostgreSQL has no default partition for it"
            )
        await attach(conn, family, period)
        made.append(period.table)
    return made


async def attach(
    conn: PgConnection, family: Family, period: Period, detail: str = "made on demand by a write"
) -> None:
    """Make, check and attach a period's partition and register it active (migration 0009's
    ``rawdb_attach_partition``: once, whoever asks)."""
    await conn.fetchone(
        SQL["attach_partition"].sql,
        {
            "family": family,
            "name": period.table,
            "start": utc(period.start_text),
            "end": utc(period.end_text),
            "detail": detail,
        },
        name="partitions_create",
    )


async def unknown_instruments(
    pool: Pool, ticks: Sequence[TickInput], exc: ForeignKeyViolation
) -> Exception:
    from rawdb.queries.ticks import first_unknown, instrument_of  # noqa: PLC0415 -- shared

    ids = sorted({int(instrument_of(t)) for t in ticks})
    async with pg(pool).read(own_writes=True) as conn:
        rows = await conn.fetchall(SQL["known_instrument_ids"].sql, {"ids": ids})
    return first_unknown(ticks, {r["id"] for r in rows}) or exc


# --- reading ------------------------------------------------------------------------------


def _horizon(pool: Pool) -> datetime:
    return utc(Horizon.now(pool.settings.future_tolerance_s).refused_from)


async def latest_tick(pool: Pool, instrument_id: int, *, timeout: ReadTimeout) -> Tick | None:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        row = await conn.fetchone(
            SQL["latest_tick"].sql,
            {"instrument_id": instrument_id, "horizon": _horizon(pool)},
            name="latest_tick",
        )
    return None if row is None else Tick.model_validate(row)


async def latest_ticks(
    pool: Pool, instrument_ids: Sequence[int] | None, *, timeout: ReadTimeout
) -> list[Tick]:
    ids = None if instrument_ids is None else sorted({int(i) for i in instrument_ids})
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(
            SQL["latest_ticks"].sql, {"horizon": _horizon(pool), "ids": ids}, name="latest_ticks"
        )
    return dicts_to_models(Tick, rows)


async def tick_range(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    *,
    include_deleted: bool,
    limit: int,
    timeout: ReadTimeout,
) -> list[Tick]:
    params = {
        "instrument_id": instrument_id,
        "start": aware(start, "start"),
        "end": aware(end, "end"),
        "include_deleted": include_deleted,
        "limit": limit,
    }
    if end <= start:
        raise InvalidInput(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(SQL["tick_range"].sql, params, name="tick_range")
    return dicts_to_models(Tick, rows)


async def ohlc_bars(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: str,
    *,
    timeout: ReadTimeout,
) -> list[Bar]:
    rows = await _bar_rows(pool, instrument_id, start, end, interval, timeout=timeout)
    for row in rows:
        row["instrument_id"] = instrument_id
    return dicts_to_models(Bar, rows)


async def ohlc_series(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: str,
    *,
    timeout: ReadTimeout,
) -> BarSeries:
    rows = await _bar_rows(pool, instrument_id, start, end, interval, timeout=timeout)
    columns = [[row[key] for row in rows] for key in BAR_COLUMNS]
    return BarSeries.of(instrument_id, interval, columns[0], columns[1:])


BAR_COLUMNS = ("start", "open", "high", "low", "close", "volume", "ticks")


async def _bar_rows(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    interval: str,
    *,
    timeout: ReadTimeout,
) -> list[dict[str, Any]]:
    seconds = interval_seconds(interval)
    if aware(end, "end") <= aware(start, "start"):
        raise InvalidInput(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    low, high = whole_buckets(start, end, seconds)  # bars are whole, as on SQLite
    params = {
        "seconds": seconds,
        "instrument_id": instrument_id,
        "start": low,
        "end": high,
    }
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        return await conn.fetchall(SQL["ohlc_bars"].sql, params, name="ohlc_bars")


async def price_range(
    pool: Pool, instrument_id: int, since: datetime, *, timeout: ReadTimeout
) -> PriceRange:
    params = {
        "instrument_id": instrument_id,
        "start": aware(since, "since"),
        "end": _horizon(pool),
    }
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        row = await conn.fetchone(SQL["price_range"].sql, params, name="price_range")
    assert row is not None  # an aggregate: one row
    count = int(row["ticks"])
    return PriceRange(
        instrument_id=instrument_id,
        low=row["low"],
        high=row["high"],
        average=row["total"] / count if count else None,
        ticks=count,
    )


async def soft_delete_tick(pool: Pool, tick_id: int, *, at: datetime | None) -> bool:
    moment = aware(at or datetime.now(UTC), "at")
    async with pg(pool).write() as conn:
        done = await conn.fetchone(
            SQL["soft_delete_tick"].sql, {"deleted_at": moment, "id": tick_id},
            name="soft_delete_tick",
        )  # fmt: skip
    return done is not None


async def restore_tick(pool: Pool, tick_id: int) -> bool:
    async with pg(pool).write() as conn:
        done = await conn.fetchone(SQL["restore_tick"].sql, {"id": tick_id}, name="restore_tick")
    return done is not None


async def purge_deleted_ticks(pool: Pool, older_than: datetime) -> int:
    async with pg(pool).write() as conn:
        return await conn.execute(
            SQL["purge_deleted_ticks"].sql,
            {"deleted_at": aware(older_than, "older_than")},
            name="purge_deleted_ticks",
        )
