"""Exactly once, with every header: concurrent migrators on a set with transaction=off files.

A ``-- rawdb: transaction=off`` file runs its statements outside any transaction, so only the
migrator lock (``<db>.migrate-lock``) keeps a second migrator from running them again, or from
taking a database half way through a run for one another tool built. Real subprocesses, real
files."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from rawdb.backend.sqlite import migrator_lock as migrate_lock
from rawdb.errors import DatabaseBusy
from rawdb.migrate import Migrator

from conftest import MigrationDir, run_together

PROCESSES = 4
ROUNDS = 20


def transaction_off_set(mdir: MigrationDir) -> int:
    """Five migrations, three of them outside a transaction (the first creating a table, as
    an adopted database's would be seen mid-run; a lone VACUUM; a create with an index)."""
    mdir.add(
        "0001_first.sql",
        "-- first, outside a transaction\n-- rawdb: transaction=off\n"
        "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
        "DROP TABLE a;\n",
    )
    mdir.add("0002_b.sql", "-- b\nCREATE TABLE b (x);\n", "DROP TABLE b;\n")
    mdir.add("0003_vacuum.sql", "-- compact\n-- rawdb: transaction=off\nVACUUM;\n", "SELECT 1;\n")
    mdir.add(
        "0004_c.sql",
        "-- c\n-- rawdb: transaction=off\nCREATE TABLE c (x);\nCREATE INDEX c_x ON c (x);\n",
        "DROP TABLE c;\n",
    )
    mdir.add("0005_d.sql", "-- d\nINSERT INTO a VALUES (5);\n", "DELETE FROM a WHERE x = 5;\n")
    return 5


def up_processes(db: Path, root: Path) -> list[tuple[int, str, str]]:
    command = [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "--dir", str(root)]
    return run_together([[*command, "--no-backup", "up"]] * PROCESSES, timeout=120)


@pytest.mark.slow
def test_concurrent_up_processes_apply_every_version_once(
    mdir: MigrationDir, tmp_path: Path
) -> None:
    """4 concurrent ``up`` processes x 20 rounds on a set with transaction=off files: every
    process exits 0, every version is applied once (one row, one 'apply' event, one "applied"
    line among all the processes), no 'fail' row, and no lock file is left behind."""
    count = transaction_off_set(mdir)
    for round_number in range(ROUNDS):
        db = tmp_path / f"round{round_number}.sqlite3"
        results = up_processes(db, mdir.root)
        failed = [result for result in results if result[0] != 0]
        assert failed == [], failed
        assert sum(out.count("applied ") for _c, out, _e in results) == count, results
        assert not any("Traceback" in err or "error" in err for _c, _o, err in results), results
        with sqlite3.connect(db) as conn:
            versions = conn.execute("SELECT version FROM rawdb_migrations ORDER BY 1").fetchall()
            actions = conn.execute(
                "SELECT action, count(*) FROM rawdb_migration_history GROUP BY action"
            ).fetchall()
            rows = conn.execute("SELECT x FROM a ORDER BY x").fetchall()
        assert versions == [(v,) for v in range(1, count + 1)]
        assert actions == [("apply", count)]
        assert rows == [(1,), (5,)]
        assert not migrate_lock.lock_path(db).exists()


def test_a_second_migrator_waits_for_the_lock_then_finds_the_work_done(
    mdir: MigrationDir, tmp_path: Path
) -> None:
    """While one migrator holds the lock, another (in this process too) waits, says so, and
    once the lock is free finds nothing left to do."""
    count = transaction_off_set(mdir)
    db = tmp_path / "shared.sqlite3"
    first = Migrator(db, mdir.root, backup=False)
    heard: list[str] = []
    second = Migrator(db, mdir.root, backup=False, report=heard.append)
    done: list[list[int]] = []
    with migrate_lock.held(db, 5, "rawdb migrate up", lambda _line: None):
        waiter = threading.Thread(target=lambda: done.append(second.up().done))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and done == []  # waiting for the lock, touching nothing
        first_done = first._up_locked(None, None).done  # the holder runs while it holds it
    waiter.join(timeout=30)
    assert first_done == list(range(1, count + 1))
    assert done == [[]]
    assert any("waiting up to" in line and "another migrator" in line for line in heard)


def test_the_wait_for_the_lock_is_bounded(mdir: MigrationDir, tmp_path: Path) -> None:
    """A migrator that cannot get the lock within its wait gives up with DatabaseBusy, naming
    the holder, and changes nothing."""
    transaction_off_set(mdir)
    db = tmp_path / "held.sqlite3"
    with migrate_lock.held(db, 1, "rawdb migrate down", lambda _line: None):
        started = time.monotonic()
        with pytest.raises(DatabaseBusy, match=r"another migrator \(pid \d+: rawdb migrate down"):
            Migrator(db, mdir.root, backup=False, wait_seconds=0.5).up()
        assert time.monotonic() - started < 5
    assert not db.exists()
