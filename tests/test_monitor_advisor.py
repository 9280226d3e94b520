"""The query advisor and statistics upkeep on real, migrated and seeded database files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from monitor_data import migrated, seed
from rawdb.config import Settings
from rawdb.monitor import advise
from rawdb.monitor.advisor import indexes_in
from rawdb.monitor.schema_copy import PlannerCopy, snapshot
from rawdb.monitor.suggest import candidate_columns, table_aliases
from rawdb.monitor.upkeep import Upkeep, advise_pool, optimize, refresh_statistics
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, Statement

BAD = Statement(
    "ticks_by_volume",
    "A deliberately bad statement: filters and sorts on columns no index covers.",
    "/* rawdb:ticks_by_volume */ SELECT id FROM market_data_default WHERE volume = ? "
    "ORDER BY price",
    "test_monitor_advisor.py:1",
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with 20k ticks and 12k alert logs, analyzed (built once)."""
    path = migrated(tmp_path_factory.mktemp("advisor") / "seeded.sqlite3")
    seed(path)
    return path


def read_snapshot(path: Path):  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return snapshot(conn)
    finally:
        conn.close()


# Statements whose scans are intended, with the reason (none today: every statement seeks).
INTENDED_SCANS: dict[str, str] = {}


def test_no_shipped_statement_scans_a_big_table(seeded: Path) -> None:
    """Every named statement seeks big tables on an analyzed database (fails on a new scan)."""
    report = advise(read_snapshot(seeded), STATEMENTS, allow=INTENDED_SCANS)
    assert report.analyzed
    assert set(report.plans) == set(STATEMENTS)
    assert report.errors() == [], "\n".join(map(str, report.errors()))


def test_the_copy_plans_exactly_like_the_real_file(seeded: Path) -> None:
    """Plans on the in-memory schema copy equal EXPLAIN QUERY PLAN on the file itself."""
    snap = read_snapshot(seeded)
    copy = PlannerCopy(snap)
    real = sqlite3.connect(f"file:{seeded}?mode=ro", uri=True)
    try:
        for name, stmt in STATEMENTS.items():
            assert copy.plan(stmt.sql) == PlannerCopy.plan_on(real, stmt.sql), name
    finally:
        real.close()
        copy.close()


def test_a_deliberately_bad_statement_is_flagged_with_a_verified_fix(seeded: Path) -> None:
    """A full scan of market_data is an error naming the statement; the fix is verified."""
    report = advise(read_snapshot(seeded), [*STATEMENTS.values(), BAD])
    errors = report.errors()
    assert [(f.statement, f.kind, f.table) for f in errors] == [
        ("ticks_by_volume", "full_scan", "market_data_default")
    ]
    assert errors[0].rows == 20_000
    assert "test_monitor_advisor.py:1" in str(errors[0])
    assert any(f.statement == "ticks_by_volume" and f.kind == "temp_btree" for f in report.findings)
    suggestion = next(s for s in report.suggestions if s.table == "market_data_default")
    assert suggestion.columns == ("volume", "price")
    assert suggestion.verified
    assert suggestion.ddl == (
        "CREATE INDEX ix_market_data_default_volume_price ON market_data_default (volume, price);"
    )


def test_allowed_scans_are_kept_as_info(seeded: Path) -> None:
    """A statement listed as an intended scan is reported as info with the reason."""
    report = advise(read_snapshot(seeded), [BAD], allow={"ticks_by_volume": "export job"})
    assert report.errors() == []
    assert any("intended: export job" in f.detail for f in report.findings)


def test_small_tables_are_not_errors(seeded: Path) -> None:
    """Scanning a table below ``big_rows`` is info only (listing 20 instruments is fine)."""
    report = advise(read_snapshot(seeded), STATEMENTS)
    scans = [f for f in report.findings if f.table == "instruments"]
    assert scans
    assert all(f.severity == "info" for f in scans)


