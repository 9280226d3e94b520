"""Health report, thresholds and alerts on real database files, with a fake clock."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from rawdb.config import Settings
from rawdb.errors import UniqueViolation
from rawdb.monitor import Alert, AlertManager, Check, Monitor, Thresholds, figures
from rawdb.monitor.figures import SCAN_DUTY, FileSurvey
from rawdb.monitor.prometheus import render as prometheus_render
from rawdb.pool import Pool, PoolConfig
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow
from test_monitor_prometheus import parse as prometheus_parse


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def failing(name: str = "pool", subjects: list[str] | None = None) -> Check:
    return Check(
        name=name,
        status="degraded",
        reason="too busy",
        value=0.9,
        limit=0.8,
        subjects=subjects or [],
    )


def test_alert_fires_once_then_again_after_cooldown() -> None:
    """A failing check alerts once, stays quiet during the cool-down, then alerts again."""
    clock = FakeClock()
    manager = AlertManager(cooldown=300, clock=clock, wall=lambda: 1.7e9)
    received: list[Alert] = []
    manager.register(received.append)
    with structlog.testing.capture_logs() as logs:
        assert len(manager.process([failing()])) == 1
        clock.advance(100)
        assert manager.process([failing()]) == []
        clock.advance(199)
        assert manager.process([failing()]) == []
        clock.advance(1)
        assert len(manager.process([failing()])) == 1
    assert len(received) == 2
    assert [e["event"] for e in logs] == ["monitor.alert", "monitor.alert"]
    assert logs[0]["check"] == "pool" and logs[0]["reason"] == "too busy"
    assert manager.active()[0].status == "degraded"


def test_recovery_clears_the_alert_and_resets_the_cooldown() -> None:
    """A check that passes again logs one cleared event; failing again alerts at once."""
    clock = FakeClock()
    manager = AlertManager(cooldown=300, clock=clock)
    manager.process([failing()])
    ok = Check(name="pool", status="healthy", reason="fine")
    with structlog.testing.capture_logs() as logs:
        manager.process([ok])
        manager.process([ok])
    assert [e["event"] for e in logs] == ["monitor.alert_cleared"]
    assert manager.active() == []
    clock.advance(1)
    assert len(manager.process([failing()])) == 1


def test_each_subject_has_its_own_cooldown() -> None:
    """Two slow statements raise two alerts; a third appearing later raises its own."""
    clock = FakeClock()
    manager = AlertManager(cooldown=60, clock=clock)
    first = manager.process([failing("query_latency", ["a", "b"])])
    assert [a.subject for a in first] == ["a", "b"]
    clock.advance(1)
    later = manager.process([failing("query_latency", ["a", "b", "c"])])
    assert [a.subject for a in later] == ["c"]


async def test_async_and_broken_callbacks() -> None:
    """A coroutine callback is awaited on the loop; one that raises is logged, not raised."""
    manager = AlertManager(cooldown=0)
    got: list[str] = []

    async def broadcast(alert: Alert) -> None:
        await asyncio.sleep(0)
        got.append(alert.check)

    def broken(alert: Alert) -> None:
        raise RuntimeError("socket gone")

    manager.register(broken)
    unregister = manager.register(broadcast)
    with structlog.testing.capture_logs() as logs:
        manager.process([failing()])
        await manager.drain()
    assert got == ["pool"]
    assert any(e["event"] == "monitor.alert_callback_failed" for e in logs)
    unregister()
    manager.process([failing()])
    await manager.drain()
    assert got == ["pool"]


def test_thresholds_have_the_documented_defaults() -> None:
    """Defaults: p95 100 ms, pool 80%, 5,000 MB, 1% errors, 1,000 ms lock wait."""
    t = Thresholds()
    assert (t.query_p95_ms, t.pool_use, t.database_mb, t.error_rate, t.lock_wait_ms) == (
        100.0,
        0.8,
        5000.0,
        0.01,
        1000.0,
    )


async def test_healthy_report_is_json_ready(pool: Pool) -> None:
    """A quiet fresh database reports healthy, and the report round-trips through JSON."""
    monitor = Monitor(pool)
    async with pool.read() as conn:
        await conn.fetchall("SELECT 1", name="one")
    await monitor.measure_sizes()
    report = await monitor.report()
    assert report.status == "healthy", [c for c in report.checks if c.status != "healthy"]
    data = json.loads(report.model_dump_json())
    assert data["status"] == "healthy"
    assert {c["name"] for c in data["checks"]} >= {
        "pool",
        "query_latency",
        "error_rate",
        "lock_wait",
        "database_size",
        "wal_size",
    }
    assert data["file"]["page_count"] > 0
    assert any(t["name"] == "market_data_default" for t in data["file"]["tables"])
    # The registry's default tables, with their state; no month table yet.
    assert {(p["name"], p["state"]) for p in data["partitions"]} == {
        ("market_data_default", "default"),
        ("alert_logs_default", "default"),
    }
    assert data["file"]["schema_versions"]["rawdb"] >= 10
    assert [s["name"] for s in data["statements"]] == ["one"]
    assert pool.observer is monitor.metrics


async def test_slow_statement_degrades_and_alerts_once_per_cooldown(pool: Pool) -> None:
    """Injected latencies over the p95 limit degrade the report and alert once per cool-down."""
    clock = FakeClock()
    monitor = Monitor(pool, clock=clock, thresholds=Thresholds(cooldown_seconds=120))
    alerts: list[Alert] = []
    monitor.alerts.register(alerts.append)
    for _ in range(50):
        monitor.metrics.observe("tick_range", 0.250, 10, None)
    first = await monitor.report()
    second = await monitor.report()
    assert first.status == second.status == "degraded"
    check = next(c for c in first.checks if c.name == "query_latency")
    assert check.subjects == ["tick_range"]
    assert check.value == pytest.approx(250, rel=0.01)
    assert [a.subject for a in alerts] == ["tick_range"]
    clock.advance(50)  # still inside the 60 s window, past nothing yet
    await monitor.report()
    assert len(alerts) == 1
    clock.advance(71)  # the window has moved on: the statement is no longer slow
    assert (await monitor.report()).status == "healthy"


async def test_bulk_inserts_are_not_judged_by_latency(pool: Pool) -> None:
    """A 10,000-row insert batch taking 150 ms does not fail the query-latency check."""
    monitor = Monitor(pool)
    for _ in range(20):
        monitor.metrics.observe("insert_tick", 0.150, 10_000, None)
    report = await monitor.report()
    assert next(c for c in report.checks if c.name == "query_latency").status == "healthy"
    assert report.writer.insert_rows_per_s["60s"] >= 0


async def test_error_rate_over_one_percent_degrades(pool: Pool) -> None:
    """Two failures in a hundred statements is over the 1% error-rate limit."""
    monitor = Monitor(pool)
    for i in range(100):
        failed = i < 2
        monitor.metrics.observe(
            "get_instrument", 0.001, None if failed else 1, RuntimeError() if failed else None
        )
    report = await monitor.report()
    check = next(c for c in report.checks if c.name == "error_rate")
    assert check.status == "degraded"
    assert check.value == pytest.approx(0.02)


async def test_health_degrades_when_the_pool_is_exhausted(tmp_path: Path) -> None:
    """With every connection held and a caller waiting, the pool check degrades."""
    settings = Settings(database=tmp_path / "busy.sqlite3", readers=1)
    async with Pool.open(settings, config=PoolConfig(acquire_timeout=5), migrate=True) as pool:
        monitor = Monitor(pool, figures_timeout=0.2)
        held = asyncio.Event()
        release = asyncio.Event()

        async def hold_reader() -> None:
            async with pool.read():
                held.set()
                await release.wait()

        async def wait_for_reader() -> None:
            async with pool.read():
                pass

        holder = asyncio.create_task(hold_reader())
        await held.wait()
        async with pool.write():
            waiter = asyncio.create_task(wait_for_reader())
            await asyncio.sleep(0.01)
            report = await monitor.report()
        release.set()
        await asyncio.gather(holder, waiter)
    by_name = {c.name: c for c in report.checks}
    assert report.status == "degraded"
    assert by_name["pool"].status == "degraded"
    assert "exhausted" in by_name["pool"].reason
    # The file's figures come from the monitor's own connection, not the exhausted pool.
    assert "database" not in by_name
    assert report.file is not None and report.file.page_count > 0
    assert [a.check for a in report.alerts] == ["pool"]


async def test_health_degrades_when_the_wal_grows_past_its_limit(tmp_path: Path) -> None:
    """A WAL file bigger than ``wal_mb`` degrades the report with a checkpoint hint."""
    settings = Settings(database=tmp_path / "wal.sqlite3")
    async with Pool.open(settings, migrate=True) as pool:
        monitor = Monitor(pool, thresholds=Thresholds(wal_mb=0.2))
        assert (await monitor.report()).status == "healthy"
        async with pool.write() as conn:
            await conn.execute("CREATE TABLE blob_t (b BLOB)", name="make")
            await conn.executemany(
                "INSERT INTO blob_t VALUES (randomblob(4000))", [()] * 100, name="fill"
            )
        report = await monitor.report()
    wal = next(c for c in report.checks if c.name == "wal_size")
    assert wal.status == "degraded"
    assert "checkpoints are not keeping up" in wal.reason
    assert report.file is not None and report.file.wal_bytes > 200_000


async def test_database_size_limit_and_growth(tmp_path: Path) -> None:
    """Past ``database_mb`` the size check degrades; growth is reported per hour once the
    samples span ten minutes, never from samples seconds apart (they said 2.5e9 bytes/hour
    of a 5 MB file that one batch had grown)."""
    clock = FakeClock()
    settings = Settings(database=tmp_path / "big.sqlite3")
    async with Pool.open(settings, migrate=True) as pool:
        monitor = Monitor(pool, clock=clock, thresholds=Thresholds(database_mb=0.01))
        first = await monitor.report()
        async with pool.write() as conn:
            await conn.execute("CREATE TABLE g (b BLOB)", name="make")
            await conn.executemany(
                "INSERT INTO g VALUES (randomblob(4000))", [()] * 50, name="fill"
            )
        clock.advance(60)
        too_soon = await monitor.report()
        clock.advance(540)
        second = await monitor.report()
    assert first.file is not None and too_soon.file is not None and second.file is not None
    assert first.file.growth_bytes_per_hour is None
    assert too_soon.file.growth_bytes_per_hour is None
    assert second.file.growth_bytes_per_hour is not None
    grown = second.file.database_bytes - first.file.database_bytes
    assert second.file.growth_bytes_per_hour == pytest.approx(grown * 6)  # over 600 s
    size = next(c for c in second.checks if c.name == "database_size")
    assert size.status == "degraded"


async def test_commit_and_lock_wait_come_from_the_pool(pool: Pool) -> None:
    """Real writes through an observed pool fill commit latency and the insert rate."""
    monitor = Monitor(pool)
    async with pool.write() as conn:
        await conn.execute(
            "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at) "
            "VALUES ('AAA', 'A', 'future', 'active', '2026-01-01', '2026-01-01')",
            name="INSERT INTO instruments …",
        )
    writer = monitor.writer_figures()
    assert writer.commits == 1
    assert writer.commit_p95_ms > 0
    statement = monitor.metrics.statement("INSERT INTO instruments …")
    assert statement is not None and statement.rows == 1


async def test_closed_pool_is_unhealthy(tmp_path: Path) -> None:
    """After the pool closes, the report says unhealthy instead of raising."""
    settings = Settings(database=tmp_path / "closed.sqlite3")
    pool = await Pool.open(settings, migrate=True)
    monitor = Monitor(pool)
    await pool.close()
    report = await monitor.report()
    assert report.status == "unhealthy"
    assert next(c for c in report.checks if c.name == "pool").status == "unhealthy"
    # The file's figures are the monitor's own reads: the closed pool does not hide them.
    assert report.file is not None and report.file.page_count > 0


async def test_a_report_never_waits_for_the_size_scan(pool: Pool) -> None:
    """The per-table sizes (a dbstat scan of every page) are measured in the background; a
    report carries the last measurement with its age and never waits for one."""
    monitor = Monitor(pool, sizes_every=3600)
    first = await monitor.report()
    assert first.file is not None and first.file.tables == []
    assert "not measured yet" in first.file.sizes_note and first.file.sizes_age_s is None
    await monitor.survey.wait()  # the scan the first report started
    second = await monitor.report()
    assert second.file is not None
    assert any(t.name == "market_data_default" for t in second.file.tables)
    assert second.file.sizes_age_s is not None and second.file.sizes_took_s is not None
    measured = monitor.survey.measured_at
    await monitor.report()  # not stale yet: no new scan
    await monitor.survey.wait()
    assert monitor.survey.measured_at == measured


async def test_a_long_size_scan_spaces_out_the_next(pool: Pool) -> None:
    """A scan that worked t seconds is followed by the next only t / SCAN_DUTY seconds later,
    however small ``every`` is: at size a scan's disk reads are what slows reports."""
    now = [1000.0]
    survey = FileSurvey(pool.settings, every=1.0, clock=lambda: now[0])
    await survey.refresh()
    measured = survey.measured_at
    survey.worked_s = 3.0  # as a scan of a big file works, its rests not counted
    now[0] += 3.0 / SCAN_DUTY - 1
    survey.start()  # past `every`, not yet past the duty's spacing: no scan
    await survey.wait()
    assert survey.measured_at == measured
    now[0] += 2
    survey.start()
    await survey.wait()
    assert survey.measured_at == now[0]


