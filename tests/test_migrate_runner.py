"""The migrator's behaviour through its Python API, on real database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rawdb.errors import (
    AdoptionRefused,
    MigrationError,
    MigrationFailed,
    MigrationStateError,
    UsageError,
)
from rawdb.migrate import Migrator
from rawdb.migrate.schema import dump
from reliability import record

from conftest import MigrationDir

PARENT_CHILD = (
    "-- parent and child\n"
    "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
    "CREATE TABLE child (id INTEGER PRIMARY KEY,"
    " parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n"
    "INSERT INTO parent (id) VALUES (1), (2);\n"
    "INSERT INTO child (parent_id) VALUES (1), (1), (2);\n"
)


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
        ).fetchall()
    return [r[0] for r in rows]


def history(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT version, action FROM rawdb_migration_history ORDER BY id"
        ).fetchall()


def test_up_applies_in_order_and_records_versions(mdir: MigrationDir, db_path: Path) -> None:
    """Pending files run in numeric order; each leaves a version row and a history row."""
    mdir.add("0002_b.sql", "CREATE TABLE b (a_id INTEGER REFERENCES a (id));\n", "DROP TABLE b;")
    mdir.add("0001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;")
    result = Migrator(db_path, mdir.root).up()
    assert result.done == [1, 2]
    status = Migrator(db_path, mdir.root).status()
    assert status.current == 2
    assert [a.name for a in status.applied] == ["0001_a", "0002_b"]
    assert status.pending == []
    assert history(db_path) == [(1, "apply"), (2, "apply")]


def test_up_to_stops_at_the_version(mdir: MigrationDir, db_path: Path) -> None:
    """``up --to N`` applies nothing above N."""
    for n in (1, 2, 3):
        mdir.add(f"000{n}_t{n}.sql", f"CREATE TABLE t{n} (x);\n", f"DROP TABLE t{n};")
    Migrator(db_path, mdir.root).up(to=2)
    assert Migrator(db_path, mdir.root).current() == 2
    assert "t3" not in tables(db_path)


def test_failing_migration_rolls_back_whole_and_names_file_and_line(
    mdir: MigrationDir, db_path: Path
) -> None:
    """A failing statement undoes its migration only; earlier ones of the run stay applied."""
    mdir.add("0001_ok.sql", "CREATE TABLE ok (x);\n", "DROP TABLE ok;")
    bad = mdir.add(
        "0002_bad.sql",
        "-- fails halfway\nCREATE TABLE half (x);\n\nINSERT INTO missing VALUES (1);\n",
        "DROP TABLE half;",
    )
    mdir.add("0003_later.sql", "CREATE TABLE later (x);\n", "DROP TABLE later;")
    with pytest.raises(MigrationFailed, match="no such table: missing") as caught:
        Migrator(db_path, mdir.root).up()
    assert caught.value.path == str(bad)
    assert caught.value.line == 4
    assert f"{bad}:4:" in str(caught.value)
    names = tables(db_path)
    assert "ok" in names
    assert "half" not in names
    assert "later" not in names
    assert Migrator(db_path, mdir.root).current() == 1
    assert history(db_path)[-1] == (2, "fail")


def test_foreign_keys_off_rebuild_keeps_children(mdir: MigrationDir, db_path: Path) -> None:
    """A rebuild under the foreign_keys=off header drops the old parent without cascading."""
    mdir.add("0001_base.sql", PARENT_CHILD, "DROP TABLE child; DROP TABLE parent;")
    mdir.add(
        "0002_rebuild.sql",
        "-- rebuild parent\n-- rawdb: foreign_keys=off\n"
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, note TEXT);\n"
        "INSERT INTO parent_new (id) SELECT id FROM parent;\n"
        "DROP TABLE parent;\n"
        "ALTER TABLE parent_new RENAME TO parent;\n",
        "SELECT 1;",
    )
    Migrator(db_path, mdir.root).up()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 3
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0  # new connection default
    canonical = dump(sqlite3.connect(db_path))
    assert "CREATE TABLE parent (id INTEGER PRIMARY KEY, note TEXT);" in canonical


def test_foreign_key_violation_aborts_the_rebuild(mdir: MigrationDir, db_path: Path) -> None:
    """foreign_key_check before commit catches an orphaned child and rolls everything back."""
    mdir.add("0001_base.sql", PARENT_CHILD, "SELECT 1;")
    mdir.add(
        "0002_lossy.sql",
        "-- rebuild that loses a parent\n-- rawdb: foreign_keys=off\n"
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO parent_new (id) SELECT id FROM parent WHERE id = 1;\n"
        "DROP TABLE parent;\n"
        "ALTER TABLE parent_new RENAME TO parent;\n",
        "SELECT 1;",
    )
    with pytest.raises(MigrationFailed, match="foreign key check failed"):
        Migrator(db_path, mdir.root).up()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 3
    assert Migrator(db_path, mdir.root).current() == 1


def test_without_the_header_a_rebuild_is_refused_by_foreign_keys(
    mdir: MigrationDir, db_path: Path
) -> None:
    """With foreign keys on (the default) dropping a referenced parent fails, losing nothing."""
    mdir.add("0001_base.sql", PARENT_CHILD.replace(" ON DELETE CASCADE", ""), "SELECT 1;")
    mdir.add("0002_drop.sql", "DROP TABLE parent;\n", "SELECT 1;")
    with pytest.raises(MigrationFailed, match="FOREIGN KEY constraint failed"):
        Migrator(db_path, mdir.root).up()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 3


def test_down_runs_rollbacks_newest_first(mdir: MigrationDir, db_path: Path) -> None:
    """``down --steps`` and ``--to 0`` undo migrations in reverse order with history rows."""
    mdir.add("0001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;\n")
    mdir.add("0002_b.sql", "CREATE TABLE b (x REFERENCES a (id));\n", "DROP TABLE b;\n")
    migrator = Migrator(db_path, mdir.root, backup=False)
    migrator.up()
    assert migrator.down(steps=1).done == [2]
    assert migrator.current() == 1
    migrator.up()
    assert migrator.down(to=0).done == [2, 1]
    assert migrator.current() == 0
    assert [t for t in tables(db_path) if not t.startswith("rawdb_")] == []
    assert [a for _v, a in history(db_path)] == ["apply"] * 2 + ["rollback"] + ["apply"] + [
        "rollback"
    ] * 2


def test_down_refuses_when_a_rollback_is_missing(mdir: MigrationDir, db_path: Path) -> None:
    """Nothing is rolled back when any file in the way has no rollback."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;\n")
    mdir.add("0002_b.sql", "CREATE TABLE b (x);\n", None)
    migrator = Migrator(db_path, mdir.root, backup=False)
    migrator.up()
    with pytest.raises(MigrationStateError, match="cannot roll back version 0002"):
        migrator.down(to=0)
    assert migrator.current() == 2


