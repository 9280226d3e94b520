"""The data API behaves the same on SQLite and on PostgreSQL: every test here runs on both.

Each test gets a fresh, migrated database of its engine (a file on disk, or a new database on
a real PostgreSQL server) and calls only the public functions an application calls.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.errors import (
    CannotOpen,
    ForeignKeyViolation,
    InvalidInput,
    PoolClosed,
    QueryTimeout,
    SchemaOutOfDate,
    UniqueViolation,
    UsageError,
)
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.queries import alerts, instruments, load, run, ticks
from rawdb.queries.rows import TickRow

NOW = datetime.now(UTC).replace(microsecond=0)
APP_SQL = Path(__file__).parent / "app_sql"
"""An application's own statements: SQLite's, and PostgreSQL's in its ``postgresql/``."""


async def _instrument(pool: Pool, symbol: str = "ES") -> int:
    return (await instruments.add_instrument(pool, {"symbol": symbol, "name": symbol})).id


async def test_instruments_are_registered_found_and_unique(any_pool: Pool) -> None:
    es = await instruments.add_instrument(any_pool, {"symbol": "ES", "name": "E-mini S&P"})
    assert es.created_at.tzinfo is not None
    assert await instruments.get_instrument(any_pool, es.id) == es
    assert await instruments.get_instrument_by_symbol(any_pool, "ES") == es
    assert await instruments.get_instrument(any_pool, es.id + 1000) is None
    await _instrument(any_pool, "AA")
    assert [i.symbol for i in await instruments.list_instruments(any_pool)] == ["AA", "ES"]
    with pytest.raises(UniqueViolation):
        await instruments.add_instrument(any_pool, {"symbol": "ES", "name": "again"})
    with pytest.raises(InvalidInput, match="type"):
        await instruments.add_instrument(any_pool, {"symbol": "X", "name": "x", "type": "stock"})


async def test_a_batch_is_written_whole_or_not_at_all(any_pool: Pool) -> None:
    es = await _instrument(any_pool)
    good = [TickRow(es, NOW - timedelta(seconds=i), 100.0 + i) for i in range(50)]
    with pytest.raises(InvalidInput, match="row 50, field 'instrument_id': unknown instrument"):
        await ticks.insert_ticks(any_pool, [*good, TickRow(es + 99, NOW, 1.0)])
    with pytest.raises(InvalidInput, match="row 3"):
        await ticks.insert_ticks(any_pool, [*good[:3], TickRow(es, NOW + timedelta(days=2), 1.0)])
    assert await ticks.latest_tick(any_pool, es) is None
    assert await ticks.insert_ticks(any_pool, good) == 50
    latest = await ticks.latest_tick(any_pool, es)
    assert latest is not None and latest.timestamp == NOW and latest.price == 100.0


