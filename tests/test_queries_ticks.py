"""Tick queries on a real migrated database: insert, latest, ranges, bars, soft delete."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rawdb import partitions
from rawdb.catalog import registry, routing
from rawdb.errors import InvalidInput
from rawdb.models import TickIn, to_db_time
from rawdb.partitions import Period
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import Horizon, TickRow

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


async def two_instruments(pool) -> tuple[int, int]:
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "E-mini S&P"})
    nq = await instruments.add_instrument(pool, {"symbol": "NQ", "name": "E-mini Nasdaq"})
    return es.id, nq.id


def count(pool) -> int:
    with sqlite3.connect(pool.settings.database) as conn:
        return conn.execute("SELECT count(*) FROM market_data").fetchone()[0]


async def test_bulk_insert_round_trips_values(pool) -> None:
    """Ticks in all three input forms come back with equal values and UTC times."""
    es, nq = await two_instruments(pool)
    new_york = timezone(timedelta(hours=-5))
    written = await ticks.insert_ticks(
        pool,
        [
            TickRow(es, T0, 5000.25, 3, 5000.0, 5000.5, 10, 12),
            TickRow(nq, T0 + timedelta(microseconds=1), 18000.125, 1),
        ],
    )
    written += await ticks.insert_ticks(
        pool,
        [
            TickIn(
                instrument_id=es,
                timestamp=T0.astimezone(new_york) + timedelta(seconds=1),
                price=5001.0,
            )
        ],
    )
    written += await ticks.insert_ticks(
        pool, [{"instrument_id": es, "timestamp": T0 + timedelta(seconds=2), "price": 5002.0}]
    )
    assert written == 4
    got = await ticks.tick_range(pool, es, T0, T0 + timedelta(minutes=1))
    assert [(t.timestamp, t.price) for t in got] == [
        (T0, 5000.25),
        (T0 + timedelta(seconds=1), 5001.0),
        (T0 + timedelta(seconds=2), 5002.0),
    ]
    assert got[0].bid == 5000.0 and got[0].ask_size == 12
    (other,) = await ticks.tick_range(pool, nq, T0, T0 + timedelta(minutes=1))
    assert other.timestamp == T0 + timedelta(microseconds=1)


async def test_bars_and_quotes_in_one_batch_keep_every_field_and_order(pool) -> None:
    """Ticks with and without bar fields, mixed and alone: every value stored, ids in order."""
    es, _ = await two_instruments(pool)
    quote = TickRow(es, T0, 100.0, 1, 99.5, 100.5, 2, 3)
    bar = TickRow(es, T0 + timedelta(seconds=1), 101.0, 7, None, None, None, None, 100.0, 102, 99.0)

    def at(tick: TickRow, second: int) -> TickRow:
        return tick._replace(timestamp=T0 + timedelta(seconds=second))

    batches = [[at(bar, 0), at(quote, 1)], [at(quote, 2), at(quote, 3)], [at(bar, 4), at(bar, 5)]]
    for batch in batches:
        await ticks.insert_ticks(pool, batch)
    with sqlite3.connect(pool.settings.database) as conn:
        stored = conn.execute(
            "SELECT id, timestamp, price, volume, bid, ask, bid_size, ask_size, open_price,"
            " high_price, low_price FROM market_data ORDER BY id"
        ).fetchall()
    expected = [row for batch in batches for row in batch]
    assert [r[2:] for r in stored] == [tuple(t[2:]) for t in expected]
    assert [r[1] for r in stored] == sorted(r[1] for r in stored)  # ids follow batch order
    assert [r[0] for r in stored] == list(range(stored[0][0], stored[0][0] + len(expected)))


async def test_bad_tick_refuses_the_whole_batch(pool) -> None:
    """A NaN price in row 15,001 of a chunked batch: row and field named, nothing written."""
    es, _ = await two_instruments(pool)
    rows = [TickRow(es, T0 + timedelta(milliseconds=i), 100.0) for i in range(20_000)]
    rows[15_001] = TickRow(es, T0, float("nan"))
    with pytest.raises(InvalidInput, match=r"batch of 20000 .* row 15001, field 'price'"):
        await ticks.insert_ticks(pool, rows, chunk=5_000)
    assert count(pool) == 0


@pytest.mark.parametrize(
    ("tick", "field"),
    [
        (TickRow(1, datetime(2026, 1, 1), 1.0), "timestamp"),
        (TickRow(1, T0, float("inf")), "price"),
        (TickRow(1, T0, 1.0, -1), "volume"),
        (TickRow(1, T0, 1.0, None, 2.0, 1.0), "bid"),
        (TickRow(0, T0, 1.0), "instrument_id"),
        (TickRow(1, T0, 1.0, None, None, None, None, None, 1.0, 1.0, 2.0), "low_price"),
    ],
)
async def test_each_kind_of_bad_tick_is_named(pool, tick: TickRow, field: str) -> None:
    """Naive time, infinity, negative volume, crossed quote, bad id, low above high: refused."""
    await two_instruments(pool)
    with pytest.raises(InvalidInput, match=rf"row 1, field '{field}'"):
        await ticks.insert_ticks(pool, [TickRow(1, T0, 1.0), tick])
    assert count(pool) == 0


async def test_dict_batch_errors_name_row_and_field(pool) -> None:
    """The pydantic path names rows and fields the same way."""
    await two_instruments(pool)
    with pytest.raises(InvalidInput, match=r"row 1, field 'volume'"):
        await ticks.insert_ticks(
            pool,
            [
                {"instrument_id": 1, "timestamp": T0, "price": 1.0},
                {"instrument_id": 1, "timestamp": T0, "price": 1.0, "volume": -5},
            ],
        )


async def test_unknown_instrument_is_named(pool) -> None:
    """A tick for an instrument that does not exist refuses the batch, naming the row."""
    es, _ = await two_instruments(pool)
    with pytest.raises(InvalidInput, match=r"row 2, field 'instrument_id': unknown instrument 77"):
        await ticks.insert_ticks(
            pool, [TickRow(es, T0, 1.0), TickRow(es, T0, 2.0), TickRow(77, T0, 3.0)]
        )
    assert count(pool) == 0


async def test_latest_tick_skips_soft_deleted_and_restore_brings_it_back(pool) -> None:
    """Soft-deleting the newest tick makes the previous one latest; restoring undoes it."""
    es, nq = await two_instruments(pool)
    await ticks.insert_ticks(
        pool,
        [TickRow(es, T0 + timedelta(seconds=i), 100.0 + i) for i in range(5)]
        + [TickRow(nq, T0, 7.0)],
    )
    latest = await ticks.latest_tick(pool, es)
    assert latest is not None and latest.price == 104.0
    assert await ticks.soft_delete_tick(pool, latest.id)
    assert not await ticks.soft_delete_tick(pool, latest.id)
    after = await ticks.latest_tick(pool, es)
    assert after is not None and after.price == 103.0
    hidden = await ticks.tick_range(pool, es, T0, T0 + timedelta(minutes=1))
    shown = await ticks.tick_range(pool, es, T0, T0 + timedelta(minutes=1), include_deleted=True)
    assert (len(hidden), len(shown)) == (4, 5)
    assert await ticks.restore_tick(pool, latest.id)
    again = await ticks.latest_tick(pool, es)
    assert again is not None and again.price == 104.0
    assert await ticks.latest_tick(pool, 999) is None


async def test_latest_ticks_for_many_and_all(pool) -> None:
    """latest_ticks returns one newest tick per instrument, for a list or for all."""
    es, nq = await two_instruments(pool)
    await ticks.insert_ticks(
        pool,
        [TickRow(es, T0 + timedelta(seconds=i), 10.0 + i) for i in range(3)]
        + [TickRow(nq, T0 + timedelta(seconds=i), 20.0 + i) for i in range(4)],
    )
    every = await ticks.latest_ticks(pool)
    assert [(t.instrument_id, t.price) for t in every] == [(es, 12.0), (nq, 23.0)]
    only = await ticks.latest_ticks(pool, [nq])
    assert [(t.instrument_id, t.price) for t in only] == [(nq, 23.0)]


async def test_ohlc_bars_match_a_python_reference(pool) -> None:
    """1-minute bars from SQL equal open/high/low/close/volume computed in Python."""
    es, _ = await two_instruments(pool)
    rng = random.Random(7)
    rows = [
        TickRow(
            es, T0 + timedelta(seconds=i * 7), round(100 + rng.uniform(-5, 5), 2), rng.randint(1, 9)
        )
        for i in range(100)
    ]
    await ticks.insert_ticks(pool, rows)
    bars = await ticks.ohlc_bars(pool, es, T0, T0 + timedelta(hours=1), "1m")
    expected: dict[datetime, list[TickRow]] = {}
    for row in rows:
        expected.setdefault(row.timestamp.replace(second=0, microsecond=0), []).append(row)
    assert [b.start for b in bars] == sorted(expected)
    for bar in bars:
        group = expected[bar.start]
        assert bar.open == group[0].price
        assert bar.close == group[-1].price
        assert bar.high == max(r.price for r in group)
        assert bar.low == min(r.price for r in group)
        assert bar.volume == sum(r.volume for r in group)
        assert bar.ticks == len(group)


async def test_a_tick_in_the_last_half_millisecond_of_a_minute_is_in_its_bar(pool) -> None:
    """Bars bucket by the whole seconds of a time: SQLite's strftime('%s') rounds 59.9996 s up,
    which once put such a tick in the next minute's bar (and at 23:59:59.9996, the next day's)."""
    es, _ = await two_instruments(pool)
    late = T0 + timedelta(seconds=59.9996)
    midnight = T0.replace(hour=23, minute=59, second=59, microsecond=999_600)
    await ticks.insert_ticks(pool, [TickRow(es, late, 1.0, 1), TickRow(es, midnight, 2.0, 1)])
    minutes = await ticks.ohlc_bars(pool, es, T0, T0 + timedelta(days=1), "1m")
    assert [(b.start, b.close) for b in minutes] == [
        (T0, 1.0),
        (midnight.replace(second=0, microsecond=0), 2.0),
    ]
    days = await ticks.ohlc_bars(
        pool, es, T0.replace(hour=0, minute=0), T0 + timedelta(days=2), "1d"
    )
    assert [(b.start, b.ticks) for b in days] == [(T0.replace(hour=0, minute=0), 2)]


async def test_price_range_and_purge(pool) -> None:
    """price_range aggregates live ticks; purge removes only old soft-deleted ones."""
    es, _ = await two_instruments(pool)
    await ticks.insert_ticks(
        pool, [TickRow(es, T0 + timedelta(seconds=i), float(i)) for i in range(10)]
    )
    stats = await ticks.price_range(pool, es, T0 + timedelta(seconds=5))
    assert (stats.low, stats.high, stats.average, stats.ticks) == (5.0, 9.0, 7.0, 5)
    first = (await ticks.tick_range(pool, es, T0, T0 + timedelta(seconds=1)))[0]
    await ticks.soft_delete_tick(pool, first.id, at=T0)
    assert await ticks.purge_deleted_ticks(pool, T0 - timedelta(days=1)) == 0
    assert await ticks.purge_deleted_ticks(pool, T0 + timedelta(days=1)) == 1
    assert count(pool) == 9


async def test_windows_must_be_aware_and_ordered(pool) -> None:
    """Naive or reversed windows are refused with a clear message."""
    with pytest.raises(InvalidInput, match="timezone-aware"):
        await ticks.tick_range(pool, 1, datetime(2026, 1, 1), T0)
    with pytest.raises(InvalidInput, match="must be after start"):
        await ticks.tick_range(pool, 1, T0, T0)
    with pytest.raises(InvalidInput, match="interval '2m'"):
        await ticks.ohlc_bars(pool, 1, T0, T0 + timedelta(hours=1), "2m")  # type: ignore[arg-type]


async def test_outward_prices_are_rounded_to_four_decimals(pool) -> None:
    """A stored 1.23456789 is served as 1.2346 in the API's JSON."""
    es, _ = await two_instruments(pool)
    await ticks.insert_ticks(pool, [TickRow(es, T0, 1.23456789)])
    latest = await ticks.latest_tick(pool, es)
    assert latest is not None
    assert latest.model_dump()["price"] == 1.2346


