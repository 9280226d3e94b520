"""The operator's commands on a PostgreSQL database, run as an operator runs them: `rawdb
partitions` and `rawdb monitor` in real subprocesses with `--db postgresql://…`, against a real
server holding ticks in past months."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.errors import PeriodNotWritable
from rawdb.partitions import Period
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

pytest.importorskip("psycopg")


def rawdb(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _month(back: int) -> Period:
    return Period.of_time("market_data", datetime.now(UTC)).shifted(-back)


def _start(period: Period) -> datetime:
    return datetime.fromisoformat(period.start_text).replace(tzinfo=UTC)


def _tables(found: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert found.returncode == 0, found.stderr
    families = json.loads(found.stdout)
    return {t["name"]: t for f in families for t in f["tables"]}


async def test_partitions_archive_restore_and_purge_from_the_command_line(
    pg_url: str, tmp_path: Path
) -> None:
    """status counts each month; archive --expired moves the months past retention into
    verified files (a dry run first changes nothing); the archived month takes no ticks;
    restore brings its ticks back equal, and again is a no-op; purge deletes a soft-deleted
    tick for good; move and the bars commands say why they do not apply, exit 2."""
    older, old, kept = _month(3), _month(2), _month(1)
    settings = Settings(database_url=pg_url)
    async with Pool.open(settings, migrate=True) as pool:
        es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "ES"})).id
        rows = [TickRow(es, _start(p) + timedelta(seconds=i), 100.0 + i % 7, i)
                for p in (older, old, kept) for i in range(1200)]  # fmt: skip
        await ticks.insert_ticks(pool, rows)
        month_end = _start(old.shifted(1))
        before = await ticks.tick_range(pool, es, _start(old), month_end, limit=5000)
    env = {
        "RAWDB_PARTITIONS_ARCHIVE_DIR": str(tmp_path / "archive"),
        "RAWDB_PARTITIONS_MARKET_MONTHS_KEPT": "2",
    }
    db = ("--db", pg_url)

    tables = _tables(rawdb("partitions", *db, "--json", "status", env=env))
    assert tables[older.table]["rows"] == tables[old.table]["rows"] == 1200
    assert tables[old.table]["state"] == "active" and tables[old.table]["bytes"]

    dry = rawdb("partitions", *db, "archive", "--expired", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"{older.table}: would archive" in dry.stdout and old.table in dry.stdout
    assert _tables(rawdb("partitions", *db, "--json", "status", env=env))[old.table]["state"] == (
        "active"
    )

    done = rawdb("partitions", *db, "--json", "archive", "--expired", env=env)
    assert done.returncode == 0, done.stderr
    outcomes = {o["table"]: o for o in json.loads(done.stdout)}
    assert set(outcomes) >= {older.table, old.table} and kept.table not in outcomes
    assert outcomes[old.table]["action"] == "archived" and outcomes[old.table]["rows"] == 1200
    assert Path(str(outcomes[old.table]["archive_file"])).is_file()
    tables = _tables(rawdb("partitions", *db, "--json", "status", env=env))
    assert (tables[old.table]["state"], tables[old.table]["rows"]) == ("archived", 1200)
    assert tables[old.table]["bytes"] is None

    async with Pool.open(settings) as pool:
        assert await ticks.tick_range(pool, es, _start(old), month_end) == []
        with pytest.raises(PeriodNotWritable):
            await ticks.insert_ticks(pool, [TickRow(es, _start(old), 1.0)])

    label = old.table.removeprefix("market_data_").replace("_", "-")
    back = rawdb("partitions", *db, "restore", "--family", "market_data", label, env=env)
    assert back.returncode == 0, back.stderr
    assert f"{old.table}: restored, 1,200 rows" in back.stdout
    again = rawdb("partitions", *db, "restore", "--family", "market_data", label, env=env)
    assert f"{old.table}: already active" in again.stdout
    async with Pool.open(settings) as pool:
        assert await ticks.tick_range(pool, es, _start(old), month_end, limit=5000) == before
        assert await ticks.soft_delete_tick(pool, before[0].id)
        await ticks.insert_ticks(pool, [TickRow(es, _start(old) + timedelta(hours=9), 2.0)])

    cutoff = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    purged = rawdb("partitions", *db, "--json", "purge", "--older-than", cutoff, env=env)
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout) == {"market_data": {old.table: 1}, "alert_logs": {}}

    for command in ("move", "merge", "bars-check"):
        refused = rawdb("partitions", *db, command, env=env)
        assert refused.returncode == 2, refused.stderr
        assert "PostgreSQL" in refused.stderr and "Traceback" not in refused.stderr


def test_monitor_reports_the_server_and_refuses_what_is_sqlite_only(pg_url: str) -> None:
    """`rawdb monitor --db URL` reports healthy with the server's figures (table and JSON);
    --advise exits 2 with what to use instead, never a traceback."""
    migrated = rawdb("migrate", "--db", pg_url, "up", env={})
    assert migrated.returncode == 0, migrated.stderr
    table = rawdb("monitor", "--db", pg_url, env={})
    assert table.returncode == 0, table.stdout + table.stderr
    assert "rawdb health: HEALTHY" in table.stdout and "\nserver: postgresql://" in table.stdout
    found = rawdb("monitor", "--db", pg_url, "--json", env={})
    report = json.loads(found.stdout)
    assert report["status"] == "healthy" and report["server"]["database_bytes"] > 0
    assert report["file"] is None and report["published"] == []
    advise = rawdb("monitor", "--db", pg_url, "--advise", env={})
    assert advise.returncode == 2
    assert "pg_stat_statements" in advise.stderr and "Traceback" not in advise.stderr
