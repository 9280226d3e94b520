"""Period tables: naming, routing, premake, on-demand creation, the default table, pruned reads."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from partition_data import NOW, Clock, count, seed, tables
from rawdb import partitions
from rawdb.archive import archive_period
from rawdb.catalog import registry, routing, templates
from rawdb.config import Settings
from rawdb.errors import PeriodNotWritable, UsageError
from rawdb.migrate import Migrator
from rawdb.partitions import Period, Policy
from rawdb.partitions.status import status
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, instruments, ticks
from rawdb.queries.rows import TickRow


@pytest.fixture(autouse=True)
def fake_clock():
    """Every test here runs at NOW (2026-03-15) with the default policy."""
    clock = Clock()
    with partitions.using(policy=Policy(), clock=clock):
        yield clock


def test_names_come_from_checked_integers_only() -> None:
    """Years, months and quarters outside their ranges are refused; names round-trip."""
    march = Period("market_data", 2026, 3)
    assert (march.table, march.start_text, march.end_text) == (
        "market_data_2026_03",
        "2026-03-01 00:00:00",
        "2026-04-01 00:00:00",
    )
    q4 = Period.parse("alert_logs", "2025-q4")
    assert (q4.table, q4.end_text) == ("alert_logs_2025_q4", "2026-01-01 00:00:00")
    assert Period.from_name("alert_logs_2025_q4") == q4
    assert Period.of_id("market_data", march.id_floor + 5) == march
    for bad in [("market_data", 1969, 1), ("market_data", 2026, 13), ("alert_logs", 2026, 5)]:
        with pytest.raises(UsageError):
            Period(*bad)  # type: ignore[arg-type]
    for text in ["2026-3", "2026-03; DROP TABLE x", "market_data_2026_03"]:
        with pytest.raises(UsageError):
            Period.parse("market_data", text)
    with pytest.raises(UsageError):
        Period.from_name("market_data_2026_03 --")


async def test_routing_across_month_boundaries_and_time_zones(tmp_path: Path) -> None:
    """UTC decides the month: 23:59:59.999999 stays, a New York evening tick moves on."""
    path = tmp_path / "r.sqlite3"
    async with Pool.open(Settings(database=path), migrate=True) as pool:
        es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id
        new_york = timezone(timedelta(hours=-4))
        last = datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)
        written = await ticks.insert_ticks(
            pool,
            [
                TickRow(es, last, 1.0),
                TickRow(es, last + timedelta(microseconds=1), 2.0),
                TickRow(es, datetime(2026, 3, 31, 21, 0, tzinfo=new_york), 3.0),
            ],
        )
        assert written == 3
        got = await ticks.tick_range(pool, es, last, last + timedelta(days=1))
        assert [t.price for t in got] == [1.0, 2.0, 3.0]
    assert tables(path) == ["market_data_2026_03", "market_data_2026_04"]
    assert (count(path, "market_data_2026_03"), count(path, "market_data_2026_04")) == (1, 2)
    assert count(path) == 3


async def test_one_transaction_sees_the_month_table_it_made(tmp_path: Path) -> None:
    """Two batches in one write transaction: the second finds the table the first created
    (read in place on the writer's own connection) and continues its ids; a rollback then
    leaves neither the table nor its rows."""
    path = tmp_path / "t.sqlite3"
    april = datetime(2026, 4, 2, tzinfo=UTC)
    async with Pool.open(Settings(database=path), migrate=True) as pool:
        es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id
        async with pool.write():
            await ticks.insert_ticks(pool, [TickRow(es, april, 1.0), TickRow(es, april, 2.0)])
            await ticks.insert_ticks(pool, [TickRow(es, april + timedelta(seconds=1), 3.0)])
        with pytest.raises(RuntimeError, match="undo"):
            async with pool.write():
                may = datetime(2026, 5, 2, tzinfo=UTC)
                await ticks.insert_ticks(pool, [TickRow(es, may, 4.0)])
                await ticks.insert_ticks(pool, [TickRow(es, may, 5.0)])
                raise RuntimeError("undo")
    assert tables(path) == ["market_data_2026_04"]
    with sqlite3.connect(path) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM market_data_2026_04 ORDER BY id")]
    assert ids == [Period("market_data", 2026, 4).id_floor + n for n in (1, 2, 3)]


async def test_premake_from_the_clock_is_idempotent(tmp_path: Path, fake_clock: Clock) -> None:
    """Current month + 3 and current quarter + 1 are made; running again makes nothing."""
    async with Pool.open(Settings(database=tmp_path / "p.sqlite3"), migrate=True) as pool:
        made = await partitions.premake(pool)
        assert made == [
            "market_data_2026_03",
            "market_data_2026_04",
            "market_data_2026_05",
            "market_data_2026_06",
            "alert_logs_2026_q1",
            "alert_logs_2026_q2",
        ]
        assert await partitions.premake(pool) == []
        fake_clock.now = datetime(2026, 4, 2, tzinfo=UTC)
        assert await partitions.premake(pool) == ["market_data_2026_07", "alert_logs_2026_q3"]


async def test_out_of_window_rows_go_to_the_default_table(tmp_path: Path) -> None:
    """A tick years ahead or before retention lands in the default table; status shows it.
    (Years ahead is refused by default as a bad print: the tolerance is raised to allow it.)"""
    path = tmp_path / "d.sqlite3"
    settings = Settings(database=path, future_tolerance_s=10 * 366 * 86_400.0)
    async with Pool.open(settings, migrate=True) as pool:
        es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id
        far = datetime(2031, 7, 1, tzinfo=UTC)
        old = datetime(2020, 1, 5, tzinfo=UTC)
        await ticks.insert_ticks(pool, [TickRow(es, far, 1.0), TickRow(es, old, 2.0)])
        latest = await ticks.latest_tick(pool, es)
        assert latest is not None and latest.timestamp == far
        ids = [t.id for t in await ticks.tick_range(pool, es, old, far + timedelta(days=1))]
        assert len(set(ids)) == 2
    assert tables(path) == []
    market = status(path)[0]
    assert market.default.rows == 2
    assert market.default.by_month == {"2020-01": 1, "2031-07": 1}
    assert market.default.bytes is not None and market.default.bytes > 0


async def test_ids_are_unique_and_find_their_table(tmp_path: Path) -> None:
    """Ids carry their month: soft delete and restore reach the right table."""
    path = tmp_path / "i.sqlite3"
    await seed(path, per_month=20)
    async with Pool.open(Settings(database=path)) as pool:
        every = await ticks.tick_range(
            pool, 1, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
        )
        assert len({t.id for t in every}) == len(every) == 30
        feb = next(t for t in every if t.timestamp.month == 2)
        assert Period.of_id("market_data", feb.id) == Period("market_data", 2026, 2)
        assert await ticks.soft_delete_tick(pool, feb.id)
        assert await ticks.restore_tick(pool, feb.id)
        assert not await ticks.restore_tick(pool, feb.id)


async def test_archived_periods_refuse_writes(tmp_path: Path) -> None:
    """Ticks or id-based writes for an archived month are refused whole with a clear error."""
    path = tmp_path / "a.sqlite3"
    await seed(path, per_month=10)
    async with Pool.open(Settings(database=path)) as pool:
        jan_tick = (
            await ticks.tick_range(
                pool, 1, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
            )
        )[0]
    archive_period(path, Period("market_data", 2026, 1))
    async with Pool.open(Settings(database=path)) as pool:
        with pytest.raises(PeriodNotWritable, match=r"2026-01 .*archived.*restore"):
            await ticks.insert_ticks(
                pool,
                [TickRow(1, NOW, 1.0), TickRow(1, datetime(2026, 1, 20, tzinfo=UTC), 1.0)],
            )
        with pytest.raises(PeriodNotWritable, match="archived"):
            await ticks.soft_delete_tick(pool, jan_tick.id)
    assert count(path) == 20


async def test_reads_touch_only_overlapping_tables(tmp_path: Path) -> None:
    """A February range renders and plans over the default and February tables only."""
    path = tmp_path / "q.sqlite3"
    await seed(path, per_month=20)
    conn = sqlite3.connect(path)
    parts = registry.load_sync(conn, "market_data")
    (span,) = routing.spans(parts, "2026-02-03 00:00:00", "2026-02-04 00:00:00")
    assert span.tables == ("market_data_default", "market_data_2026_02")
    sql = templates.render(STATEMENTS["tick_range"].sql, "market_data", span.tables)
    assert sql.startswith("/* rawdb:tick_range */")
    assert sql is templates.render(STATEMENTS["tick_range"].sql, "market_data", span.tables)
    params = {"instrument_id": 1, "start": span.start, "end": span.end, "include_deleted": 0}
    plan = " ".join(
        r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", {**params, "limit": 5})
    )
    assert "market_data_2026_02" in plan
    assert "2026_01" not in plan and "2026_03" not in plan
    assert "SCAN market_data_2026_02" not in plan  # each table is searched by its index
    conn.close()


async def test_a_window_over_all_instruments_seeks_once_months_have_statistics(
    tmp_path: Path,
) -> None:
    """Month tables keep no (timestamp, instrument_id) index (a second B-tree insert per row).
    The daily task gives months holding rows sampled statistics; then ad-hoc SQL over
    the view for a time window of every instrument skip-scans each month's (instrument_id,
    timestamp) index and finds what a full scan finds."""
    path = tmp_path / "w.sqlite3"
    await seed(path)
    months = ["market_data_2026_01", "market_data_2026_02", "market_data_2026_03"]
    async with Pool.open(Settings(database=path)) as pool:
        daily = partitions.run_daily(pool, every=3600)
        try:
            async with asyncio.timeout(30):
                while not set(months) <= measured(path):  # (other tables may come first)
                    await asyncio.sleep(0.05)
        finally:
            daily.cancel()
        # Months still filling (March, the clock's, and February) are measured again each run.
        assert await partitions.analyze_recent(pool) == months[1:]
    found = measured(path)  # (the pool's PRAGMA optimize at close may add its own tables)
    assert set(months) <= found
    assert not {"market_data_default", "alert_logs_2026_q1"} & found  # empty tables wait
    window = ("2026-03-15 12:01:00", "2026-03-15 12:02:00")
    with sqlite3.connect(path) as conn:
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(market_data_2026_03)")}
        assert indexes == {
            "ix_market_data_2026_03_instrument_timestamp",
            "ix_market_data_2026_03_deleted_at",
        }
        sql = "SELECT id FROM market_data WHERE timestamp >= ? AND timestamp < ? ORDER BY id"
        plan = [r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", window)]
        # (the months the daily task made ahead are empty: scanning them reads nothing)
        searched = [step for step in plan if any(m in step for m in months)]
        assert len(searched) == 3 and all("ANY(instrument_id)" in s for s in searched), plan
        found = conn.execute(sql, window).fetchall()
        scanned = conn.execute(
            "SELECT id FROM market_data_2026_03 NOT INDEXED "
            "WHERE timestamp >= ? AND timestamp < ? ORDER BY id",
            window,
        ).fetchall()
    assert found == scanned and len(found) == 60


def measured(path: Path) -> set[str]:
    """Tables with rows in sqlite_stat1."""
    with sqlite3.connect(path) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
            return set()
        return {r[0] for r in conn.execute("SELECT tbl FROM sqlite_stat1")}


async def test_view_follows_every_add_and_drop(tmp_path: Path) -> None:
    """The market_data view lists the default and each present month, rebuilt on each change."""
    path = tmp_path / "v.sqlite3"
    await seed(path, per_month=5)

    def view() -> str:
        with sqlite3.connect(path) as conn:
            return conn.execute(
                "SELECT sql FROM sqlite_schema WHERE name = 'market_data'"
            ).fetchone()[0]

    assert all(t in view() for t in ["market_data_default", "market_data_2026_01"])
    archive_period(path, Period("market_data", 2026, 1))
    assert "market_data_2026_01" not in view()
    assert count(path) == 10


def test_views_over_more_tables_than_a_compound_takes(tmp_path: Path) -> None:
    """Over 1,200 tables the view nests compounds of at most 500 terms and still reads."""
    conn = sqlite3.connect(tmp_path / "many.sqlite3")
    cols = ", ".join(templates.COLUMNS["market_data"])
    names = tuple(
        ["market_data_default"] + [Period.from_number("market_data", n).table for n in range(1200)]
    )
    for name in names:
        conn.execute(f"CREATE TABLE {name} ({cols})")
    conn.execute(f"INSERT INTO {names[-1]} (id) VALUES (7)")
    conn.execute(templates.view_sql("market_data", names))
    assert conn.execute("SELECT id FROM market_data").fetchall() == [(7,)]
    conn.close()


async def test_adopted_rows_move_out_of_the_default_table(tmp_path: Path, legacy_db: Path) -> None:
    """An adopted database's ticks move in batches into months, ids and values kept."""
    settings = Settings(database=legacy_db)
    async with Pool.open(settings, migrate=True) as pool:
        with sqlite3.connect(legacy_db) as conn:
            before = conn.execute("SELECT * FROM market_data ORDER BY id").fetchall()
        seen: list[tuple[int, int]] = []
        report = await partitions.move_default(
            pool, "market_data", batch=7_000, progress=lambda d, t: seen.append((d, t))
        )
        assert report.total == len(before) and report.skipped == {}
        assert seen[-1] == (len(before), len(before))
        again = await partitions.move_default(pool, "market_data")
        assert again.total == 0
        es = before[-1][2]
        await ticks.insert_ticks(pool, [TickRow(es, NOW, 1.0)])
    with sqlite3.connect(legacy_db) as conn:
        after = conn.execute("SELECT * FROM market_data ORDER BY id").fetchall()
        assert conn.execute("SELECT count(*) FROM market_data_default").fetchone() == (0,)
    assert after[:-1] == before
    assert after[-1][0] == Period("market_data", 2026, 3).id_floor + 1
    assert len(tables(legacy_db)) >= 4


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb.partitions", "--database", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_status_maintain_move_and_merge_for_rollback(tmp_path: Path) -> None:
    """The operator commands: status, maintain, move (dry run first), merge, then rollback."""
    path = tmp_path / "c.sqlite3"
    async with Pool.open(Settings(database=path), migrate=True) as pool:
        es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id
        await ticks.insert_ticks(pool, [TickRow(es, datetime(2019, 5, 1, tzinfo=UTC), 1.0)])
    with sqlite3.connect(path) as conn:  # the pool's PRAGMA optimize at close may have measured it
        conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'market_data_default'")
    shown = run_cli(path, "--now", NOW.isoformat(), "maintain", "--json")
    assert shown.returncode == 0, shown.stderr
    # It holds a row and no statistics: maintain measures it.
    assert json.loads(shown.stdout)["analyzed"] == ["market_data_default"]
    assert "market_data_2026_06" in shown.stdout
    listed = run_cli(path, "status")
    assert "default holds 1 row(s) of 2019-05" in listed.stdout
    assert "market_data_2026_03" in listed.stdout
    dry = run_cli(path, "move", "--family", "market_data", "--dry-run")
    assert dry.returncode == 0 and count(path, "market_data_default") == 1
    assert "would move 1 row(s)" in dry.stdout and "moved" not in dry.stdout
    moved = run_cli(path, "move", "--family", "market_data")
    assert moved.returncode == 0, moved.stderr
    assert "market_data: moved 1 row(s)" in moved.stdout
    assert count(path, "market_data_2019_05") == 1 and count(path) == 1
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "rawdb.migrate",
            "--db",
            str(path),
            "--no-backup",
            "down",
            "--to",
            "8",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "rollback_refused_partitions_exist" in refused.stdout + refused.stderr
    # The migrations above 0009 were rolled back before 0009 refused; the commands need them.
    Migrator(path, backup=False).up()
    merged = run_cli(path, "merge")
    assert merged.returncode == 0, merged.stderr
    assert tables(path) == [] and count(path) == 1
    with sqlite3.connect(path) as conn:
        Migrator(path, backup=False).down(to=8)  # past 0009, the partitioned layout
        assert conn.execute(
            "SELECT type FROM sqlite_schema WHERE name = 'market_data'"
        ).fetchone() == ("table",)
        assert conn.execute("SELECT count(*) FROM market_data").fetchone() == (1,)