def blob_table(path: Path, rows: int) -> None:
    """A table of ``rows`` 1 KB blobs: about ``rows / 4`` pages for a size scan to read."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bulk (b BLOB)")
        conn.executemany("INSERT INTO bulk VALUES (?)", ([bytes(1000)] * 1 for _ in range(rows)))
    conn.close()


async def test_a_background_size_scan_rests_between_slices(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan a report starts is paced: it rests between slices of work, its rests are not
    counted as its work (the spacing of the next follows the work), and the sizes it gives
    are those of a scan run flat out."""
    blob_table(Path(pool.settings.database), 20_000)
    flat_out = FileSurvey(pool.settings, every=1.0)
    await flat_out.refresh(paced=False)
    monkeypatch.setattr(figures, "SCAN_WORK_S", 0.0)
    monkeypatch.setattr(figures, "SCAN_REST_S", 0.002)
    survey = FileSurvey(pool.settings, every=1.0)
    survey.start()
    assert survey.scanning
    await survey.wait()
    assert not survey.scanning
    assert survey.took_s is not None and survey.took_s - survey.worked_s >= 0.02
    assert flat_out.took_s is not None and flat_out.took_s - flat_out.worked_s < 0.02
    assert survey.tables == flat_out.tables
    assert next(t for t in survey.tables if t.name == "bulk").pages >= 4_000


