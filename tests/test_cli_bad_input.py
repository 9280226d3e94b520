"""Every command-line entry point on bad input: one clear error, a non-zero exit, no traceback.

Each case runs the real CLI in a subprocess, as an operator would, and checks stderr.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawdb import Migrator, Settings
from reliability import record

CLIS = {
    "migrate status": ["rawdb.migrate", "--db", "{db}", "status"],
    "migrate up": ["rawdb.migrate", "--db", "{db}", "up"],
    "partitions status": ["rawdb.partitions", "--db", "{db}", "status"],
    "partitions maintain": ["rawdb.partitions", "--db", "{db}", "maintain"],
    "partitions archive": ["rawdb.partitions", "--db", "{db}", "archive", "2026-01"],
    "monitor": ["rawdb.monitor", "--database", "{db}"],
}


def run(command: list[str], db: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    args = [part.replace("{db}", str(db)) for part in command]
    result = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return result.returncode, result.stderr


def clean_refusal(code: int, stderr: str, expected: str) -> bool:
    return code != 0 and "Traceback" not in stderr and expected in stderr


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    db = tmp_path / "app.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    return db


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_a_directory_as_the_database(cli: str, tmp_path: Path) -> None:
    """--db naming a folder: said so, and nothing is created inside it."""
    code, err = run(CLIS[cli], tmp_path)
    ok = clean_refusal(code, err, "is a directory") and list(tmp_path.iterdir()) == []
    record(
        "every CLI given a directory as the database",
        "exit non-zero, 'is a directory' named, no traceback, nothing created",
        ok=ok,
    )
    assert ok, (code, err)


NOT_A_FILE = {
    "FIFO": ("FIFO", os.mkfifo),
    "symlink to /dev/zero": ("character device", lambda path: path.symlink_to("/dev/zero")),
    "dangling symlink": ("does not exist", lambda path: path.symlink_to(path.parent / "gone")),
}


@pytest.mark.parametrize("kind", sorted(NOT_A_FILE))
@pytest.mark.parametrize("cli", sorted(CLIS))
def test_a_database_path_that_is_not_a_regular_file(cli: str, kind: str, tmp_path: Path) -> None:
    """SQLite blocks forever opening a FIFO and writes a -journal beside a device's path
    (/dev/zero-journal): such a path is refused before SQLite is asked."""
    said, make = NOT_A_FILE[kind]
    db = tmp_path / "app.sqlite3"
    make(db)
    started = time.monotonic()
    code, err = run(CLIS[cli], db)
    ok = clean_refusal(code, err, said) and "not a database file" in err
    ok = ok and time.monotonic() - started < 60 and not Path(f"{db}-journal").exists()
    ok = ok and sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite3"]
    record(
        "every CLI given a database path that is a FIFO, a symlink to /dev/zero or a dangling "
        "symlink",
        "exit non-zero within 60 s naming what the path is, no traceback, nothing created",
        ok=ok,
    )
    assert ok, (code, err)


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_a_database_in_a_missing_folder(cli: str, tmp_path: Path) -> None:
    """A mistyped folder is named as missing, never answered with 'run migrate up'."""
    code, err = run(CLIS[cli], tmp_path / "no-such-folder" / "app.sqlite3")
    ok = clean_refusal(code, err, "does not exist") and "migrate up" not in err
    ok = ok and not (tmp_path / "no-such-folder").exists()
    record(
        "every CLI given a database in a folder that does not exist",
        "exit non-zero, the missing folder named, no advice to create a database, no traceback",
        ok=ok,
    )
    assert ok, (code, err)


@pytest.mark.parametrize(
    "cli", ["partitions status", "partitions maintain", "partitions archive", "monitor"]
)
def test_a_missing_file_is_not_created(cli: str, tmp_path: Path) -> None:
    """Commands that read a database do not create an empty one at a mistyped name."""
    db = tmp_path / "typo.sqlite3"
    code, err = run(CLIS[cli], db)
    ok = clean_refusal(code, err, "does not exist") and not db.exists()
    record(
        "reading CLIs given a database file that does not exist",
        "exit non-zero, 'does not exist' named, no file created, no traceback",
        ok=ok,
    )
    assert ok, (code, err)


@pytest.mark.parametrize("wait", ["nan", "inf", "-1", "soon"])
def test_wait_must_be_a_number_of_seconds(wait: str, migrated: Path) -> None:
    code, err = run(["rawdb.migrate", "--db", "{db}", "--wait", wait, "up"], migrated)
    ok = code == 2 and "Traceback" not in err and "wait" in err
    record(
        "`migrate --wait` given nan, inf, a negative or a word",
        "usage error (exit 2) naming --wait, no traceback",
        ok=ok,
    )
    assert ok, (code, err)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MARKET_MONTHS_KEPT", "abc"),
        ("MARKET_MONTHS_KEPT", "0"),
        ("MARKET_MONTHS_KEPT", "-3"),
        ("MARKET_MONTHS_KEPT", "1.5"),
        # Huge values once held the write lock for as long as tables were made (forever).
        ("MARKET_MONTHS_AHEAD", "99999999999"),
        ("MARKET_MONTHS_AHEAD", "1000"),
    ],
)
def test_bad_partition_policy_setting(variable: str, value: str, migrated: Path) -> None:
    name = f"RAWDB_PARTITIONS_{variable}"
    before = migrated.stat().st_mtime_ns
    code, err = run(CLIS["partitions maintain"], migrated, {name: value})
    ok = code == 2 and "Traceback" not in err and name in err
    ok = ok and migrated.stat().st_mtime_ns == before
    record(
        "a bad RAWDB_PARTITIONS_* value",
        "usage error (exit 2) naming the variable, no traceback, the file untouched",
        ok=ok,
    )
    assert ok, (code, err)


@pytest.fixture
def write_locked(migrated: Path) -> Iterator[Path]:
    """Another process holds BEGIN IMMEDIATE on the database (its month tables made) for
    the test's length."""
    code, err = run(CLIS["partitions maintain"], migrated)
    assert code == 0, err
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(migrated),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield migrated
    finally:
        holder.kill()
        holder.wait()


def test_archive_beside_a_writer_that_keeps_the_lock(write_locked: Path) -> None:
    """partitions archive waits busy_timeout for the write lock, then says what held it."""
    with sqlite3.connect(write_locked) as conn:
        tables_before = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    started = time.perf_counter()
    code, err = run(
        [*CLIS["partitions archive"][:3], "archive", "2026-12"],
        write_locked,
        {"RAWDB_BUSY_TIMEOUT_MS": "1000"},
    )
    took = time.perf_counter() - started
    with sqlite3.connect(f"{write_locked.resolve().as_uri()}?mode=ro", uri=True) as conn:
        tables_after = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    ok = (
        code == 1
        and "Traceback" not in err
        and "write lock" in err
        and err.count("error:") == 1
        and took < 10
        and tables_before == tables_after
    )
    record(
        "`partitions archive` while another process holds the write lock",
        "exit 1 after busy_timeout with one message naming the write lock, no traceback, "
        "nothing changed",
        ok=ok,
    )
    assert ok, (code, err, took)
