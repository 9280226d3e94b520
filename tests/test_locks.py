"""The pool keeps SQLite's POSIX locks on its file, so other processes know it is in use.

On POSIX, closing any descriptor of a file drops every fcntl lock the process holds on it.
If rawdb opened the database file from Python beside its own connections, another process
closing its last connection would believe the file unused, checkpoint it and delete the WAL
the pool still writes to (sqlite.org/howtocorrupt.html, 2.2).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Pool, Settings, TickRow
from rawdb.monitor import Monitor
from rawdb.queries import instruments, ticks
from reliability import record

T0 = datetime(2026, 1, 5, tzinfo=UTC)
LOCKS = Path("/proc/locks")


def held_locks(path: Path, pid: int) -> list[str]:
    """Lines of /proc/locks for fcntl locks ``pid`` holds on ``path``'s inode."""
    info = os.stat(path)
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    found = []
    for line in LOCKS.read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        holder = len(fields) >= 8 and fields[1] == "POSIX" and fields[4] == str(pid)
        if holder and fields[5] == device:
            found.append(line)
    return found


def batch(instrument: int, start: int, count: int) -> list[TickRow]:
    return [
        TickRow(instrument, T0 + timedelta(milliseconds=start + n), 100.0, start + n)
        for n in range(count)
    ]


@pytest.mark.skipif(not LOCKS.exists(), reason="/proc/locks is Linux's")
async def test_pool_holds_its_locks_on_the_database(tmp_path: Path) -> None:
    """After every connection of the pool has opened and been used, and a health report has
    read the file figures, /proc/locks shows this process holding SQLite's shared lock on the
    database file and on its -shm."""
    db = tmp_path / "locks.sqlite3"
    async with Pool.open(Settings(database=db, readers=3), migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        await ticks.insert_ticks(pool, batch(es.id, 0, 1_000))
        for _ in range(6):  # every reader lent at least once
            assert await ticks.latest_tick(pool, es.id) is not None
        # The health report reads sizes (and the -wal header, a file SQLite does not lock).
        await Monitor(pool, sizes_every=0).report()
        on_file = held_locks(db, os.getpid())
        on_shm = held_locks(db.with_name(db.name + "-shm"), os.getpid())
    ok = bool(on_file) and bool(on_shm)
    record(
        "an open pool's fcntl locks, read from /proc/locks",
        "the process holds SQLite's locks on the database file and its -shm after every "
        "connection opened",
        ok=ok,
    )
    assert on_file, "no lock on the database file: another process could delete the WAL"
    assert on_shm, "no lock on the -shm file"


def _read_once_and_close(db: Path) -> int:
    """Another program (not rawdb) reads the file once and closes it, as sqlite3 CLI would."""
    code = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(c.execute('SELECT count(*) FROM market_data').fetchone()[0])\n"
        "c.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


async def test_another_program_closing_the_file_leaves_the_wal(tmp_path: Path) -> None:
    """A process that reads once and closes while the pool ingests must not checkpoint and
    delete the WAL under the pool: every acknowledged tick is there afterwards."""
    db = tmp_path / "shared.sqlite3"
    wal = db.with_name(db.name + "-wal")
    acknowledged = 0
    seen = []
    async with Pool.open(Settings(database=db, readers=2), migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        for round_ in range(5):
            acknowledged += await ticks.insert_ticks(pool, batch(es.id, round_ * 2_000, 2_000))
            seen.append(_read_once_and_close(db))
            assert wal.exists(), "the other process deleted the WAL the pool is writing to"
        acknowledged += await ticks.insert_ticks(pool, batch(es.id, 10_000, 2_000))
        assert await ticks.latest_tick(pool, es.id) is not None
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    ok = (
        stored == acknowledged == 12_000
        and integrity == "ok"
        and seen == [2_000 * (r + 1) for r in range(5)]
    )
    record(
        "another program reads the file once and closes it, five times during ingest",
        "the -wal stays; the other program sees every commit; every acknowledged tick stored; "
        "integrity_check ok",
        ok=ok,
    )
    assert ok, (stored, acknowledged, integrity, seen)
