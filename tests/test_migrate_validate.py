"""validate tells the truth: every file ``up`` (or ``down``) refuses, validate refuses too,
without touching the database; rollback files are checksummed; irreversible migrations.
Real files, real databases, the CLI in real subprocesses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rawdb.errors import MigrationStateError
from rawdb.migrate import Migrator
from rawdb.migrate.files import checksum_of

from conftest import MigrationDir, RunCli, to_single_set_layout

# Files `up` refuses, each with a word of its message.
REFUSED_BY_UP = {
    "own_begin_commit": ("-- x\nBEGIN;\nCREATE TABLE b (x);\nCOMMIT;\n", "'BEGIN' in a migration"),
    "begin_transaction_end": (
        "-- x\nBEGIN TRANSACTION;\nCREATE TABLE b (x);\nEND;\n",
        "'BEGIN' in a migration",
    ),
    "pragma_foreign_keys": (
        "-- x\nPRAGMA foreign_keys=OFF;\nCREATE TABLE b (x);\n",
        "PRAGMA foreign_keys has no effect",
    ),
    "attach": ("-- x\nATTACH 'other.sqlite3' AS other;\n", "ATTACH in a migration file"),
    "writable_schema": ("-- x\nPRAGMA writable_schema=ON;\n", "PRAGMA writable_schema"),
    "unclosed_string": ("-- x\nINSERT INTO a VALUES ('x);\n", "statement is not complete"),
    "trigger_without_end": (
        "-- x\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;\n",
        "statement is not complete",
    ),
    "unknown_option": ("-- x\n-- rawdb: foreign_key=off\nSELECT 1;\n", "unknown option"),
    "option_after_sql": ("SELECT 1;\n-- rawdb: transaction=off\n", "stands after SQL"),
    "requires_a_newer_rawdb": (
        "-- x\n-- rawdb: requires=rawdb:99\nSELECT 1;\n",
        "requires rawdb 0099",
    ),
    "requires_an_unknown_set": (
        "-- x\n-- rawdb: requires=billing:1\nSELECT 1;\n",
        "requires billing 0001",
    ),
}
# Files `up` runs: validate must not refuse them either.
ACCEPTED_BY_UP = {
    "own_transaction_outside_the_migrators": (
        "-- x\n-- rawdb: transaction=off\nBEGIN;\nCREATE TABLE b (x);\nCOMMIT;\n"
    ),
    "final_statement_without_semicolon": "-- x\nCREATE TABLE b (x)\n",
    "words_in_strings_and_names": "-- x\nCREATE TABLE b (attach_count, note DEFAULT 'BEGIN;');\n",
}


def one_applied(mdir: MigrationDir, db: Path) -> None:
    mdir.add("0001_a.sql", "-- a\nCREATE TABLE a (x);\n", "DROP TABLE a;\n")
    Migrator(db, mdir.root, backup=False).up()


def cli(run_cli: RunCli, db: Path, root: Path, *args: str) -> tuple[int, str]:
    result = run_cli("--db", str(db), "--dir", str(root), "--no-backup", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(REFUSED_BY_UP))
def test_validate_refuses_every_file_up_refuses(
    case: str, mdir: MigrationDir, db_path: Path, run_cli: RunCli
) -> None:
    """A pending file that ``up --dry-run`` refuses is reported by ``validate`` (exit 1, the
    file and the reason named); the database is not touched by either."""
    body, words = REFUSED_BY_UP[case]
    one_applied(mdir, db_path)
    bad = mdir.add("0002_bad.sql", body, "SELECT 1;\n")
    before = db_path.read_bytes()
    code, dry_run = cli(run_cli, db_path, mdir.root, "up", "--dry-run")
    assert code == 1 and words in dry_run, dry_run
    code, validated = cli(run_cli, db_path, mdir.root, "validate")
    assert code == 1 and words in validated and bad.name in validated, validated
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("case", sorted(ACCEPTED_BY_UP))
def test_validate_passes_the_files_up_runs(
    case: str, mdir: MigrationDir, db_path: Path, run_cli: RunCli
) -> None:
    """What ``up`` runs, validate does not refuse."""
    one_applied(mdir, db_path)
    mdir.add("0002_fine.sql", ACCEPTED_BY_UP[case], "DROP TABLE b;\n")
    code, validated = cli(run_cli, db_path, mdir.root, "validate")
    assert code == 0 and "ok: 2 migrations" in validated, validated
    code, applied = cli(run_cli, db_path, mdir.root, "up")
    assert code == 0 and "applied 0002_fine" in applied, applied


def test_a_rollback_that_down_refuses_is_reported_without_blocking_up(
    mdir: MigrationDir, db_path: Path, run_cli: RunCli
) -> None:
    """A rollback file carrying its own COMMIT: validate reports it, ``down --dry-run``
    refuses it, and ``up`` (which never runs it) still applies the migration."""
    one_applied(mdir, db_path)
    mdir.add("0002_b.sql", "-- b\nCREATE TABLE b (x);\n", "DROP TABLE b;\nCOMMIT;\n")
    code, validated = cli(run_cli, db_path, mdir.root, "validate")
    assert code == 1 and "rollback/0002_b.sql:2: 'COMMIT'" in validated, validated
    code, applied = cli(run_cli, db_path, mdir.root, "up")
    assert code == 0, applied
    code, refused = cli(run_cli, db_path, mdir.root, "down", "--dry-run")
    assert code == 1 and "'COMMIT' in a migration file" in refused


def test_an_edited_rollback_is_reported_and_refused_by_down(
    mdir: MigrationDir, db_path: Path, run_cli: RunCli
) -> None:
    """The rollback's checksum is recorded with the applied version. Edited afterwards:
    validate and status report it; down refuses it with the fix, before anything runs (no
    backup, nothing rolled back); restored, down runs it."""
    one_applied(mdir, db_path)
    rollback = mdir.root / "rollback" / "0001_a.sql"
    with sqlite3.connect(db_path) as conn:
        recorded = conn.execute("SELECT rollback_checksum FROM rawdb_migrations").fetchone()[0]
    assert recorded == checksum_of(rollback.read_text())
    original = rollback.read_text()
    rollback.write_text("DROP TABLE a;\nDROP TABLE IF EXISTS other;\n")
    code, validated = cli(run_cli, db_path, mdir.root, "validate", "--json")
    problems = json.loads(validated)["problems"]
    assert code == 1 and any("rollback/0001_a.sql: rollback edited after" in p for p in problems)
    status = json.loads(cli(run_cli, db_path, mdir.root, "status", "--json")[1])
    assert any("rollback edited after" in p for p in status["problems"])
    before = sorted(p.name for p in db_path.parent.iterdir())
    with pytest.raises(MigrationStateError, match=r"cannot roll back 0001_a: .*restore it as it"):
        Migrator(db_path, mdir.root).down()
    code, refused = cli(run_cli, db_path, mdir.root, "down")
    assert code == 1 and "rollback edited after" in refused and "Nothing was rolled back" in refused
    assert sorted(p.name for p in db_path.parent.iterdir()) == before  # no backup either
    assert Migrator(db_path, mdir.root).current() == 1
    rollback.write_text(original)
    assert Migrator(db_path, mdir.root, backup=False).down().done == [1]


def test_an_old_version_table_gets_rollback_checksums_in_place(
    mdir: MigrationDir, db_path: Path
) -> None:
    """A version table of sets without the rollback_checksum column is read as it is; the
    next ``up`` (nothing pending) adds the column in place and records the rollbacks on disk
    for the files still as applied; later edits are then reported."""
    one_applied(mdir, db_path)
    mdir.add("0002_b.sql", "-- b\nCREATE TABLE b (x);\n", down=None)
    Migrator(db_path, mdir.root, backup=False).up()
    with sqlite3.connect(db_path) as conn:
        conn.execute("ALTER TABLE rawdb_migrations DROP COLUMN rollback_checksum")
    migrator = Migrator(db_path, mdir.root, backup=False)
    assert [a.rollback_checksum for a in migrator.applied().values()] == [None, None]
    assert migrator.up().done == []
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT version, rollback_checksum FROM rawdb_migrations ORDER BY version"
        ).fetchall()
    assert rows == [(1, checksum_of("DROP TABLE a;\n")), (2, None)]  # 0002 has no rollback
    (mdir.root / "rollback" / "0001_a.sql").write_text("SELECT 1;\n")
    assert any("0001_a.sql: rollback edited" in p for p in Migrator(db_path, mdir.root).problems())


def test_a_single_set_version_table_gets_rollback_checksums_when_upgraded(
    mdir: MigrationDir, db_path: Path
) -> None:
    """The version table rawdb wrote before migration sets gets the rollback checksums of the
    files on disk when it is rewritten with sets."""
    one_applied(mdir, db_path)
    to_single_set_layout(db_path)
    Migrator(db_path, mdir.root, backup=False).up()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT set_name, rollback_checksum FROM rawdb_migrations").fetchall()
    assert rows == [("rawdb", checksum_of("DROP TABLE a;\n"))]


IRREVERSIBLE = (
    "-- drop the legacy column's data\n"
    "-- rawdb: irreversible=drops the legacy notes, which no rollback can bring back\n"
    "ALTER TABLE a DROP COLUMN notes;\n"
)


def test_an_irreversible_migration_passes_validate_and_stops_down(
    mdir: MigrationDir, db_path: Path, run_cli: RunCli
) -> None:
    """Marked irreversible, a migration needs no rollback file: validate says ok. ``down``
    past it is refused with the author's reason before anything runs (even the newer
    migrations stay applied); ``down`` to it works."""
    mdir.add("0001_a.sql", "-- a\nCREATE TABLE a (x, notes);\n", "DROP TABLE a;\n")
    mdir.add("0002_drop_notes.sql", IRREVERSIBLE, down=None)
    mdir.add("0003_c.sql", "-- c\nCREATE TABLE c (x);\n", "DROP TABLE c;\n")
    code, validated = cli(run_cli, db_path, mdir.root, "validate")
    assert code == 0 and "ok: 3 migrations, no problems" in validated, validated
    assert cli(run_cli, db_path, mdir.root, "up")[0] == 0
    before = db_path.read_bytes()
    code, refused = cli(run_cli, db_path, mdir.root, "down", "--to", "0")
    assert code == 1, refused
    assert "cannot roll back 0002_drop_notes" in refused
    assert "irreversible (drops the legacy notes, which no rollback can bring back)" in refused
    assert db_path.read_bytes() == before
    assert Migrator(db_path, mdir.root).current() == 3
    code, dry_run = cli(run_cli, db_path, mdir.root, "down", "--steps", "2", "--dry-run")
    assert code == 1 and "irreversible" in dry_run
    assert Migrator(db_path, mdir.root, backup=False).down(to=2).done == [3]


def test_irreversible_without_a_reason_and_with_a_rollback(
    mdir: MigrationDir, db_path: Path
) -> None:
    """``-- rawdb: irreversible`` alone is enough; a rollback file beside it contradicts it
    and is a problem."""
    mdir.add("0001_a.sql", "-- a\n-- rawdb: irreversible\nCREATE TABLE a (x);\n", down=None)
    migrator = Migrator(db_path, mdir.root, backup=False)
    assert migrator.problems() == []
    migrator.up()
    with pytest.raises(MigrationStateError, match=r"0001_a.sql is marked irreversible; nothing"):
        migrator.down()
    (mdir.root / "rollback" / "0001_a.sql").write_text("DROP TABLE a;\n")
    problems = Migrator(db_path, mdir.root).problems()
    assert any("marked '-- rawdb: irreversible' but has the rollback file" in p for p in problems)