def test_unused_indexes_say_what_they_may_still_serve(seeded: Path) -> None:
    """Unused indexes are listed; foreign-key and unique ones say why to keep them."""
    snap = read_snapshot(seeded)
    report = advise(snap, STATEMENTS)
    notes = {u.name: u.note for u in report.unused_indexes}
    assert "no named statement uses it" in notes["ix_alert_rules_type"]
    assert "foreign key (instrument_id)" in notes["ix_alert_rules_instrument"]
    used = indexes_in(line for plan in report.plans.values() for line in plan)
    assert used
    assert not used & notes.keys()
    unplanned = {u.name: u.note for u in advise(snap, []).unused_indexes}
    assert "uniqueness" in unplanned["ux_portfolio_positions_user_symbol"]


def test_unanalyzed_database_is_noted(tmp_path: Path) -> None:
    """Without sqlite_stat1 the report says plans rest on guesses and what to run."""
    path = migrated(tmp_path / "bare.sqlite3")
    report = advise(read_snapshot(path), STATEMENTS)
    assert not report.analyzed
    assert "ANALYZE" in report.notes[0]


def test_aliases_and_candidate_columns() -> None:
    """Aliases resolve to tables; equality columns come first, then the sort column."""
    sql = (
        "SELECT m.id FROM instruments AS i JOIN market_data m ON m.instrument_id = i.id "
        "WHERE m.instrument_id = ? AND m.timestamp >= ? AND m.deleted_at IS NULL "
        "ORDER BY m.timestamp DESC"
    )
    aliases = table_aliases(sql, ["instruments", "market_data"])
    assert aliases["i"] == "instruments" and aliases["m"] == "market_data"
    columns = ["id", "instrument_id", "timestamp", "deleted_at", "price"]
    assert candidate_columns(sql, "market_data", columns) == ("instrument_id", "timestamp")


async def test_advise_pool_reads_through_the_pool(tmp_path: Path) -> None:
    """The advisor runs over a live pool and flags the bad statement there too."""
    path = migrated(tmp_path / "live.sqlite3")
    seed(path, ticks=12_000, logs=100)
    async with Pool.open(Settings(database=path)) as pool:
        report = await advise_pool(pool, {"ticks_by_volume": BAD})
    assert [f.statement for f in report.errors()] == ["ticks_by_volume"]


async def test_refresh_statistics_analyzes_stale_tables_and_reports_plan_changes(
    tmp_path: Path,
) -> None:
    """After a bulk load into an unanalyzed table, ANALYZE runs and plan changes are listed."""
    path = migrated(tmp_path / "bulk.sqlite3")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, kind INTEGER, at INTEGER)")
    conn.execute("CREATE INDEX ix_ev_kind ON ev (kind)")
    conn.execute("CREATE INDEX ix_ev_at ON ev (at)")
    conn.execute("ANALYZE")
    conn.executemany("INSERT INTO ev (kind, at) VALUES (?, ?)", ((i % 2, i) for i in range(20_000)))
    conn.commit()
    conn.close()
    query = Statement(
        "ev_recent",
        "recent events of a kind",
        "/* rawdb:ev_recent */ SELECT id FROM ev WHERE kind = ? AND at > ?",
        "test:1",
    )
    async with Pool.open(Settings(database=path)) as pool:
        report = await refresh_statistics(pool, statements={"ev_recent": query})
        again = await refresh_statistics(pool, statements={"ev_recent": query})
    assert "ev" in report.analyzed
    before, after = report.changed_plans["ev_recent"]
    assert "ix_ev_kind" in before[0] and "ix_ev_at" in after[0]
    assert again.analyzed == []


async def test_optimize_and_scheduled_upkeep(pool: Pool) -> None:
    """PRAGMA optimize runs on demand and on a schedule, logging each run."""
    await optimize(pool)
    async with Upkeep(pool, every=0.01) as upkeep:
        for _ in range(200):
            if upkeep.runs >= 2:
                break
            await asyncio.sleep(0.01)
    assert upkeep.runs >= 2