async def test_latest_reads_skip_months_premade_ahead(pool) -> None:
    """With tables made for the coming months, the first group of the latest-tick lookup holds
    the current month, and a row put by hand into a coming month's table is not the latest."""
    es, nq = await two_instruments(pool)
    now = datetime.now(UTC)
    await partitions.premake(pool, now=now)
    await ticks.insert_ticks(pool, [TickRow(es, now - timedelta(seconds=1), 1.0)])
    coming = Period.of_time("market_data", now).shifted(2)  # beyond the horizon on any day
    with sqlite3.connect(pool.settings.database) as conn:
        conn.execute(
            f"INSERT INTO {coming.table} (timestamp, instrument_id, price) VALUES (?, ?, 2.0)",
            (to_db_time(coming.start + timedelta(days=1)), es),
        )
        parts = registry.load_sync(conn, "market_data")
    horizon = Horizon.now(pool.settings.future_tolerance_s).refused_from
    current = Period.of_time("market_data", now).table
    first, _floor = routing.newest_groups(parts, until=horizon)[0]
    assert current in first and coming.table not in first
    assert current not in routing.newest_groups(parts)[0][0]  # unpruned: premade months first
    latest = await ticks.latest_tick(pool, es)
    assert latest is not None and latest.price == 1.0
    assert [t.price for t in await ticks.latest_ticks(pool, [es, nq])] == [1.0]