def test_backup_is_taken_before_changes_and_reported(mdir: MigrationDir, db_path: Path) -> None:
    """A backup named after the current version holds the data as it was; status shows it."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n", "DROP TABLE a;")
    mdir.add("0002_b.sql", "DELETE FROM a;\n", "INSERT INTO a VALUES (1);")
    Migrator(db_path, mdir.root).up(to=1)
    result = Migrator(db_path, mdir.root).up()
    assert result.backup is not None
    assert result.backup.name.startswith(f"{db_path.name}.v0001.")
    with sqlite3.connect(result.backup) as conn:
        assert conn.execute("SELECT count(*) FROM a").fetchone()[0] == 1
    assert Migrator(db_path, mdir.root).status().backup == str(result.backup)
    assert Migrator(db_path, mdir.root, backup=False).down().backup is None


def test_dry_run_changes_no_byte(mdir: MigrationDir, db_path: Path) -> None:
    """Dry runs of up and down print the SQL and leave the file byte-identical."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;\n")
    mdir.add("0002_b.sql", "CREATE TABLE b (x);\n", "DROP TABLE b;\n")
    Migrator(db_path, mdir.root, backup=False).up(to=1)
    before = db_path.read_bytes()
    printed: list[str] = []
    Migrator(db_path, mdir.root, report=printed.append).up(dry_run=True)
    Migrator(db_path, mdir.root, report=printed.append).down(dry_run=True)
    assert db_path.read_bytes() == before
    # A read-only reader of a WAL database may leave the empty -wal/-shm side files; no backup.
    left = {p.name for p in db_path.parent.iterdir()} - {
        f"{db_path.name}-wal",
        f"{db_path.name}-shm",
    }
    assert left == {db_path.name, "set"}
    text = "\n".join(printed)
    assert "CREATE TABLE b (x);" in text
    assert "DROP TABLE a;" in text


