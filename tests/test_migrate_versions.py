"""Versions and names as the ecosystem writes them: any width, ordered numerically, slugs with
case, dots and hyphens; rawdb's own four-digit names unchanged. Real files, real databases."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rawdb.config import MigrationSource, Settings
from rawdb.errors import UsageError
from rawdb.migrate import Migrator, discover, shipped_root
from rawdb.migrate.files import next_version_text

from conftest import MigrationDir, RunCli

STAMPS = ("20240731203656", "20240801090000", "20250102030405")


def stamped(mdir: MigrationDir) -> MigrationDir:
    """Three migrations named the way dbmate or golang-migrate name them: 14-digit UTC
    timestamps, slugs with capitals, dots and hyphens."""
    mdir.add(
        f"{STAMPS[2]}_add-Index.v2.sql",
        "-- index\nCREATE INDEX members_name ON members (name);\n",
        "DROP INDEX members_name;\n",
    )
    mdir.add(
        f"{STAMPS[0]}_Create_Members.sql",
        "-- members\nCREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT);\n",
        "DROP TABLE members;\n",
    )
    mdir.add(
        f"{STAMPS[1]}_add.email.sql",
        "-- email\nALTER TABLE members ADD COLUMN email TEXT;\n",
        "ALTER TABLE members DROP COLUMN email;\n",
    )
    return mdir


def names(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT version, name FROM rawdb_migrations ORDER BY version"
        ).fetchall()


def test_timestamp_versions_apply_in_order_under_their_own_names(
    mdir: MigrationDir, db_path: Path
) -> None:
    """A set of 14-digit versions applies in time order (not file-listing order), records each
    file's stem as written, rolls back to a version given as a timestamp, and comes back up."""
    stamped(mdir)
    migrator = Migrator(db_path, mdir.root, backup=False)
    assert migrator.up().done == [int(s) for s in STAMPS]
    recorded = [
        (int(STAMPS[0]), f"{STAMPS[0]}_Create_Members"),
        (int(STAMPS[1]), f"{STAMPS[1]}_add.email"),
        (int(STAMPS[2]), f"{STAMPS[2]}_add-Index.v2"),
    ]
    assert names(db_path) == recorded
    assert migrator.problems() == []
    after_up = migrator.dump_schema()
    assert migrator.down(to=int(STAMPS[0])).done == [int(STAMPS[2]), int(STAMPS[1])]
    assert migrator.current() == int(STAMPS[0])
    assert migrator.up(to=int(STAMPS[1])).done == [int(STAMPS[1])]
    assert migrator.up().done == [int(STAMPS[2])]
    assert migrator.dump_schema() == after_up
    assert names(db_path) == recorded


def test_versions_of_different_widths_order_numerically(mdir: MigrationDir, db_path: Path) -> None:
    """``2_b`` comes before ``10_c``, whatever the file listing says, and ``1_a`` is version 1
    under the name ``1_a``."""
    mdir.add("10_c.sql", "CREATE TABLE c (x);\n", "DROP TABLE c;\n")
    mdir.add("2_b.sql", "CREATE TABLE b (x);\n", "DROP TABLE b;\n")
    mdir.add("1_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;\n")
    assert [m.name for m in discover(mdir.root).migrations] == ["1_a", "2_b", "10_c"]
    assert Migrator(db_path, mdir.root, backup=False).up().done == [1, 2, 10]
    assert names(db_path) == [(1, "1_a"), (2, "2_b"), (10, "10_c")]


def test_the_shipped_set_keeps_its_names() -> None:
    """rawdb's own migrations keep the four-digit names recorded in existing databases."""
    shipped = discover(shipped_root())
    assert shipped.problems == []
    for migration in shipped.migrations:
        assert migration.name == f"{migration.version:04d}_{migration.slug}"
        assert migration.name == migration.up.path.stem
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+", migration.name)