async def test_a_range_either_side_of_the_in_place_cap_is_whole_and_in_order(pool) -> None:
    """Ranges read in place up to IN_PLACE_TICKS rows a span and on the reader's thread past
    it give the same ticks: every one, oldest first, across a month boundary, with limits on
    either side of the cap and one soft-deleted tick left out."""
    es, nq = await two_instruments(pool)
    cap = ticks.IN_PLACE_TICKS
    boundary = datetime(2026, 4, 1, tzinfo=UTC)
    # cap - 1 ticks in March (one span read in place), cap + 7 in April (past the cap).
    moments = [boundary - timedelta(seconds=s + 1) for s in range(cap - 1)]
    moments += [boundary + timedelta(seconds=s) for s in range(cap + 7)]
    random.Random(5).shuffle(moments)
    await ticks.insert_ticks(pool, [TickRow(es, m, 100.0 + i) for i, m in enumerate(moments)])
    await ticks.insert_ticks(pool, [TickRow(nq, m, 1.0) for m in moments[:50]])
    low, high = boundary - timedelta(days=1), boundary + timedelta(days=1)
    every = await ticks.tick_range(pool, es, low, high)
    assert [t.timestamp for t in every] == sorted(moments)
    gone = every[cap + 3]
    assert await ticks.soft_delete_tick(pool, gone.id)
    left = [t for t in every if t.id != gone.id]
    assert await ticks.tick_range(pool, es, low, high) == left
    for limit in (cap - 1, cap, cap + 1, cap + 2, 2 * cap):
        assert await ticks.tick_range(pool, es, low, high, limit=limit) == left[:limit]
    april = await ticks.tick_range(pool, es, boundary, high)
    assert len(april) == cap + 6 and april == left[cap - 1 :]
