"""rawdb copy: the demo's database moved to a real PostgreSQL server, verified, resumable.

The demo builds a SQLite database the way an application fills one (a streamed feed, alert
rules and logs, an archived month); `rawdb copy` runs as a user runs it, in a subprocess.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.demo.run import DemoOptions, ensure_instruments, read_back
from rawdb.partitions import Period
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

psycopg = pytest.importorskip("psycopg")

from rawdb.partitions.postgresql import restore_period  # noqa: E402 -- needs psycopg


def rawdb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, made once: 30k ticks over 40 days, one month archived."""
    folder = tmp_path_factory.mktemp("demo")
    made = rawdb("demo", "--ticks", "30000", "--days", "40", "--json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder / "rawdb-demo.sqlite3"


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    """A copy of the demo's database, with the folder of its archived months beside it."""
    target = tmp_path / "rawdb-demo.sqlite3"
    with sqlite3.connect(demo_template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    archive = demo_template.with_name(demo_template.name + ".archive")
    shutil.copytree(archive, target.with_name(target.name + ".archive"))
    return target


async def _reads(settings: Settings) -> dict[str, object]:
    """The demo's own reads, plus every instrument and one hour of raw ticks."""
    async with Pool.open(settings) as pool:
        ids = await ensure_instruments(pool)
        latest = await ticks.latest_ticks(pool)
        end = max(t.timestamp for t in latest) + timedelta(seconds=1)
        first = min(ids.values())
        return {
            "demo": await read_back(pool, ids, DemoOptions(end=end)),
            "instruments": await instruments.list_instruments(pool),
            "latest": latest,
            "hour": await ticks.tick_range(pool, first, end - timedelta(hours=1), end),
            "bars_1h": await ticks.ohlc_bars(pool, first, end - timedelta(days=3), end, "1h"),
        }


async def test_the_demo_database_moves_whole_and_reads_the_same(demo_db: Path, pg_url: str) -> None:
    done = rawdb("copy", "--from", str(demo_db), "--to", pg_url, "--json", cwd=demo_db.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["copied_rows"] > 0
    months = [u for u in report["units"] if u["table"] == "market_data"]
    assert len(months) >= 2 and all(u["matches"] and u["copied"] for u in months)
    assert any("archived on SQLite" in line for line in report["skipped"]), report["skipped"]
    assert any("registered archived here" in line for line in report["skipped"]), report["skipped"]
    with sqlite3.connect(demo_db) as lite:
        live = lite.execute("SELECT count(*) FROM market_data").fetchone()[0]
    assert sum(u["target_rows"] for u in months) == live

    on_sqlite = await _reads(Settings(database=demo_db))
    on_postgresql = await _reads(Settings(database_url=pg_url))
    assert on_postgresql == on_sqlite
    # the target hands out new ids after the copied ones
    async with Pool.open(Settings(database_url=pg_url)) as pool:
        added = await instruments.add_instrument(pool, {"symbol": "ZZ", "name": "new"})
    assert added.id > max(i.id for i in on_sqlite["instruments"])  # type: ignore[attr-defined]

    # The month archived on SQLite is registered archived here with its file: restore brings
    # its rows in, checked against the file, and the copy's rerun leaves it alone.
    with sqlite3.connect(demo_db) as lite:
        (name, rows), *_ = lite.execute(
            "SELECT name, row_count FROM rawdb_partitions WHERE state = 'archived'"
        ).fetchall()
    async with Pool.open(Settings(database_url=pg_url)) as pool:
        back = await restore_period(pool, Period.from_name(name))
        assert (back.action, back.rows) == ("restored", rows)
    period = Period.from_name(name)
    with psycopg.connect(pg_url) as conn:
        (held,) = conn.execute(
            "SELECT count(*) FROM market_data WHERE timestamp >= %s AND timestamp < %s",
            (period.start, period.end),
        ).fetchone()
    assert held == rows > 0
    again = rawdb("copy", "--from", str(demo_db), "--to", pg_url, "--json", cwd=demo_db.parent)
    assert again.returncode == 0, again.stderr


async def test_a_second_run_copies_only_what_changed_on_either_side(
    demo_db: Path, pg_url: str
) -> None:
    first = rawdb("copy", "--from", str(demo_db), "--to", pg_url, "--json", cwd=demo_db.parent)
    assert first.returncode == 0, first.stderr
    # The application went on writing to the file, and someone deleted rows on the server.
    async with Pool.open(Settings(database=demo_db)) as pool:
        ids = await ensure_instruments(pool)
        newest = (await ticks.latest_ticks(pool))[0].timestamp
        await ticks.insert_ticks(
            pool, [TickRow(min(ids.values()), newest + timedelta(seconds=1), 1.5)]
        )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM alert_logs WHERE id = (SELECT min(id) FROM alert_logs)")
    second = rawdb("copy", "--from", str(demo_db), "--to", pg_url, "--json", cwd=demo_db.parent)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    copied = {(u["table"], u["period"]) for u in report["units"] if u["copied"]}
    month = newest.strftime("%Y_%m")
    quarters = {(t, p) for t, p in copied if t == "alert_logs"}
    assert ("market_data", month) in copied and len(quarters) == 1
    assert len(copied) == 2 + sum(1 for t, _ in copied if t not in ("market_data", "alert_logs"))
    assert report["ok"]
    assert await _reads(Settings(database=demo_db)) == await _reads(Settings(database_url=pg_url))


def test_the_copy_refuses_a_source_not_at_the_newest_version(tmp_path: Path, pg_url: str) -> None:
    old = tmp_path / "old.sqlite3"
    migrate = subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(old), "up", "--to", "8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    refused = rawdb("copy", "--from", str(old), "--to", pg_url, cwd=tmp_path)
    assert refused.returncode == 1
    assert "rawdb migrate up" in refused.stderr and "Traceback" not in refused.stderr
    with psycopg.connect(pg_url) as conn:  # nothing was made on the server
        assert conn.execute("SELECT to_regclass('instruments')").fetchone()[0] is None
    wrong = rawdb("copy", "--from", str(old), "--to", str(tmp_path / "x.sqlite3"), cwd=tmp_path)
    assert wrong.returncode == 2 and "give a PostgreSQL URL" in wrong.stderr
