"""The partition lifecycle on a real PostgreSQL server: premake, and retention by archive
(DETACH … CONCURRENTLY, a verified archive file, then the drop) while ticks keep coming."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.errors import DatabaseRefused, PeriodNotWritable
from rawdb.partitions import Period, Policy, premake, using
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

psycopg = pytest.importorskip("psycopg")

from rawdb.partitions.postgresql import (  # noqa: E402
    apply_retention,
    archive_period,
    restore_period,
)

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
"""The premake test's clock (premake makes tables ahead of any clock)."""


@pytest.fixture
async def pg_pool(pg_url: str) -> AsyncIterator[Pool]:
    async with Pool.open(Settings(database_url=pg_url), migrate=True) as pool:
        yield pool


def _partitions(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, state FROM rawdb_partitions").fetchall()
        attached = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            )
        }
    return {name: state + ("" if name in attached else " (not attached)") for name, state in rows}


async def test_premake_attaches_the_months_and_quarters_ahead_once(
    pg_pool: Pool, pg_url: str
) -> None:
    with using(clock=lambda: NOW):
        made = await premake(pg_pool)
        assert await premake(pg_pool) == []
    assert made == [
        "market_data_2026_12", "market_data_2027_01", "market_data_2027_02", "market_data_2027_03",
        "alert_logs_2026_q4", "alert_logs_2027_q1",
    ]  # fmt: skip
    assert set(_partitions(pg_url).values()) == {"active"}


def _month(back: int) -> Period:
    """The month ``back`` months before the current one (wall clock)."""
    return Period.of_time("market_data", datetime.now(UTC)).shifted(-back)


def _start(period: Period) -> datetime:
    return datetime.fromisoformat(period.start_text).replace(tzinfo=UTC)


async def test_retention_archives_old_months_into_verified_files_while_ticks_arrive(
    pg_pool: Pool, pg_url: str, tmp_path: Path
) -> None:
    es = (await instruments.add_instrument(pg_pool, {"symbol": "ES", "name": "ES"})).id
    old, older, kept = _month(2), _month(3), _month(1)
    rows = [TickRow(es, _start(p) + timedelta(seconds=i), 100.0 + i % 9, i)
            for p in (older, old, kept) for i in range(1500)]  # fmt: skip
    await ticks.insert_ticks(pg_pool, rows)
    policy = Policy(market_months_kept=2, archive_dir=tmp_path / "archive")
    with using(policy=policy):
        feeding = True
        fed = 0

        async def feed() -> None:
            nonlocal fed
            while feeding:
                moment = datetime.now(UTC) - timedelta(seconds=1)
                await ticks.insert_ticks(pg_pool, [TickRow(es, moment, 1.0)] * 50)
                fed += 1
                await asyncio.sleep(0.01)

        feeder = asyncio.create_task(feed())
        try:
            done = await apply_retention(pg_pool)
        finally:
            feeding = False
            await feeder
        assert [(a.table, a.action, a.rows) for a in done] == [
            (older.table, "archived", 1500),
            (old.table, "archived", 1500),
        ]
        assert fed > 0  # the feed went on while the months left
        again = await archive_period(pg_pool, older, folder=tmp_path / "archive")
        assert again.action == "already archived"
        with pytest.raises(PeriodNotWritable, match="archived"):
            await ticks.insert_ticks(pg_pool, [TickRow(es, _start(old), 1.0)])
    states = _partitions(pg_url)
    assert states[older.table] == states[old.table] == "archived (not attached)"
    assert states[kept.table] == "active"
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (old.table,)).fetchone()[0] is None
        left = conn.execute(
            "SELECT count(*) FROM market_data WHERE timestamp < %s", (_start(kept),)
        ).fetchone()[0]
        audit = conn.execute(
            "SELECT table_name, row_count FROM rawdb_partition_audit WHERE action = 'archive'"
            " ORDER BY 1"
        ).fetchall()
    assert left == 0
    assert audit == sorted([(older.table, 1500), (old.table, 1500)])
    # The archive file is SQLite's own archive format: the month table with rawdb's UTC text.
    with sqlite3.connect(done[0].archive_file) as lite:
        count, first, last = lite.execute(
            f"SELECT count(*), min(timestamp), max(timestamp) FROM {older.table}"
        ).fetchone()
    assert count == 1500
    assert first == _start(older).strftime("%Y-%m-%d %H:%M:%S.000000")
    assert last == (_start(older) + timedelta(seconds=1499)).strftime("%Y-%m-%d %H:%M:%S.000000")
    latest = await ticks.latest_tick(pg_pool, es)
    assert latest is not None and latest.price == 1.0


async def test_an_interrupted_detach_is_finished_by_the_next_archive(
    pg_pool: Pool, pg_url: str, tmp_path: Path
) -> None:
    es = (await instruments.add_instrument(pg_pool, {"symbol": "ES", "name": "ES"})).id
    old = _month(3)
    await ticks.insert_ticks(pg_pool, [TickRow(es, _start(old) + timedelta(seconds=i), 2.0)
                                       for i in range(10)])  # fmt: skip
    # An archive stopped after marking and detaching, before the copy.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE rawdb_partitions SET state = 'archiving' WHERE name = %s", (old.table,)
        )
        conn.execute(f"ALTER TABLE market_data DETACH PARTITION {old.table} CONCURRENTLY")
    done = await archive_period(pg_pool, old, folder=tmp_path)
    assert (done.action, done.rows) == ("archived", 10)
    assert _partitions(pg_url)[old.table] == "archived (not attached)"


async def test_a_restore_from_a_file_that_differs_from_the_archive_changes_nothing(
    pg_pool: Pool, pg_url: str, tmp_path: Path
) -> None:
    """A row gone from the archive file: restore refuses, naming the counts, and the month
    stays archived with no table; the file put right, it restores every tick."""
    es = (await instruments.add_instrument(pg_pool, {"symbol": "ES", "name": "ES"})).id
    old = _month(3)
    await ticks.insert_ticks(pg_pool, [TickRow(es, _start(old) + timedelta(seconds=i), 3.0, i)
                                       for i in range(40)])  # fmt: skip
    done = await archive_period(pg_pool, old, folder=tmp_path / "archive")
    with sqlite3.connect(done.archive_file) as lite:
        kept = lite.execute(f"SELECT * FROM {old.table} ORDER BY id LIMIT 1").fetchone()
        lite.execute(f"DELETE FROM {old.table} WHERE id = ?", (kept[0],))
    with pytest.raises(DatabaseRefused, match=r"holds 39 rows .* but 40 rows"):
        await restore_period(pg_pool, old)
    assert _partitions(pg_url)[old.table] == "archived (not attached)"
    with sqlite3.connect(done.archive_file) as lite:
        marks = ",".join("?" * len(kept))
        lite.execute(f"INSERT INTO {old.table} VALUES ({marks})", kept)
    back = await restore_period(pg_pool, old)
    assert (back.action, back.rows, back.checksum) == ("restored", 40, done.checksum)
    assert _partitions(pg_url)[old.table] == "active"
    end = _start(old.shifted(1))
    assert len(await ticks.tick_range(pg_pool, es, _start(old), end)) == 40
