"""Waiting for the write lock another process holds: exactly the busy timeout, one notice,
then DatabaseBusy with one clear message (real processes, real files, no mocks)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import structlog

from partition_data import NOW, Clock, seed
from rawdb import log, partitions
from rawdb.backend.sqlite import pooled as pool_conn
from rawdb.backend.sqlite.connection import open_sync, transaction
from rawdb.config import Settings
from rawdb.errors import DatabaseBusy
from rawdb.partitions import Policy
from rawdb.pool import Pool

from conftest import run_together

WAIT_MS = 2000
LOW, HIGH = 2.0, 4.0  # seconds a command with a 2000 ms wait may take, its start included
SLACK = 1.0  # on a loaded machine: what the wait alone may take beyond 2 s
HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("CREATE TABLE lock_holder_note (x)")  # a write, rolled back at the end
print("held", flush=True)
release = float(sys.argv[2])
if release > 0:
    time.sleep(release)
else:
    sys.stdin.read()  # until the test closes stdin
conn.execute("ROLLBACK")
conn.close()
"""


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """900 ticks over January-March 2026, built once."""
    path = tmp_path_factory.mktemp("seed") / "seed.sqlite3"
    with partitions.using(policy=Policy(), clock=Clock()):
        asyncio.run(seed(path))
    return path


@pytest.fixture
def db(tmp_path: Path, seeded_template: Path) -> Path:
    """A private copy of the seeded database (through SQLite's backup, never a file copy)."""
    target = tmp_path / "app.sqlite3"
    with sqlite3.connect(seeded_template) as source, sqlite3.connect(target) as dest:
        source.backup(dest)
    source.close()
    dest.close()
    return target


