"""``python -m rawdb.migrate`` as operators run it: real subprocesses, exit codes, output."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MigrationDir, RunCli


@pytest.fixture
def two(mdir: MigrationDir) -> MigrationDir:
    mdir.add(
        "0001_a.sql", "-- table a\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;"
    )
    mdir.add("0002_b.sql", "-- table b\nCREATE TABLE b (x);\n", "DROP TABLE b;")
    return mdir


def test_up_status_down_round_trip(two: MigrationDir, run_cli: RunCli, db_path: Path) -> None:
    """up, status --json and down --to 0 work end to end with exit code 0."""
    common = ("--db", str(db_path), "--dir", str(two.root))
    up = run_cli(*common, "up")
    assert up.returncode == 0, up.stderr
    assert "applied 0001_a" in up.stdout
    assert "applied 0002_b" in up.stdout
    status = json.loads(run_cli(*common, "status", "--json").stdout)
    assert set(status) >= {"current", "sets", "problems"}
    assert status["current"] == 2
    shipped = status["sets"][0]  # the set --dir names, in place of the shipped one
    assert set(shipped) >= {"current", "applied", "pending"}
    assert [a["name"] for a in shipped["applied"]] == ["0001_a", "0002_b"]
    assert all(len(a["checksum"]) == 64 and a["duration_ms"] >= 0 for a in shipped["applied"])
    down = run_cli(*common, "down", "--to", "0")
    assert down.returncode == 0, down.stderr
    assert "backup written to" in down.stdout
    assert json.loads(run_cli(*common, "status", "--json").stdout)["current"] == 0


def test_environment_names_the_database(two: MigrationDir, run_cli: RunCli, tmp_path: Path) -> None:
    """RAWDB_DATABASE picks the file when --db is not given."""
    target = tmp_path / "from_env.sqlite3"
    result = run_cli("--dir", str(two.root), "up", env={"RAWDB_DATABASE": str(target)})
    assert result.returncode == 0, result.stderr
    assert target.exists()


def test_default_database_is_in_the_working_directory(two: MigrationDir, tmp_path: Path) -> None:
    """Without --db or RAWDB_DATABASE the file is rawdb.sqlite3 in the working directory."""
    clean = {k: v for k, v in os.environ.items() if k != "RAWDB_DATABASE"}
    subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--dir", str(two.root), "up"],
        cwd=tmp_path,
        env=clean,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "rawdb.sqlite3").exists()


def test_validate_exit_codes(two: MigrationDir, run_cli: RunCli, db_path: Path) -> None:
    """validate exits 0 when clean and 1 naming the problem when a file lacks its rollback."""
    common = ("--db", str(db_path), "--dir", str(two.root))
    assert run_cli(*common, "validate").returncode == 0
    two.add("0003_c.sql", "CREATE TABLE c (x);\n", None)
    result = run_cli(*common, "validate")
    assert result.returncode == 1
    assert "0003_c.sql: no rollback file" in result.stdout


def test_failing_migration_exits_1_with_file_and_line(
    two: MigrationDir, run_cli: RunCli, db_path: Path
) -> None:
    """A failing migration exits 1 and the message names file, line and SQLite's words."""
    two.add("0003_bad.sql", "-- bad\n\nCREATE TABLE a (dup);\n", "SELECT 1;")
    result = run_cli("--db", str(db_path), "--dir", str(two.root), "up")
    assert result.returncode == 1
    assert "0003_bad.sql:3: table a already exists" in result.stderr
    assert "applied 0002_b" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["fly"],
        ["up", "--to", "-1"],
        ["up", "--to", "x"],
        ["down", "--to", "1", "--steps", "1"],
        ["down", "--steps", "0"],
        ["baseline"],
        ["new", "Bad Slug"],
    ],
)
def test_bad_usage_exits_2(
    two: MigrationDir, run_cli: RunCli, db_path: Path, args: list[str]
) -> None:
    """Malformed commands exit 2 with a message and change nothing."""
    result = run_cli("--db", str(db_path), "--dir", str(two.root), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "error" in result.stderr
    assert not db_path.exists()


def test_new_creates_the_next_pair(two: MigrationDir, run_cli: RunCli) -> None:
    """new SLUG writes the app set's 0003_slug.sql in migrations/ and rollback/, and validate
    accepts them; with no application set it is a usage error that writes nothing."""
    refused = run_cli("--dir", str(two.root), "new", "add_trades")
    assert refused.returncode == 2 and "RAWDB_MIGRATIONS=app=" in refused.stderr
    assert not (two.root / "migrations" / "0003_add_trades.sql").exists()
    result = run_cli("new", "add_trades", "--migrations", f"app={two.root}")
    assert result.returncode == 0, result.stderr
    assert (two.root / "migrations" / "0003_add_trades.sql").is_file()
    assert (two.root / "rollback" / "0003_add_trades.sql").is_file()
    assert run_cli("--migrations", f"app={two.root}", "validate").returncode == 0


def test_dump_schema_writes_a_file(two: MigrationDir, run_cli: RunCli, db_path: Path) -> None:
    """dump-schema PATH writes the sorted schema with the version, excluding bookkeeping."""
    common = ("--db", str(db_path), "--dir", str(two.root))
    run_cli(*common, "up")
    out = db_path.parent / "schema.sql"
    assert run_cli(*common, "dump-schema", str(out)).returncode == 0
    text = out.read_text()
    assert "-- version: 2" in text
    assert text.index("CREATE TABLE a") < text.index("CREATE TABLE b")
    assert "rawdb_migrations" not in text


def test_dry_run_cli_prints_sql(two: MigrationDir, run_cli: RunCli, db_path: Path) -> None:
    """up --dry-run prints each pending file's statements and creates no database."""
    result = run_cli("--db", str(db_path), "--dir", str(two.root), "up", "--dry-run")
    assert result.returncode == 0
    assert "-- rawdb 0001_a (up)" in result.stdout  # the set's name, then the migration
    assert "CREATE TABLE b (x);" in result.stdout
    assert not db_path.exists()


def test_not_a_database_is_refused(two: MigrationDir, run_cli: RunCli, db_path: Path) -> None:
    """A file that is not SQLite is named in the error and left as it was."""
    db_path.write_bytes(b"hello, I am a spreadsheet" * 10)
    before = db_path.read_bytes()
    result = run_cli("--db", str(db_path), "--dir", str(two.root), "up")
    assert result.returncode == 1
    assert "not an SQLite database" in result.stderr
    assert db_path.read_bytes() == before


def test_concurrent_migrators_apply_each_once(mdir: MigrationDir, tmp_path: Path) -> None:
    """Four processes running up at once: every migration applied exactly once, all exit 0."""
    for n in range(1, 41):
        body = f"CREATE TABLE t{n} (x);\nINSERT INTO t{n} VALUES ({n});\n"
        mdir.add(f"{n:04d}_t{n}.sql", body, f"DROP TABLE t{n};")
    db = tmp_path / "shared.sqlite3"
    cmd = [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "--dir", str(mdir.root)]
    procs = [
        subprocess.Popen(
            [*cmd, "--no-backup", "up"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    applied_lines = sum(out.decode().count("applied ") for out, _err in outputs)
    assert applied_lines == 40
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rawdb_migrations").fetchone()[0] == 40
        events = conn.execute(
            "SELECT count(*) FROM rawdb_migration_history WHERE action = 'apply'"
        ).fetchone()[0]
        assert events == 40
        assert conn.execute("SELECT sum(x) FROM t40").fetchone()[0] == 40