async def test_closing_the_monitor_stops_a_scan_and_lets_the_pool_remove_the_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Monitor.close()`` (or leaving ``async with Monitor(pool)``) interrupts a size scan
    under way, keeping the sizes as they were, and closes the monitor's own connection: the
    pool's close, the last one, then checkpoints the WAL and removes it."""
    database = tmp_path / "app.sqlite3"
    pool = await Pool.open(Settings(database=database), migrate=True)
    blob_table(database, 20_000)
    monkeypatch.setattr(figures, "SCAN_WORK_S", 0.0)
    monkeypatch.setattr(figures, "SCAN_REST_S", 0.2)  # a scan of about 15 s
    async with Monitor(pool, sizes_every=3600) as monitor:
        report = await monitor.report()  # starts the scan
        assert report.file is not None and monitor.survey.scanning
        await asyncio.sleep(0.3)  # under way in its thread
        started = time.monotonic()
    await monitor.survey.wait()
    assert time.monotonic() - started < 5
    assert monitor.survey.measured_at is None and monitor.survey.tables == []
    assert "unavailable" in monitor.survey.note
    assert Path(f"{database}-wal").exists()
    await pool.close()
    assert not Path(f"{database}-wal").exists()


async def test_a_report_reads_its_figures_in_place_on_one_kept_connection(pool: Pool) -> None:
    """A report sends nothing to a worker thread once the monitor's connection is open: the
    figures are read on the event loop's thread, on the same connection each time."""
    monitor = Monitor(pool, sizes_every=3600)
    await monitor.measure_sizes()
    await monitor.report()
    kept = monitor.survey._conn
    assert kept is not None
    loop = asyncio.get_running_loop()
    hops: list[object] = []
    original = loop.run_in_executor

    def counted(*args: object) -> object:
        hops.append(args)
        return original(*args)  # type: ignore[arg-type]

    loop.run_in_executor = counted  # type: ignore[method-assign,assignment]
    try:
        report = await monitor.report()
    finally:
        loop.run_in_executor = original  # type: ignore[method-assign]
    assert hops == []
    assert monitor.survey._conn is kept
    assert report.file is not None and report.file.page_count > 0
    await monitor.close()
    assert monitor.survey._conn is None


