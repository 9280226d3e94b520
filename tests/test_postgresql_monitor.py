"""The health report and the Prometheus families for a PostgreSQL database, on a real server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from rawdb import Pool, Settings
from rawdb.monitor import Monitor
from rawdb.monitor.prometheus import render
from rawdb.partitions import premake
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow
from test_monitor_prometheus import parse

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
async def pg_pool(pg_url: str) -> AsyncIterator[Pool]:
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as an operator installs it
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    async with Pool.open(Settings(database_url=pg_url), migrate=True) as pool:
        yield pool


async def test_the_report_carries_the_servers_figures_and_the_statements_run(
    pg_pool: Pool, pg_url: str
) -> None:
    monitor = Monitor(pg_pool)
    es = (await instruments.add_instrument(pg_pool, {"symbol": "ES", "name": "ES"})).id
    now = datetime.now(UTC).replace(microsecond=0)
    await premake(pg_pool)
    await ticks.insert_ticks(
        pg_pool, [TickRow(es, now - timedelta(seconds=i), 1.0) for i in range(500)]
    )
    for _ in range(3):
        await ticks.latest_tick(pg_pool, es)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE market_data")
    report = await monitor.report()

    assert report.status == "healthy", report.checks
    assert report.file is None and report.server is not None
    server = report.server
    assert server.database_bytes > 0 and server.database.startswith("postgresql://")
    assert server.rawdb_sessions >= 2  # the writer and at least one reader
    assert server.schema_versions["rawdb"] == 11
    month = f"market_data_{now:%Y_%m}"
    part = next(p for p in server.partitions if p.name == month)
    assert (part.state, part.rows) == ("active", 500) and part.bytes
    assert report.partitions == server.partitions
    assert server.statements and not server.statements_note
    assert any("market_data" in s.query for s in server.statements)
    figures = {s.name: s for s in report.statements}
    assert figures["insert_ticks"].rows == 500 and figures["insert_ticks"].is_insert
    assert figures["latest_tick"].count == 3
    assert report.writer.rows_inserted_total == 501  # the ticks and the instrument
    # the instrument, premake and the ticks: three write transactions, each committed
    assert report.writer.commits == 3 and report.writer.commit_p95_ms > 0
    assert report.writer.lock_wait_p95_ms is not None
    assert any(c.name == "database_size" for c in report.checks)


async def test_prometheus_keeps_the_families_and_promtool_accepts_them(pg_pool: Pool) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus"
    monitor = Monitor(pg_pool)
    await premake(pg_pool)
    text = render(await monitor.report())
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    samples = parse(text)
    assert samples["rawdb_database_bytes"][()] > 0
    assert samples["rawdb_server_rawdb_sessions"][()] >= 2
    assert samples["rawdb_partitions"][(("family", "market_data"), ("state", "active"))] == 4
    assert samples["rawdb_schema_version"][(("set", "rawdb"),)] == 11
