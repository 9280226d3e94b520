"""Archival: round trip with checksums, retention by the clock, purge, and SIGKILL at every step."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partition_data import NOW, Clock, count, seed, tables
from rawdb import partitions
from rawdb.archive import (
    apply_retention,
    archive_period,
    checks,
    expired,
    purge_deleted,
    restore_period,
)
from rawdb.archive.checks import ARCHIVE_STEPS, PAUSE_ENV, RESTORE_STEPS
from rawdb.catalog import templates
from rawdb.catalog.periods import check_family
from rawdb.config import Settings
from rawdb.errors import InternalError, UsageError
from rawdb.partitions import Period, Policy
from rawdb.partitions import cli as partitions_cli
from rawdb.pool import Pool
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow
from reliability import record

JANUARY = Period("market_data", 2026, 1)


@pytest.fixture(autouse=True)
def fake_clock():
    """Every test here runs at NOW (2026-03-15) with the default policy."""
    clock = Clock()
    with partitions.using(policy=Policy(), clock=clock):
        yield clock


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """900 ticks over January-March 2026, built once."""
    path = tmp_path_factory.mktemp("seed") / "seed.sqlite3"
    with partitions.using(policy=Policy(), clock=Clock()):
        asyncio.run(seed(path))
    return path


@pytest.fixture
def db(tmp_path: Path, seeded_template: Path) -> Path:
    """A private copy of the seeded database."""
    target = tmp_path / "app.sqlite3"
    source = sqlite3.connect(seeded_template)
    dest = sqlite3.connect(target)
    source.backup(dest)
    source.close()
    dest.close()
    return target


def every_row(path: Path) -> list[tuple[object, ...]]:
    """Rows of the main database's view plus those of any archive file beside it, sorted."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT * FROM market_data").fetchall()
    folder = path.with_name(path.name + ".archive")
    for file in sorted(folder.glob("*.sqlite3")) if folder.is_dir() else []:
        with sqlite3.connect(file) as conn:
            rows += conn.execute(f"SELECT * FROM {file.stem}").fetchall()
    return sorted(rows)


def state(path: Path, table: str) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT state FROM rawdb_partitions WHERE name = ?", (table,)
        ).fetchone()[0]


def test_archive_and_restore_round_trip(db: Path) -> None:
    """January leaves for its file with count and checksum audited, and comes back identical."""
    before = every_row(db)
    done = archive_period(db, JANUARY)
    assert (done.action, done.rows) == ("archived", 300)
    assert count(db) == 600 and "market_data_2026_01" not in tables(db)
    assert Path(done.archive_file or "").is_file()
    assert every_row(db) == before
    assert archive_period(db, JANUARY).action == "already archived"
    back = restore_period(db, JANUARY)
    assert (back.action, back.rows, back.checksum) == ("restored", 300, done.checksum)
    assert not Path(done.archive_file or "").exists()
    assert count(db) == 900 and every_row(db) == before
    with sqlite3.connect(db) as conn:
        audit = conn.execute(
            "SELECT action, row_count, checksum FROM rawdb_partition_audit "
            "WHERE table_name = 'market_data_2026_01' AND action != 'create' ORDER BY id"
        ).fetchall()
    assert audit == [("archive", 300, done.checksum), ("restore", 300, done.checksum)]


def test_dry_run_changes_nothing(db: Path) -> None:
    """--dry-run style calls report what would happen and leave the database alone."""
    assert archive_period(db, JANUARY, dry_run=True).action == "would archive"
    assert state(db, "market_data_2026_01") == "active" and count(db) == 900


def test_a_damaged_archive_file_is_not_restored(db: Path) -> None:
    """A changed row in the archive file fails the checksum; nothing enters the database."""
    done = archive_period(db, JANUARY)
    with sqlite3.connect(done.archive_file or "") as conn:
        conn.execute(
            "UPDATE market_data_2026_01 SET price = price + 1 "
            "WHERE id = (SELECT min(id) FROM market_data_2026_01)"
        )
    with pytest.raises(Exception, match="checksum"):
        restore_period(db, JANUARY)
    assert state(db, "market_data_2026_01") == "archived" and count(db) == 600


def test_retention_follows_the_clock(db: Path, fake_clock: Clock) -> None:
    """With two months kept, January expires in March and February in April."""
    policy = Policy(market_months_kept=2)
    assert expired(db, policy=policy) == [JANUARY]
    fake_clock.now = NOW + timedelta(days=20)
    assert expired(db, policy=policy) == [JANUARY, Period("market_data", 2026, 2)]
    outcomes = apply_retention(db, policy=policy)
    assert [o.action for o in outcomes] == ["archived", "archived"]
    assert expired(db, policy=policy) == [] and count(db) == 300


async def test_purge_is_per_table_and_audited(db: Path) -> None:
    """Soft-deleted rows older than the cutoff go, table by table, each with an audit row."""
    async with Pool.open(Settings(database=db)) as pool:
        rows = await ticks.tick_range(
            pool, 1, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
        )
        for month in (1, 3):
            tick = next(t for t in rows if t.timestamp.month == month)
            await ticks.soft_delete_tick(pool, tick.id, at=datetime(2026, 3, 1, tzinfo=UTC))
        gone = await purge_deleted(pool, "market_data", datetime(2026, 3, 2, tzinfo=UTC))
    assert {t: n for t, n in gone.items() if n} == {
        "market_data_2026_01": 1,
        "market_data_2026_03": 1,
    }
    assert count(db) == 898
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM rawdb_partition_audit WHERE action = 'purge'"
        ).fetchone() == (2,)