def test_dry_run_on_a_missing_database_creates_nothing(mdir: MigrationDir, db_path: Path) -> None:
    """A dry run against a path with no database does not create one."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;\n")
    Migrator(db_path, mdir.root).up(dry_run=True)
    assert not db_path.exists()


def test_validate_reports_every_kind_of_problem(mdir: MigrationDir, db_path: Path) -> None:
    """Edited, vanished, out-of-order and rollback-less migrations are each named."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;")
    mdir.add("0003_c.sql", "CREATE TABLE c (x);\n", "DROP TABLE c;")
    mdir.add("0004_d.sql", "CREATE TABLE d (x);\n", "DROP TABLE d;")
    Migrator(db_path, mdir.root, backup=False).up()
    assert Migrator(db_path, mdir.root).problems() == []
    (mdir.root / "migrations" / "0001_a.sql").write_text("CREATE TABLE a (x, y);\n")
    (mdir.root / "migrations" / "0004_d.sql").unlink()
    mdir.add("0002_b.sql", "CREATE TABLE b (x);\n", None)
    problems = "\n".join(Migrator(db_path, mdir.root).problems())
    assert "0001_a.sql: edited after it was applied" in problems
    assert "version 0004 (0004_d) is applied but its file is gone" in problems
    assert "pending version 0002 is lower than applied version 0004" in problems
    assert "0002_b.sql: no rollback file" in problems
    with pytest.raises(MigrationStateError, match="refusing to migrate"):
        Migrator(db_path, mdir.root).up()


def test_baseline_adopts_a_matching_database(mdir: MigrationDir, db_path: Path) -> None:
    """baseline records versions without running them once the schema matches."""
    mdir.add("0001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\n", "DROP TABLE a;")
    mdir.add("0002_b.sql", "CREATE INDEX ix_a_v ON a (v);\n", "DROP INDEX ix_a_v;")
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO a (v) VALUES ('kept')")
    Migrator(db_path, mdir.root).baseline(1)
    Migrator(db_path, mdir.root, backup=False).up()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT v FROM a").fetchall() == [("kept",)]
    assert history(db_path) == [(1, "baseline"), (2, "apply")]


def test_baseline_refuses_a_different_schema_unchanged(mdir: MigrationDir, db_path: Path) -> None:
    """A schema that does not match is refused with the differences; the file is untouched."""
    mdir.add("0001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\n", "DROP TABLE a;")
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, w TEXT)")
        conn.execute("CREATE INDEX extra ON a (w)")
    before = db_path.read_bytes()
    with pytest.raises(AdoptionRefused, match="table a: columns differ") as caught:
        Migrator(db_path, mdir.root).baseline(1)
    assert "index extra on a: not created by the migrations" in str(caught.value)
    assert db_path.read_bytes() == before


def test_up_installs_beside_the_applications_own_tables(mdir: MigrationDir, db_path: Path) -> None:
    """A database holding only the application's own tables (none the set creates) is not
    another tool's copy of rawdb's: up backs it up, then applies from 0001 beside them."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;")
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE mine (x)")
        conn.execute("INSERT INTO mine VALUES (1)")
    result = Migrator(db_path, mdir.root).up()
    assert result.done == [1] and result.backup is not None and result.backup.is_file()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT x FROM mine").fetchall() == [(1,)]


def test_up_refuses_an_unknown_database(mdir: MigrationDir, db_path: Path) -> None:
    """up on a database that already holds a table the set creates, with no version table
    and no recognisable revision, changes nothing."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;")
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE a (y)")
        conn.execute("CREATE TABLE mine (x)")
    before = db_path.read_bytes()
    with pytest.raises(AdoptionRefused, match=r"tables rawdb did not create \(a, mine\)"):
        Migrator(db_path, mdir.root).up()
    assert db_path.read_bytes() == before