async def test_latest_ticks_range_and_bars_agree_with_the_ticks_written(any_pool: Pool) -> None:
    ids = [await _instrument(any_pool, s) for s in ("ES", "NQ", "CL")]
    rng = random.Random(7)
    start = NOW - timedelta(hours=3)
    rows = [
        TickRow(rng.choice(ids), start + timedelta(milliseconds=rng.randrange(3 * 3_600_000)),
                round(rng.uniform(90, 110), 2), rng.randrange(1, 10))
        for _ in range(3000)
    ]  # fmt: skip
    assert await ticks.insert_ticks(any_pool, rows, chunk=700) == 3000
    newest = {i: max((r for r in rows if r.instrument_id == i), key=lambda r: r.timestamp)
              for i in ids}  # fmt: skip
    latest = await ticks.latest_ticks(any_pool)
    assert {t.instrument_id: (t.timestamp, t.price) for t in latest} == {
        i: (r.timestamp, r.price) for i, r in newest.items()
    }
    assert [t.instrument_id for t in await ticks.latest_ticks(any_pool, [ids[1]])] == [ids[1]]

    es = ids[0]
    low, high = start + timedelta(minutes=30), start + timedelta(minutes=90)
    wanted = sorted(
        (r for r in rows if r.instrument_id == es and low <= r.timestamp < high),
        key=lambda r: r.timestamp,
    )
    got = await ticks.tick_range(any_pool, es, low, high)
    assert [(t.timestamp, t.price) for t in got] == [(r.timestamp, r.price) for r in wanted]
    assert len(await ticks.tick_range(any_pool, es, low, high, limit=5)) == 5

    def bucket(moment: datetime) -> datetime:
        return moment.replace(minute=moment.minute // 5 * 5, second=0, microsecond=0)

    # Bars overlapping [low, high), each whole: from 90 s into a 5-minute bucket, the first bar
    # holds ticks from before the range's start too (one is put there), and the last ticks
    # from its end on.
    low = bucket(low) + timedelta(seconds=90)
    early = TickRow(es, bucket(low) + timedelta(seconds=1), 99.5, 3)
    rows.append(early)
    await ticks.insert_ticks(any_pool, [early])
    bars = await ticks.ohlc_bars(any_pool, es, low, high, "5m")
    expected: dict[datetime, list[TickRow]] = {}
    for r in sorted((r for r in rows if r.instrument_id == es), key=lambda r: r.timestamp):
        if bucket(low) <= bucket(r.timestamp) < high:
            expected.setdefault(bucket(r.timestamp), []).append(r)
    assert [b.start for b in bars] == sorted(expected)
    assert expected[bars[0].start][0].timestamp < low
    for bar in bars:
        group = expected[bar.start]
        assert (bar.open, bar.close) == (group[0].price, group[-1].price)
        assert (bar.high, bar.low) == (max(r.price for r in group), min(r.price for r in group))
        assert bar.volume == sum(r.volume for r in group) and bar.ticks == len(group)
    series = await ticks.ohlc_series(any_pool, es, low, high, "5m")
    assert series.bars() == bars and len(series) == len(bars)
    assert series.interval == "5m" and all(isinstance(p, float) for p in series.open)
    with pytest.raises(InvalidInput, match="interval"):
        await ticks.ohlc_bars(any_pool, es, low, high, "2m")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="interval"):
        await ticks.ohlc_series(any_pool, es, low, high, "2m")  # type: ignore[arg-type]
    assert (
        len(
            await ticks.ohlc_series(
                any_pool, es, low - timedelta(days=400), low - timedelta(days=399)
            )
        )
        == 0
    )
    with pytest.raises(InvalidInput, match="must be after start"):
        await ticks.tick_range(any_pool, es, high, low)


async def test_a_batch_over_several_months_lands_in_each_month(any_pool: Pool) -> None:
    es = await _instrument(any_pool)
    this_month = NOW.replace(day=1, hour=12, minute=0, second=0)
    moments = [this_month - timedelta(days=40), this_month - timedelta(days=10), this_month]
    await ticks.insert_ticks(any_pool, [TickRow(es, m, float(i)) for i, m in enumerate(moments)])
    for i, moment in enumerate(moments):
        got = await ticks.tick_range(any_pool, es, moment, moment + timedelta(seconds=1))
        assert [t.price for t in got] == [float(i)]


async def test_the_streaming_writer_commits_every_tick_put(any_pool: Pool) -> None:
    es = await _instrument(any_pool)
    start = NOW - timedelta(minutes=10)
    config = StreamConfig(batch_size=500, max_delay=0.05)
    async with TickStream(any_pool, config) as stream:
        for i in range(2_000):
            await stream.put(TickRow(es, start + timedelta(milliseconds=100 * i), 50.0 + i % 3))
        await stream.flush()
        assert stream.rejected == []
    got = await ticks.tick_range(any_pool, es, start, NOW)
    assert len(got) == 2_000
    assert got[-1].timestamp == start + timedelta(milliseconds=100 * 1_999)