@contextmanager
def lock_held(db: Path, release_after: float = 0.0) -> Iterator[subprocess.Popen[str]]:
    """Another process inside ``BEGIN IMMEDIATE`` with a write, until the block ends (or for
    ``release_after`` seconds)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(release_after)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def command(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``python -m <args>`` with a 2000 ms busy timeout; the result and seconds taken."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", *args],
        env={**os.environ, "RAWDB_BUSY_TIMEOUT_MS": str(WAIT_MS), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - started


def bounded(took: float, baseline: float) -> bool:
    """A 2000 ms wait: 2-4 s in all; on a machine so loaded that starting the command alone
    takes seconds, 2 s (give or take SLACK) beyond ``baseline``, the same command run so that it
    does not wait (a dry run)."""
    return took >= LOW and (took <= HIGH or abs(took - baseline - LOW) <= SLACK)


def names_the_holder_or_no_one(text: str, holder: subprocess.Popen[str]) -> bool:
    """Linux's /proc/locks names the holding process; elsewhere nothing is named (never a
    guess)."""
    return f"pid {holder.pid}" in text or "pid " not in text


def waiting_events(captured: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in captured if e["event"] == log.WRITE_LOCK_WAITING]


def archive_state(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT state FROM rawdb_partitions WHERE name = 'market_data_2026_01'"
        ).fetchone()
    conn.close()
    return str(row[0])


# --- the synchronous helper ---------------------------------------------------------------


def test_transaction_waits_the_busy_timeout_then_refuses(db: Path) -> None:
    """transaction() tries at once, warns once naming file and wait, waits the connection's
    busy timeout in all and raises DatabaseBusy; the busy timeout is as it was after."""
    conn = open_sync(db, Settings(database=db, busy_timeout_ms=WAIT_MS), create=False)
    with lock_held(db) as holder, structlog.testing.capture_logs() as captured:
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as caught, transaction(conn, "test write", component="t"):
            pytest.fail("the block ran without the lock")
        waited = time.monotonic() - started
    message = str(caught.value)
    events = waiting_events(captured)
    assert LOW <= waited <= HIGH, waited
    assert len(events) == 1 and events[0]["log_level"] == "warning"
    assert events[0]["component"] == "t" and events[0]["wait_s"] == 2.0
    assert str(db) in str(events[0]["note"]) and "RAWDB_BUSY_TIMEOUT_MS" in str(events[0]["note"])
    assert str(db) in message and "2000 ms" in message and "RAWDB_BUSY_TIMEOUT_MS" in message
    assert "nothing was changed" in message and "raise the wait" in message
    assert names_the_holder_or_no_one(message, holder)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == WAIT_MS
    assert not conn.in_transaction
    conn.close()


def test_transaction_gets_the_lock_once_released(db: Path) -> None:
    """A lock released within the wait: the transaction goes ahead after one notice, told to
    listener too (what a command prints for a person)."""
    conn = open_sync(db, Settings(database=db, busy_timeout_ms=WAIT_MS), create=False)
    told: list[str] = []
    log.listen(told.append)
    try:
        with lock_held(db, release_after=0.7), structlog.testing.capture_logs() as captured:
            started = time.monotonic()
            with transaction(conn, "test write"):
                conn.execute("CREATE TABLE after_the_wait (x)")
            waited = time.monotonic() - started
    finally:
        log.listen(None)
    assert 0.3 < waited < 1.9, waited
    assert len(waiting_events(captured)) == 1 and len(told) == 1
    assert told[0].startswith("test write: waiting up to 2 s for the write lock on ")
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == WAIT_MS
    conn.close()


def test_no_wait_refuses_at_once_without_a_notice(db: Path) -> None:
    """busy_timeout 0: DatabaseBusy at once, and no "waiting" line for a wait that is not."""
    conn = open_sync(db, Settings(database=db, busy_timeout_ms=0), create=False)
    with lock_held(db), structlog.testing.capture_logs() as captured:
        started = time.monotonic()
        with pytest.raises(DatabaseBusy, match="the wait is 0 ms"), transaction(conn, "w"):
            pass
        assert time.monotonic() - started < 0.5
    assert waiting_events(captured) == []
    conn.close()


# --- the commands ---------------------------------------------------------------------------


def archive(db: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    return command(
        "rawdb.partitions",
        "--now",
        NOW.isoformat(),
        "archive",
        "--family",
        "market_data",
        "2026-01",
        *extra,
        RAWDB_DATABASE=str(db),
    )


def test_archive_gives_up_when_the_wait_is_over(db: Path) -> None:
    """`python -m rawdb.partitions archive` with the lock held elsewhere exits 1 after the
    2000 ms wait with one error line naming the file, the wait and what to do; nothing is
    archived, and it archives once the lock is free."""
    with lock_held(db) as holder:
        dry, baseline = archive(db, "--dry-run")
        result, took = archive(db)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert dry.returncode == 0, dry.stderr
    assert result.returncode == 1, result.stderr
    assert bounded(took, baseline), (took, baseline)
    assert "Traceback" not in result.stderr
    assert len(errors) == 1, result.stderr
    assert str(db) in errors[0] and "2000 ms" in errors[0] and "--wait" in errors[0]
    # The person at the terminal is told once, before the wait, that it is waiting.
    waiting = [line for line in result.stderr.splitlines() if "waiting up to 2 s" in line]
    assert len(waiting) == 1 and result.stderr.index(waiting[0]) < result.stderr.index(errors[0])
    assert len(result.stderr.splitlines()) == 2, result.stderr
    assert names_the_holder_or_no_one(errors[0], holder)
    assert archive_state(db) == "active"
    done, _ = archive(db)
    assert done.returncode == 0, done.stderr
    assert archive_state(db) == "archived"


def test_archive_says_once_that_it_waits(db: Path) -> None:
    """With JSON logs every stderr line is an event: one write_lock_waiting warning from the
    archive component, then the failure."""
    with lock_held(db):
        result, _ = archive(db, "--log-json")
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    waiting = [e for e in events if e["event"] == log.WRITE_LOCK_WAITING]
    assert result.returncode == 1, result.stderr
    assert len(waiting) == 1 and events[-1]["event"] == "cli.failed", events
    assert waiting[0]["level"] == "warning" and waiting[0]["component"] == "archive"
    assert waiting[0]["wait_s"] == 2.0 and waiting[0]["database"] == str(db)
    # From the notice to the failure: the wait itself, by the events' own clocks.
    waited = stamp(events[-1]) - stamp(waiting[0])
    assert LOW - 0.05 <= waited <= LOW + SLACK, waited


def stamp(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00")).timestamp()


def test_monitor_finishes_within_the_wait(db: Path) -> None:
    """`python -m rawdb.monitor` while the lock is held: it writes nothing it must wait for,
    so it reports and ends within the bound, without a traceback."""
    free, baseline = command("rawdb.monitor", "--db", str(db), "--json")
    with lock_held(db):
        result, took = command("rawdb.monitor", "--db", str(db), "--json")
    assert free.returncode == result.returncode, free.stderr
    assert took <= HIGH or took - baseline <= SLACK, (took, baseline)
    assert "Traceback" not in result.stderr
    assert result.returncode in {0, 3, 4}, result.stderr  # a report: healthy, degraded, unhealthy
    assert json.loads(result.stdout)["status"] in {"healthy", "degraded", "unhealthy"}


def test_migrate_wait_is_exact(tmp_path: Path) -> None:
    """`python -m rawdb.migrate --wait 2 up` with a migration pending and the lock held:
    2-4 s, one error line, no traceback; the migration is still pending (applied after)."""
    db = tmp_path / "migrate.sqlite3"
    ready, _ = command("rawdb.migrate", "--db", str(db), "up", "--to", "8")
    assert ready.returncode == 0, ready.stderr
    with lock_held(db) as holder:
        dry, baseline = command("rawdb.migrate", "--db", str(db), "--wait", "2", "up", "--dry-run")
        result, took = command("rawdb.migrate", "--db", str(db), "--wait", "2", "up")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert dry.returncode == 0, dry.stderr
    assert result.returncode == 1, result.stderr
    assert bounded(took, baseline), (took, baseline)
    assert "Traceback" not in result.stderr
    assert len(errors) == 1, result.stderr
    assert str(db) in errors[0] and names_the_holder_or_no_one(errors[0], holder)
    done, _ = command("rawdb.migrate", "--db", str(db), "up")
    assert done.returncode == 0 and "0009" in done.stdout + done.stderr, done


# --- the pool -------------------------------------------------------------------------------


async def test_pool_write_waits_the_busy_timeout_then_refuses(db: Path) -> None:
    """pool.write() with busy_timeout_ms=2000 and the lock held elsewhere: one waiting warning
    from the pool, DatabaseBusy after 2-4 s naming the file; reads go on meanwhile and the
    writer works once the lock is free."""
    settings = Settings(database=db, busy_timeout_ms=WAIT_MS)
    async with Pool.open(settings) as pool:
        with lock_held(db) as holder, structlog.testing.capture_logs() as captured:
            started = time.monotonic()
            with pytest.raises(DatabaseBusy) as caught:
                async with pool.write() as conn:
                    await conn.execute("CREATE TABLE never (x)")
            waited = time.monotonic() - started
        async with pool.write() as conn:
            await conn.execute("CREATE TABLE after_the_lock (x)")
    message = str(caught.value)
    events = waiting_events(captured)
    assert LOW <= waited <= HIGH, waited
    assert len(events) == 1 and events[0]["log_level"] == "warning", captured
    assert events[0]["component"] == "pool" and events[0]["database"] == str(db)
    assert "RAWDB_BUSY_TIMEOUT_MS" in str(events[0]["note"])
    assert str(db) in message and "2000 ms" in message and "busy_timeout_ms" in message
    assert names_the_holder_or_no_one(message, holder)


async def test_pool_write_goes_ahead_when_the_lock_comes_free(db: Path) -> None:
    """A lock released within the wait: pool.write() commits after one notice, and the event
    loop ran on while it waited (the wait is in the connection's thread)."""
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    async with Pool.open(Settings(database=db, busy_timeout_ms=WAIT_MS)) as pool:
        with lock_held(db, release_after=0.8), structlog.testing.capture_logs() as captured:
            beat = asyncio.create_task(heartbeat())
            started = time.monotonic()
            async with pool.write() as conn:
                await conn.execute("CREATE TABLE after_the_wait (x)")
            waited = time.monotonic() - started
            beat.cancel()
    assert 0.3 < waited < 1.9, waited
    assert len(waiting_events(captured)) == 1
    assert ticks >= 5


async def test_a_short_wait_is_not_announced(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock held for less than the notice delay (another process's commit) is waited for
    without a line (the delay raised to 0.5 s here, so a loaded machine cannot blur it)."""
    monkeypatch.setattr(pool_conn, "WAIT_NOTICE_AFTER", 0.5)
    async with Pool.open(Settings(database=db, busy_timeout_ms=WAIT_MS)) as pool:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, other.execute, "ROLLBACK")
        with structlog.testing.capture_logs() as captured:
            async with pool.write() as conn:
                await conn.execute("CREATE TABLE quick (x)")
        other.close()
    assert waiting_events(captured) == []


# --- processes starting on one new file -------------------------------------------------------

OPEN_AT = """
import sys, time
from pathlib import Path
from rawdb.backend.sqlite.connection import open_sync
folder, first, step = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
count = int(sys.argv[4])
for i in range(count):
    while time.time() < first + i * step:
        pass  # all the processes open file i at the same instant
    conn = open_sync(folder / f"new{i}.sqlite3")
    print(conn.execute("PRAGMA journal_mode").fetchone()[0], flush=True)
    conn.close()
"""
STARTERS, NEW_FILES = 4, 25


def test_processes_opening_one_new_file_at_once_all_get_a_wal_connection(
    tmp_path: Path,
) -> None:
    """Two workers of an app starting on a database not yet created: SQLite answers the
    switch to WAL with SQLITE_BUSY at once, without waiting, in all but one of them; each
    must still open, tuned, within its busy timeout. 4 processes x 25 new files, each
    opened by all four at one instant."""
    first = time.time() + 3.0  # after every process has imported rawdb
    command = [sys.executable, "-c", OPEN_AT, str(tmp_path), str(first), "0.08", str(NEW_FILES)]
    for code, out, err in run_together([command] * STARTERS, timeout=120):
        assert code == 0, err
        assert out.split() == ["wal"] * NEW_FILES, (out, err)
