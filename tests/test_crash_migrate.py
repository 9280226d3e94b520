"""Crash tests of migrations: SIGKILL at random points of `up` and `down` on a real database."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rawdb.migrate import discover, shipped_root
from rawdb.migrate.review import table_digests
from rawdb.migrate.schema import dump
from reliability import record

REPETITIONS = 6
NEWEST = discover(shipped_root()).newest


def fresh_schema(tmp_path: Path, version: int) -> str:
    """The canonical schema of an empty database at ``version``."""
    path = tmp_path / f"fresh{version}.sqlite3"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rawdb.migrate",
                "--db",
                str(path),
                "--no-backup",
                "up",
                "--to",
                str(version),
            ],
            check=True,
            capture_output=True,
        )
    with sqlite3.connect(path) as conn:
        return dump(conn)


def state(db: Path) -> tuple[int, str]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        version = conn.execute("SELECT coalesce(max(version), 0) FROM rawdb_migrations").fetchone()
        return int(version[0]), dump(conn)


def kill_during(db: Path, rng: random.Random, *command: str) -> None:
    """Run the migrate CLI and SIGKILL it after a random number of finished migrations."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "--no-backup", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for _ in range(rng.randint(0, 4)):
        if not proc.stdout.readline():
            break
    time.sleep(rng.uniform(0, 0.4))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def counts(db: Path, names: list[str]) -> dict[str, int]:
    """Rows per table by name (a table may have become a view over partitions)."""
    with sqlite3.connect(db) as conn:
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def rerun(db: Path, *command: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "--no-backup", *command],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.slow
def test_sigkill_during_up_leaves_a_whole_version(legacy_template: Path, tmp_path: Path) -> None:
    """After a kill the database is exactly at some version; `up` again finishes, rows kept."""
    rng = random.Random(21)
    with sqlite3.connect(legacy_template) as conn:
        names = sorted(table_digests(conn))
    rows_before = counts(legacy_template, names)
    for repetition in range(REPETITIONS):
        db = tmp_path / f"up{repetition}.sqlite3"
        shutil.copyfile(legacy_template, db)
        kill_during(db, rng, "up")
        version, schema = state(db)
        whole = version == 0 or schema == fresh_schema(tmp_path, version)
        rerun(db, "up")
        version_after, schema_after = state(db)
        ok = (
            whole
            and version_after == NEWEST
            and schema_after == fresh_schema(tmp_path, NEWEST)
            and counts(db, names) == rows_before
        )
        record(
            "SIGKILL during `migrate up` (adopted legacy database, 40k ticks)",
            "at a whole version (schema equals a fresh one at that version), integrity_check "
            "ok; `up` again reaches the newest with every row",
            ok=ok,
        )
        assert ok, (repetition, version, whole, version_after)


@pytest.mark.slow
def test_sigkill_during_down_leaves_a_whole_version(legacy_template: Path, tmp_path: Path) -> None:
    """A kill during `down --to 1` leaves a whole version; rerunning reaches 1 with every row."""
    rng = random.Random(22)
    migrated = tmp_path / "migrated.sqlite3"
    shutil.copyfile(legacy_template, migrated)
    rerun(migrated, "up")
    with sqlite3.connect(legacy_template) as conn:
        names = sorted(table_digests(conn))
    rows_before = counts(legacy_template, names)
    for repetition in range(REPETITIONS):
        db = tmp_path / f"down{repetition}.sqlite3"
        shutil.copyfile(migrated, db)
        kill_during(db, rng, "down", "--to", "1")
        version, schema = state(db)
        whole = schema == fresh_schema(tmp_path, version)
        rerun(db, "down", "--to", "1")
        version_after, schema_after = state(db)
        ok = (
            whole
            and version_after == 1
            and schema_after == fresh_schema(tmp_path, 1)
            and counts(db, names) == rows_before
        )
        record(
            "SIGKILL during `migrate down --to 1` (migrated legacy database)",
            "at a whole version, integrity_check ok; rerun reaches version 1 with every row",
            ok=ok,
        )
        assert ok, (repetition, version, whole, version_after)