def test_the_cli_takes_timestamp_versions(
    mdir: MigrationDir, run_cli: RunCli, db_path: Path
) -> None:
    """``up --to``, ``status`` and ``down --to`` take and show 14-digit versions."""
    stamped(mdir)
    common = ("--db", str(db_path), "--dir", str(mdir.root), "--no-backup")
    assert run_cli(*common, "up", "--to", STAMPS[1]).returncode == 0
    status = run_cli(*common, "status")
    assert f"version {STAMPS[1]}" in status.stdout
    assert f"pending  {STAMPS[2]}_add-Index.v2" in status.stdout
    down = run_cli(*common, "down", "--to", STAMPS[0])
    assert down.returncode == 0, down.stderr
    assert names(db_path) == [(int(STAMPS[0]), f"{STAMPS[0]}_Create_Members")]


def test_new_writes_the_style_the_set_uses(tmp_path: Path) -> None:
    """``new`` writes four digits in an empty or four-digit set, keeps a set's width
    (``000002`` after ``000001``), and the UTC timestamp of now in a set of timestamps (one
    past the newest when the clock is behind it)."""
    four = MigrationDir(tmp_path / "four")
    four.add("0001_a.sql", "SELECT 1;\n", "SELECT 1;\n")
    six = MigrationDir(tmp_path / "six")
    six.add("000001_a.sql", "SELECT 1;\n", "SELECT 1;\n")
    stamps = stamped(MigrationDir(tmp_path / "stamps"))
    empty = MigrationDir(tmp_path / "empty").root
    db = tmp_path / "x.sqlite3"
    sources = [
        MigrationSource(name=n, folder=f)
        for n, f in (
            ("four", four.root),
            ("six", six.root),
            ("stamps", stamps.root),
            ("empty", empty),
        )
    ]
    migrator = Migrator(db, backup=False, sets=sources, settings=Settings(database=db))
    before = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    made = {
        name: migrator.new("add_x", name)[0].name for name in ("four", "six", "stamps", "empty")
    }
    after = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    assert made["four"] == "0002_add_x.sql"
    assert made["six"] == "000002_add_x.sql"
    assert made["empty"] == "0001_add_x.sql"
    stamp = made["stamps"].split("_", 1)[0]
    assert len(stamp) == 14 and before <= stamp <= after
    assert (stamps.root / "rollback" / made["stamps"]).exists()
    future = MigrationDir(tmp_path / "future")
    future.add("29990101000000_later.sql", "SELECT 1;\n", "SELECT 1;\n")
    assert next_version_text(discover(future.root), datetime.now(UTC)) == "29990101000001"


def test_baseline_takes_a_timestamp_version(mdir: MigrationDir, db_path: Path) -> None:
    """baseline at a 14-digit version records the versions up to it (not 1..N); a number that
    is no migration's version is a usage error naming the nearest one below."""
    stamped(mdir)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
    migrator = Migrator(db_path, mdir.root, backup=False)
    with pytest.raises(
        UsageError, match=f"none is {int(STAMPS[1]) + 1}; the nearest below is {STAMPS[1]}"
    ):
        migrator.baseline(int(STAMPS[1]) + 1)
    migrator.baseline(int(STAMPS[1]))
    assert [v for v, _name in names(db_path)] == [int(STAMPS[0]), int(STAMPS[1])]
    assert migrator.up().done == [int(STAMPS[2])]


def test_duplicate_numbers_of_different_widths_are_refused(mdir: MigrationDir) -> None:
    """``1_a`` and ``0001_b`` are the same version: a problem, not two migrations."""
    mdir.add("0001_b.sql", "SELECT 1;\n", "SELECT 1;\n")
    mdir.add("1_a.sql", "SELECT 1;\n", "SELECT 1;\n")
    found = discover(mdir.root)
    assert [m.name for m in found.migrations] == ["0001_b"]
    assert any("1_a.sql: duplicate version 0001" in p for p in found.problems)