def test_bad_arguments_are_usage_errors(mdir: MigrationDir, db_path: Path) -> None:
    """Contradictory or out-of-range arguments say what to pass instead."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;")
    migrator = Migrator(db_path, mdir.root)
    with pytest.raises(UsageError, match="either --to or --steps"):
        migrator.down(to=0, steps=1)
    with pytest.raises(UsageError, match="baseline takes a version from 1 to 1"):
        migrator.baseline(5)


def test_a_thousand_migrations_apply_and_validate(mdir: MigrationDir, db_path: Path) -> None:
    """1,000 trivial migrations all apply, once each, and validate clean."""
    for n in range(1, 1001):
        mdir.add(f"{n:04d}_step.sql", f"CREATE TABLE t{n} (x);\n", f"DROP TABLE t{n};\n")
    migrator = Migrator(db_path, mdir.root, backup=False)
    assert len(migrator.up().done) == 1000
    assert Migrator(db_path, mdir.root).problems() == []
    assert Migrator(db_path, mdir.root).current() == 1000


def test_trigger_migration_applies_whole_and_works(mdir: MigrationDir, db_path: Path) -> None:
    """A trigger with semicolons in its body is created whole and fires."""
    mdir.add(
        "0001_audit.sql",
        "-- audited table\n"
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n"
        "CREATE TABLE audit (note TEXT);\n"
        "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO audit VALUES ('a;b');\n"
        "  INSERT INTO audit VALUES (CASE WHEN new.v IS NULL THEN 'none;' ELSE new.v END);\n"
        "END;\n",
        "DROP TABLE audit; DROP TABLE t;",
    )
    Migrator(db_path, mdir.root).up()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO t (v) VALUES (NULL)")
        assert conn.execute("SELECT note FROM audit").fetchall() == [("a;b",), ("none;",)]


def test_transaction_off_header_runs_vacuum(mdir: MigrationDir, db_path: Path) -> None:
    """A file marked transaction=off may run VACUUM, which no transaction allows."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\n", "DROP TABLE a;")
    mdir.add("0002_vacuum.sql", "-- compact\n-- rawdb: transaction=off\nVACUUM;\n", "SELECT 1;")
    assert Migrator(db_path, mdir.root, backup=False).up().done == [1, 2]
    mdir.add("0003_vacuum_in_tx.sql", "-- no header\nVACUUM;\n", "SELECT 1;")
    with pytest.raises(MigrationFailed, match="cannot VACUUM from within a transaction"):
        Migrator(db_path, mdir.root, backup=False).up()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"-- x\nBEGIN;\nCREATE TABLE b (x);\nCOMMIT;\n", "'BEGIN' in a migration file"),
        (b"-- x\nCREATE TABLE b (x);\nINSERT INTO b VALUES ('c);\n", "statement is not complete"),
        (b"-- x\nCREATE TABLE b (x);\nINSERT INTO b VALUES ('\xff');\n", "not valid UTF-8"),
        (b"-- x\nCREATE TABLE b (x);\nCREATE TABLE b (x);\n", "table b already exists"),
        (b"-- x\nCREATE TABEL b (x);\n", "syntax error"),
    ],
)
def test_hostile_files_leave_the_database_unchanged(
    mdir: MigrationDir, db_path: Path, content: bytes, message: str
) -> None:
    """Broken files are refused with a clear message and the database stays byte-identical."""
    mdir.add("0001_a.sql", "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n", "DROP TABLE a;")
    Migrator(db_path, mdir.root, backup=False).up()
    before = db_path.read_bytes()
    mdir.add("0002_bad.sql", content, "SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        Migrator(db_path, mdir.root, backup=False).up()
    with sqlite3.connect(db_path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert "b" not in names
    assert Migrator(db_path, mdir.root).current() == 1
    if "UTF-8" in message or "BEGIN" in message or "complete" in message:
        assert db_path.read_bytes() == before  # refused before the file was opened for writing
    record(
        "hostile migration files (BEGIN/COMMIT inside, unterminated, non-UTF-8, failing "
        "halfway, syntax error)",
        "refused with file:line and the reason; the database at its old version, unchanged",
        ok=True,
    )


def test_crlf_and_bom_migration_applies(mdir: MigrationDir, db_path: Path) -> None:
    """A file saved on Windows (CRLF, BOM) applies like any other."""
    mdir.add("0001_win.sql", b"\xef\xbb\xbf-- windows\r\nCREATE TABLE w (x);\r\n", "DROP TABLE w;")
    Migrator(db_path, mdir.root).up()
    assert "w" in tables(db_path)