async def test_a_failed_write_block_leaves_nothing_and_a_savepoint_only_its_part(
    any_pool: Pool,
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with any_pool.write():
            await instruments.add_instrument(any_pool, {"symbol": "GONE", "name": "x"})
            raise Boom
    assert await instruments.get_instrument_by_symbol(any_pool, "GONE") is None
    async with any_pool.write():
        await instruments.add_instrument(any_pool, {"symbol": "KEPT", "name": "x"})
        with pytest.raises(UniqueViolation):
            async with any_pool.write():  # nested: a savepoint
                await instruments.add_instrument(any_pool, {"symbol": "KEPT", "name": "again"})
        # the typed reads inside the block see its own rows (read your writes)
        assert await instruments.get_instrument_by_symbol(any_pool, "KEPT") is not None
    assert [i.symbol for i in await instruments.list_instruments(any_pool)] == ["KEPT"]


async def test_a_closed_pool_refuses_work(any_pool: Pool) -> None:
    await any_pool.close()
    assert any_pool.closed
    with pytest.raises(PoolClosed):
        async with any_pool.read():
            pass
    with pytest.raises(PoolClosed):
        async with any_pool.write():
            pass


async def test_a_database_behind_its_migrations_is_refused_until_migrated(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from rawdb.migrate import Migrator  # noqa: PLC0415
    from rawdb.migrate.postgresql import PostgresMigrator  # noqa: PLC0415

    lite, url = tmp_path / "old.sqlite3", request.getfixturevalue("pg_url")
    Migrator(lite, settings=Settings(database=lite), backup=False).up(to=8)
    PostgresMigrator(url).up(to=8)
    for settings in (Settings(database=lite), Settings(database_url=url)):
        with pytest.raises(SchemaOutOfDate, match="migrate"):
            await Pool.open(settings)
        async with Pool.open(settings, migrate=True) as pool:
            assert await instruments.list_instruments(pool) == []


async def test_an_unreachable_server_is_named_without_its_password() -> None:
    settings = Settings(database_url="postgresql://app:s3cret@/db?host=/nonexistent")
    with pytest.raises(CannotOpen, match="cannot connect to PostgreSQL") as caught:
        await Pool.open(settings)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


async def test_soft_delete_hides_a_tick_restore_brings_it_back_purge_removes_it(
    any_pool: Pool,
) -> None:
    es = await _instrument(any_pool)
    rows = [TickRow(es, NOW - timedelta(seconds=10 - i), 100.0 + i) for i in range(10)]
    await ticks.insert_ticks(any_pool, rows)
    newest = await ticks.latest_tick(any_pool, es)
    assert newest is not None and newest.price == 109.0
    assert await ticks.soft_delete_tick(any_pool, newest.id)
    assert not await ticks.soft_delete_tick(any_pool, newest.id)  # once
    after = await ticks.latest_tick(any_pool, es)
    assert after is not None and after.price == 108.0
    span = await ticks.price_range(any_pool, es, NOW - timedelta(minutes=1))
    assert (span.low, span.high, span.ticks) == (100.0, 108.0, 9)
    assert span.average == pytest.approx(sum(100.0 + i for i in range(9)) / 9)
    assert await ticks.restore_tick(any_pool, newest.id)
    assert not await ticks.restore_tick(any_pool, newest.id)
    assert (await ticks.latest_tick(any_pool, es)) == newest
    await ticks.soft_delete_tick(any_pool, newest.id, at=NOW - timedelta(days=2))
    assert await ticks.purge_deleted_ticks(any_pool, NOW - timedelta(days=1)) == 1
    window = await ticks.tick_range(
        any_pool, es, NOW - timedelta(minutes=1), NOW + timedelta(seconds=1), include_deleted=True
    )
    assert len(window) == 9


async def test_alert_rules_and_logs_are_written_found_and_updated(any_pool: Pool) -> None:
    es = await _instrument(any_pool)
    rule = await alerts.add_alert_rule(
        any_pool,
        {"instrument_id": es, "condition": "above", "threshold": 101.5, "cooldown_seconds": 60},
    )
    assert rule.active and rule.threshold == 101.5
    assert await alerts.get_alert_rule(any_pool, rule.id) == rule
    assert [r.id for r in await alerts.active_alert_rules(any_pool)] == [rule.id]
    assert await alerts.active_alert_rules(any_pool, es + 1) == []
    assert await alerts.mark_rule_triggered(any_pool, rule.id, NOW)
    fired = await alerts.get_alert_rule(any_pool, rule.id)
    assert fired is not None and fired.last_triggered == NOW
    logs = [
        {"timestamp": NOW - timedelta(days=d), "rule_id": rule.id, "instrument_id": es,
         "trigger_value": 102.0 + d, "threshold_value": 101.5, "fired_status": "fired",
         "delivery_status": "pending", "rule_condition": "above"}
        for d in (0, 1, 100)  # two quarters
    ]  # fmt: skip
    assert await alerts.write_alert_logs(any_pool, logs) == 3
    by_rule = await alerts.alert_logs_by_rule(any_pool, rule.id)
    assert [log.trigger_value for log in by_rule] == [102.0, 103.0, 202.0]  # newest first
    recent = await alerts.alert_logs_by_instrument(any_pool, es, NOW - timedelta(days=2))
    assert len(recent) == 2
    pending = await alerts.alert_logs_by_status(any_pool, "fired", "pending")
    assert [log.trigger_value for log in pending] == [202.0, 103.0, 102.0]  # oldest first
    assert await alerts.set_delivery_status(
        any_pool, pending[0].id, "delivered", attempted_at=NOW, completed_at=NOW
    )
    assert len(await alerts.alert_logs_by_status(any_pool, "fired", "pending")) == 2
    with pytest.raises(ForeignKeyViolation, match="still has alert logs"):
        await alerts.delete_alert_rule(any_pool, rule.id)
    with pytest.raises(ForeignKeyViolation):
        await alerts.add_alert_rule(
            any_pool,
            {"instrument_id": es + 50, "condition": "below", "threshold": 1, "cooldown_seconds": 0},
        )


async def test_a_read_past_its_deadline_is_stopped_and_the_next_reads_run_unhurried(
    any_pool: Pool,
) -> None:
    """timeout= on one call stops that read within twice its deadline, naming the statement;
    the reader goes back with the pool's own deadline (none), so a longer read after it runs
    to its end on every reader. A statement written for the other engine is refused."""
    dialect = any_pool.dialect
    app = load(APP_SQL if dialect == "sqlite" else APP_SQL / "postgresql", dialect=dialect)
    await _instrument(any_pool)
    slow = app["slow_pair_count"]
    started = time.perf_counter()
    with pytest.raises(QueryTimeout) as caught:
        await run.query_one(any_pool, slow, {"rounds": 10**10}, timeout=0.05)
    assert time.perf_counter() - started < 0.1
    assert (caught.value.statement, caught.value.timeout) == ("slow_pair_count", 0.05)
    assert "ran past its 0.050 s deadline" in str(caught.value)
    for _ in range(any_pool.settings.readers + 1):
        row = await run.query_one(any_pool, slow, {"rounds": 300_000})
        assert row is not None and row["pairs"] == 300_000
    other = "postgresql" if dialect == "sqlite" else "sqlite"
    foreign = load(APP_SQL if other == "sqlite" else APP_SQL / "postgresql", dialect=other)
    with pytest.raises(UsageError, match=f"written for {other} and this pool is on {dialect}"):
        await run.query(any_pool, foreign["instrument_symbols"])
    assert [r["symbol"] for r in await run.query(any_pool, app["instrument_symbols"])] == ["ES"]