def cli(db: Path, *args: str, pause: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "RAWDB_DATABASE": str(db)}
    env.pop(PAUSE_ENV, None)
    if pause:
        env[PAUSE_ENV] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "rawdb.partitions", "--now", NOW.isoformat(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at(db: Path, step: str, *args: str) -> None:
    """Run the CLI until it pauses at ``step``, then SIGKILL it."""
    proc = cli(db, *args, pause=step)
    assert proc.stderr is not None
    for line in proc.stderr:
        if f"paused at {step}" in line:
            break
    else:
        proc.wait(timeout=60)
        pytest.fail(f"never reached {step}: exit {proc.returncode}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def finish(db: Path, *args: str) -> None:
    proc = cli(db, *args)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


@pytest.mark.slow
@pytest.mark.parametrize("step", ARCHIVE_STEPS)
def test_archive_survives_a_kill_at_each_step(db: Path, step: str) -> None:
    """SIGKILL at each archival step, then a rerun: every row once, in the file or the table."""
    before = every_row(db)
    kill_at(db, step, "archive", "--family", "market_data", "2026-01")
    assert len(every_row(db)) in {900, 1200}  # a copy may sit beside the live table for now
    finish(db, "archive", "--family", "market_data", "2026-01")
    with sqlite3.connect(db) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()
    ok = state(db, "market_data_2026_01") == "archived" and integrity == ("ok",)
    ok = ok and every_row(db) == before and count(db) == 600
    record(
        "archive of a month: SIGKILL at each step (marked, copied, verified, dropped), rerun",
        "every row once across main and archive file; period archived; integrity_check ok",
        ok=ok,
        note=step,
    )
    assert ok


@pytest.mark.slow
@pytest.mark.parametrize("step", RESTORE_STEPS)
def test_restore_survives_a_kill_at_each_step(db: Path, step: str) -> None:
    """SIGKILL at each restore step, then a rerun: every row back once, the file gone."""
    before = every_row(db)
    done = archive_period(db, JANUARY)
    kill_at(db, step, "restore", "--family", "market_data", "2026-01")
    finish(db, "restore", "--family", "market_data", "2026-01")
    ok = state(db, "market_data_2026_01") == "active"
    ok = ok and not Path(done.archive_file or "").exists()
    ok = ok and every_row(db) == before and count(db) == 900
    record(
        "restore of a month: SIGKILL at each step (verified, restored, removed), rerun",
        "every row back once in main; archive file gone; period active",
        ok=ok,
        note=step,
    )
    assert ok


HOSTILE = (
    "2026-01; DROP TABLE instruments",
    "2026-01' OR '1'='1",
    "2026-01 --",
    "2026-13",
    "0001-01",
    "2026-q1\nDROP TABLE instruments",
    "market_data_2026_01",
)


def test_hostile_periods_and_names_cannot_inject_sql(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile period strings, family and table names are refused with a clear error at the
    API and the CLI, and the database schema stays exactly as it was."""
    with sqlite3.connect(db) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall()
    refused = 0
    for text in HOSTILE:
        with pytest.raises(UsageError, match=r"write it like|outside"):
            Period.parse("market_data", text)
        for command in ("archive", "restore"):
            assert partitions_cli.main(["--db", str(db), command, text]) == 2  # usage
            assert re.search("write it like|outside", capsys.readouterr().err)
            refused += 1
    for family in ("market_data; DROP TABLE instruments", "alert_logs--", "instruments"):
        with pytest.raises(UsageError, match="unknown table family"):
            check_family(family)
        with pytest.raises(SystemExit):
            partitions_cli.main(["--db", str(db), "archive", "--family", family, "2026-01"])
        refused += 1
    for name in ("market_data_2026_01; DROP TABLE x", "market_data_2026_1", "sqlite_schema"):
        with pytest.raises(InternalError):
            templates.check_table(name)
        with pytest.raises(UsageError):
            Period.from_name(name)
    with sqlite3.connect(db) as conn:
        after = conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall()
    ok = after == schema and refused == len(HOSTILE) * 2 + 3
    record(
        "hostile partition periods, family and table names (API and CLI)",
        f"{len(HOSTILE)} period strings, 3 family names, 3 table names refused with a clear "
        "error; schema unchanged",
        ok=ok,
    )
    assert ok


def _make_april_meanwhile(db: Path, at: str) -> list[str]:
    """A hook that, when the archive or restore reaches ``at``, has another connection write
    a tick into April (a month with no table yet: it is made on demand)."""
    made: list[str] = []

    async def write_april() -> None:
        async with Pool.open(Settings(database=db)) as pool:
            es = await instruments.get_instrument_by_symbol(pool, "ES")
            assert es is not None
            april = datetime(2026, 4, 1, tzinfo=UTC)
            await ticks.insert_ticks(pool, [TickRow(es.id, april, 1.0, 1)])
        made.append("market_data_2026_04")

    def hook(step: str) -> None:
        if step == at and not made:
            asyncio.run(write_april())

    checks.hook = hook
    return made


@pytest.mark.parametrize("operation", ["archive", "restore"])
def test_a_table_made_by_another_process_meanwhile_stays_in_the_view(
    db: Path, operation: str
) -> None:
    """The view is rebuilt from the registry as it is under the write lock: a month table
    another connection made while the archive copied (or the restore verified) stays readable."""
    if operation == "restore":
        archive_period(db, JANUARY)
    made = _make_april_meanwhile(db, "verified")
    try:
        if operation == "archive":
            archive_period(db, JANUARY)
        else:
            restore_period(db, JANUARY)
    finally:
        checks.hook = None
    expected = 600 + 1 if operation == "archive" else 900 + 1
    ok = made == ["market_data_2026_04"] and count(db) == expected
    record(
        f"another connection makes a month table while {operation} runs",
        "the rebuilt view covers the new table: every row stays readable",
        ok=ok,
    )
    assert "market_data_2026_04" in tables(db) and count(db) == expected, made
