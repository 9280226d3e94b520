"""Stored samples in query_performance, and the ``python -m rawdb.monitor`` command."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor_data import migrated
from rawdb.config import Settings
from rawdb.errors import UsageError
from rawdb.monitor import Monitor
from rawdb.monitor.cli import main
from rawdb.monitor.persist import Sampler, recent_summary
from rawdb.pool import Pool


class Wall:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_sampler_keeps_failed_slow_and_one_in_n(pool: Pool) -> None:
    """Failures and slow statements are always kept, others one in ``every``."""
    monitor = Monitor(pool)
    sampler = Sampler(monitor.metrics, every=10)
    for _ in range(100):
        monitor.metrics.observe("get_instrument", 0.001, 1, None)
    monitor.metrics.observe("get_instrument", 0.5, 1, None)
    monitor.metrics.observe("get_instrument", 0.001, None, RuntimeError("boom"))
    assert len(sampler.pending) == 12
    written = await sampler.flush(pool)
    assert written == 12 and not sampler.pending
    async with pool.read() as conn:
        rows = await conn.fetchall(
            "SELECT succeeded, error, duration_us FROM query_performance ORDER BY duration_us"
        )
    assert [tuple(r) for r in rows if not r[0]] == [(0, "RuntimeError", 1000)]
    assert max(r[2] for r in rows) == 500_000
    summary = await recent_summary(pool)
    assert summary == [{"name": "get_instrument", "samples": 12, "errors": 1, "p95_ms": 500.0}]


async def test_flush_prunes_samples_past_retention(pool: Pool) -> None:
    """Samples older than ``retention_days`` are deleted by the next flush; the queue is bounded."""
    wall = Wall(1_800_000_000.0)
    monitor = Monitor(pool)
    sampler = Sampler(monitor.metrics, every=1, keep=5, retention_days=1, wall=wall)
    for _ in range(8):
        monitor.metrics.observe("old_one", 0.001, 1, None)
    assert len(sampler.pending) == 5
    await sampler.flush(pool)
    wall.now += 2 * 86_400
    monitor.metrics.observe("new_one", 0.001, 1, None)
    await sampler.flush(pool)
    async with pool.read() as conn:
        names = [r[0] for r in await conn.fetchall("SELECT query_name FROM query_performance")]
    assert names == ["new_one"]


def test_sampler_refuses_bad_settings() -> None:
    """A zero sampling rate or retention is refused with the values named."""
    from rawdb.monitor import Metrics  # noqa: PLC0415 -- local to this check

    with pytest.raises(UsageError, match="every >= 1"):
        Sampler(Metrics(), every=0)


def test_cli_json_once(tmp_path: Path) -> None:
    """--json prints one parsable report and exits 0 on a healthy database."""
    path = migrated(tmp_path / "cli.sqlite3")
    out = io.StringIO()
    code = main(["--database", str(path), "--json", "--advise"], out=out)
    data = json.loads(out.getvalue())
    assert code == 0
    assert data["status"] == "healthy"
    assert data["stored_statements"] == []
    assert "latest_tick" in data["advice"]["plans"]


def test_cli_table_watch_count(tmp_path: Path) -> None:
    """--watch with --count prints that many tables, each with checks and file figures."""
    path = migrated(tmp_path / "watch.sqlite3")
    out = io.StringIO()
    code = main(["--database", str(path), "--watch", "0.01", "--count", "2"], out=out)
    text = out.getvalue()
    assert code == 0
    assert text.count("rawdb health: HEALTHY") == 2
    assert "wal_size" in text and "largest" in text


def test_cli_prometheus(tmp_path: Path) -> None:
    """--prometheus prints the text exposition."""
    path = migrated(tmp_path / "prom.sqlite3")
    out = io.StringIO()
    assert main(["--database", str(path), "--prometheus"], out=out) == 0
    assert "# TYPE rawdb_health_status gauge" in out.getvalue()


def test_cli_missing_schema_exits_1(tmp_path: Path) -> None:
    """A database that is not migrated exits 1 (the report could not be made) with the fix in
    the message, once (real process)."""
    empty = tmp_path / "new.sqlite3"
    sqlite3.connect(empty).close()  # an SQLite file without rawdb's schema
    result = subprocess.run(
        [sys.executable, "-m", "rawdb.monitor", "--database", str(empty)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RAWDB_LOG_LEVEL": "warning"},
    )
    assert result.returncode == 1
    assert "migrate up" in result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr


def test_cli_shows_stored_samples(tmp_path: Path) -> None:
    """Samples the application stored show in the CLI's table of the same file."""
    path = migrated(tmp_path / "stored.sqlite3")

    async def store() -> None:
        async with Pool.open(Settings(database=path)) as pool:
            monitor = Monitor(pool)
            sampler = Sampler(monitor.metrics, every=1)
            monitor.metrics.observe("tick_range", 0.002, 5, None)
            await sampler.flush(pool)

    asyncio.run(store())
    out = io.StringIO()
    main(["--database", str(path)], out=out)
    assert "tick_range" in out.getvalue()
