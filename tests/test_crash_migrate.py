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


KILLS_WITH_BACKUP = 20
HOT_JOURNAL = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")  # spill: pages of the file are overwritten before commit
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE market_data SET volume = volume + 1")
os.kill(os.getpid(), signal.SIGKILL)
"""


def migrate_cli(db: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(db), *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def volume_sum(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT total(volume) FROM market_data").fetchone()[0])


def backups_usable(db: Path) -> bool:
    """Every file named as a backup opens as a whole database, with nothing beside it."""
    for bak in db.parent.glob(f"{db.name}.v*.bak"):
        if Path(f"{bak}-journal").exists() or Path(f"{bak}-wal").exists():
            return False
        with sqlite3.connect(f"{bak.resolve().as_uri()}?mode=ro", uri=True) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return False
    return True


def recovered(
    db: Path, names: list[str], rows_before: dict[str, int], newest_schema: str
) -> tuple[bool, str]:
    """After a killed `up`: `status` answers without a traceback, every backup is whole, and
    `up` again reaches the newest version with the fresh schema and every row."""
    status = migrate_cli(db, "status")
    usable = backups_usable(db)
    up = migrate_cli(db, "up")
    version, schema = state(db)
    ok = (
        status.returncode == 0
        and usable
        and up.returncode == 0
        and "Traceback" not in status.stderr + up.stderr
        and version == NEWEST
        and schema == newest_schema
        and counts(db, names) == rows_before
    )
    return ok, f"status {status.stderr[-1500:]} backups usable {usable} up {up.stderr[-1500:]}"


def test_hot_journal_is_recovered_by_status_and_up(legacy_db: Path, tmp_path: Path) -> None:
    """A process killed inside a rollback-journal transaction leaves a hot journal (as a kill
    during the switch to WAL does): `status` and `up` recover it and finish, every row kept."""
    before = volume_sum(legacy_db)
    with sqlite3.connect(legacy_db) as conn:
        names = sorted(table_digests(conn))
    rows_before = counts(legacy_db, names)
    subprocess.run([sys.executable, "-c", HOT_JOURNAL, str(legacy_db)], check=False)
    journal = Path(f"{legacy_db}-journal")
    assert journal.exists() and journal.stat().st_size > 0, "no hot journal was left"
    status = migrate_cli(legacy_db, "status")
    up = migrate_cli(legacy_db, "up")
    version, _schema = state(legacy_db)
    ok = (
        status.returncode == 0
        and "Traceback" not in status.stderr + up.stderr
        and up.returncode == 0
        and version == NEWEST
        and volume_sum(legacy_db) == before
        and counts(legacy_db, names) == rows_before
        and backups_usable(legacy_db)
    )
    record(
        "a hot journal left by a process killed mid-transaction (rollback journal), then "
        "`migrate status` and `migrate up`",
        "status exits 0 and rolls the journal back; up reaches the newest version with every "
        "row and value as before the killed transaction; the backup is a usable copy",
        ok=ok,
    )
    assert ok, (status.returncode, status.stderr[-1500:], up.returncode, up.stderr[-1500:])


def test_an_unfinished_backup_is_removed_by_the_next_run(legacy_db: Path) -> None:
    """What a run killed while copying leaves (``.bak.partial`` and its journal) is not a
    backup: the next `up` removes it under the migrator lock, says so, and backs up afresh."""
    partial = legacy_db.with_name(f"{legacy_db.name}.v0000.20261201T000000000000Z.bak.partial")
    partial.write_bytes(b"half a copy" * 1000)
    Path(f"{partial}-journal").write_bytes(b"x" * 512)
    up = migrate_cli(legacy_db, "up")
    assert up.returncode == 0, up.stderr
    assert not partial.exists() and not Path(f"{partial}-journal").exists()
    assert f"removed {partial.name}" in up.stdout + up.stderr
    assert backups_usable(legacy_db) and list(legacy_db.parent.glob("*.bak"))


@pytest.mark.slow
def test_sigkill_during_up_with_backup_then_status_and_rerun(
    legacy_template: Path, tmp_path: Path
) -> None:
    """Kills spread over a whole `up` with its backup (the backup, the switch to WAL, the
    adoption, the migrations): afterwards `status` answers, every `.bak` is a usable copy, and
    `up` again reaches the newest version with every row."""
    rng = random.Random(23)
    with sqlite3.connect(legacy_template) as conn:
        names = sorted(table_digests(conn))
    rows_before = counts(legacy_template, names)
    timing = tmp_path / "timing.sqlite3"
    shutil.copyfile(legacy_template, timing)
    started = time.perf_counter()
    assert migrate_cli(timing, "up").returncode == 0
    whole_run = time.perf_counter() - started
    for repetition in range(KILLS_WITH_BACKUP):
        folder = tmp_path / f"kill{repetition}"
        folder.mkdir()
        db = folder / "tradeassist.sqlite3"
        shutil.copyfile(legacy_template, db)
        proc = subprocess.Popen(
            [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "up"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.1, whole_run))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        ok, said = recovered(db, names, rows_before, fresh_schema(tmp_path, NEWEST))
        ok = ok and not list(folder.glob("*.partial*"))  # an unfinished copy is cleared
        record(
            "SIGKILL during `migrate up` with its backup (adopted legacy database, 40k ticks)",
            "`status` exits 0 without a traceback; every file named .bak is a whole database "
            "(quick_check ok, no journal beside it); `up` again reaches the newest with every "
            "row and leaves no unfinished .partial copy",
            ok=ok,
        )
        assert ok, (repetition, said)


KILLS_IN_WAL_SWITCH = 20


def test_sigkill_at_each_step_of_the_switch_to_wal(
    fault_library: Path, legacy_template: Path, tmp_path: Path
) -> None:
    """`up` on a legacy (rollback-journal) database killed at each write, sync, truncate and
    unlink it makes while the database's -journal exists (the writability probe and the switch
    to WAL), with its backup and without: `status` answers, any backup is whole, and `up`
    again reaches the newest version with every row. Runs until 20 kills landed in the
    window; at least one of them must leave a hot journal behind."""
    with sqlite3.connect(legacy_template) as conn:
        names = sorted(table_digests(conn))
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    rows_before = counts(legacy_template, names)
    newest_schema = fresh_schema(tmp_path, NEWEST)
    kills, hot_journals, step, variant = 0, 0, 1, 0
    variants = (("up",), ("up", "--no-backup"))
    while kills < KILLS_IN_WAL_SWITCH:
        folder = tmp_path / f"kill{kills}-{variant}-{step}"
        folder.mkdir()
        db = folder / "tradeassist.sqlite3"
        shutil.copyfile(legacy_template, db)
        killed = subprocess.run(
            [sys.executable, "-m", "rawdb.migrate", "--db", str(db), *variants[variant % 2]],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={
                **os.environ,
                "LD_PRELOAD": str(fault_library),
                "RAWDB_KILL_DATABASE": str(db),
                "RAWDB_KILL_AT": str(step),
            },
        )
        if killed.returncode == 0:  # fewer steps than `step`: the window is over; next variant
            assert step > 1, "no step was taken while the -journal existed: nothing was tested"
            step, variant = 1, variant + 1
            continue
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-1500:]
        kills += 1
        hot_journals += Path(f"{db}-journal").exists()
        ok, said = recovered(db, names, rows_before, newest_schema)
        ok = ok and not Path(f"{db}-journal").exists()
        record(
            "SIGKILL at each step of `migrate up` while the legacy database's -journal exists "
            "(the writability probe and the switch to WAL; with and without its backup)",
            "`status` exits 0 without a traceback; every .bak whole; `up` again reaches the "
            "newest version with the schema of a fresh database and every row; no journal left",
            ok=ok,
        )
        assert ok, (step, variant, said)
        step += 1
    assert hot_journals > 0, "no kill left a hot journal: the window was missed"