async def test_a_callers_constraint_violation_is_not_a_database_fault(pool: Pool) -> None:
    """A duplicate insert answered 409 once made the whole report degraded: constraint
    violations the caller caused are counted apart and leave the error rate alone."""
    monitor = Monitor(pool, thresholds=Thresholds(error_rate_min_statements=1))
    await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    with pytest.raises(UniqueViolation):
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "again"})
    report = await monitor.report()
    error_rate = next(c for c in report.checks if c.name == "error_rate")
    assert error_rate.status == "healthy" and error_rate.value == 0
    (insert,) = [s for s in report.statements if s.name == "insert_instrument"]
    assert insert.refused == 1 and insert.errors == 0
    samples = prometheus_parse(prometheus_render(report))
    assert samples["rawdb_statement_refused_total"][(("statement", "insert_instrument"),)] == 1


async def test_a_first_tick_into_a_new_month_leaves_the_report_healthy(pool: Pool) -> None:
    """Making a month's table is DDL, judged by the maintenance limit: it once made
    query_latency degraded (the demo's first run ended DEGRADED)."""
    monitor = Monitor(pool, thresholds=Thresholds(query_p95_ms=0.001))  # DDL would exceed it
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    when = datetime.now(UTC).replace(microsecond=0)
    await ticks.insert_ticks(pool, [TickRow(es.id, when, 100.0, 1)])
    report = await monitor.report()
    upkeep = [s.name for s in report.statements if s.is_maintenance]
    assert "partitions_create_table" in upkeep, [s.name for s in report.statements]
    by_name = {c.name: c for c in report.checks}
    assert not set(by_name["query_latency"].subjects) & set(upkeep)
    assert by_name["maintenance_latency"].status == "healthy"
