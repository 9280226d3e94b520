"""Migrations that would damage the database or hang the migrator: ATTACH and writable_schema
refused when the file is checked; quick_check and foreign_key_check before every commit; only
regular files read from the migrations folder."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rawdb.errors import MigrationFailed, MigrationFileError
from rawdb.migrate import Migrator
from rawdb.migrate.files import MAX_FILE_BYTES, MIB, discover
from rawdb.migrate.splitter import check_allowed, split
from reliability import record

from conftest import MigrationDir

PARENT_CHILD = (
    "-- parent and child, no cascade\n"
    "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
    "CREATE TABLE child (id INTEGER PRIMARY KEY,"
    " parent_id INTEGER NOT NULL REFERENCES parent (id));\n"
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER CHECK (v > 0));\n"
    "INSERT INTO parent (id) VALUES (1), (2);\n"
    "INSERT INTO child (parent_id) VALUES (1), (1), (2);\n"
)
CLI_TIMEOUT = 30  # a regression that hangs (a FIFO opened) fails instead of blocking the run


def migrated(mdir: MigrationDir, db: Path) -> bytes:
    """Version 1 applied; the file's bytes, to prove a refused migration left them alone."""
    mdir.add("0001_base.sql", PARENT_CHILD, "DROP TABLE t; DROP TABLE child; DROP TABLE parent;")
    Migrator(db, mdir.root, backup=False).up()
    return db.read_bytes()


def migrate_cli(db: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(db), "--dir", str(root), *args],
        cwd=root.parent,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def one_clean_error(result: subprocess.CompletedProcess[str], *parts: str) -> bool:
    """Exit 1, a single 'error:' line naming every part, and no Python traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return (
        result.returncode == 1
        and len(errors) == 1
        and all(part in errors[0] for part in parts)
        and "Traceback" not in result.stderr
    )


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


# --- ATTACH and writable_schema are refused when the file is checked -------------------------


@pytest.mark.parametrize(
    ("body", "line", "word"),
    [
        ("ATTACH DATABASE 'other.sqlite3' AS other;\nCREATE TABLE other.x (a);\n", 3, "ATTACH"),
        ("CREATE TABLE y (a);\n/* copy */ attach 'other.sqlite3' as o;\n", 4, "ATTACH"),
        ("DETACH DATABASE other;\n", 3, "DETACH"),
        ("-- rawdb: transaction=off\nATTACH 'other.sqlite3' AS other;\n", 4, "ATTACH"),
        ("EXPLAIN ATTACH 'other.sqlite3' AS other;\n", 3, "ATTACH"),
    ],
)
def test_attach_is_refused_and_the_database_untouched(
    mdir: MigrationDir, db_path: Path, body: str, line: int, word: str
) -> None:
    """ATTACH/DETACH anywhere a statement starts: refused naming file:line, nothing written."""
    before = migrated(mdir, db_path)
    mdir.add("0002_attach.sql", "-- reach another file\n\n" + body, "SELECT 1;")
    with pytest.raises(MigrationFileError) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    ok = (
        f"0002_attach.sql:{line}: {word}" in message
        and "escapes its transaction and its backup" in message
        and db_path.read_bytes() == before
        and not (mdir.root.parent / "other.sqlite3").exists()
        and not (Path.cwd() / "other.sqlite3").exists()
    )
    record(
        "migration with ATTACH or DETACH (in a transaction, transaction=off, after a comment, "
        "under EXPLAIN)",
        "refused with file:line and why before the database is opened for writing; database "
        "byte-identical, no attached file created",
        ok=ok,
    )
    assert ok, message


@pytest.mark.parametrize(
    "pragma",
    [
        "PRAGMA writable_schema=ON;",
        "PRAGMA main.writable_schema = 1;",
        "pragma\n  MAIN . Writable_Schema\n  = reset;",
        'PRAGMA "writable_schema" = 1;',
        "PRAGMA /* quietly */ writable_schema -- on\n = 1;",
        "EXPLAIN PRAGMA writable_schema=1;",
        "PRAGMA writable_schema;",
    ],
)
def test_writable_schema_is_refused_and_the_database_untouched(
    mdir: MigrationDir, db_path: Path, pragma: str
) -> None:
    """Any spelling of PRAGMA writable_schema (even EXPLAIN, which still sets it) is refused."""
    before = migrated(mdir, db_path)
    mdir.add(
        "0002_hand_edit.sql",
        f"-- rewrite the schema by hand\n{pragma}\n"
        "UPDATE sqlite_schema SET sql = 'CREATE TABLE t (broken' WHERE name = 't';\n",
        "SELECT 1;",
    )
    with pytest.raises(MigrationFileError) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    line = 2 + pragma.lower().split("writable_schema")[0].count("\n")  # the pragma name's line
    ok = (
        f"0002_hand_edit.sql:{line}: PRAGMA writable_schema" in message
        and "SQLite cannot open" in message
        and db_path.read_bytes() == before
    )
    record(
        "migration with PRAGMA writable_schema (any case, spacing, comments, schema prefix, "
        "quoting, EXPLAIN)",
        "refused with file:line and why before the database is opened for writing; database "
        "byte-identical",
        ok=ok,
    )
    assert ok, message


@pytest.mark.parametrize(
    ("pragma", "why"),
    [
        ("PRAGMA schema_version = 1;", "can corrupt the database"),
        ("PRAGMA main.schema_version=99;", "can corrupt the database"),
        ("PRAGMA journal_mode = DELETE;", "WAL mode"),
        ("PRAGMA locking_mode=EXCLUSIVE;", "shut every other connection out"),
    ],
)
def test_pragmas_that_change_the_file_itself_are_refused(
    mdir: MigrationDir, db_path: Path, pragma: str, why: str
) -> None:
    """A migration may not set SQLite's schema counter, the journal mode or the locking mode."""
    before = migrated(mdir, db_path)
    mdir.add("0002_settings.sql", f"CREATE TABLE later (x);\n{pragma}\n", "DROP TABLE later;")
    with pytest.raises(MigrationFileError) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    name = re.split(r"[ =.]+", pragma)[-2]  # the word before the value
    ok = (
        f"0002_settings.sql:2: PRAGMA {name}" in message
        and why in message
        and db_path.read_bytes() == before
    )
    record(
        "migration setting PRAGMA schema_version, journal_mode or locking_mode",
        "refused with file:line and why before the database is opened for writing; database "
        "byte-identical",
        ok=ok,
    )
    assert ok, message


def test_the_words_in_strings_comments_and_names_are_not_refused(
    mdir: MigrationDir, db_path: Path
) -> None:
    """ATTACH and writable_schema as data, comments or parts of names are ordinary SQL."""
    migrated(mdir, db_path)
    mdir.add(
        "0002_words.sql",
        "-- ATTACH 'x' AS y; PRAGMA writable_schema = 1;\n"
        'CREATE TABLE notes (attach_count INTEGER, "attach" TEXT, writable_schema TEXT);\n'
        "/* DETACH y; */\n"
        "INSERT INTO notes VALUES (1, 'ATTACH DATABASE x AS y', 'PRAGMA writable_schema=1');\n"
        "UPDATE notes SET attach_count = attach_count + 1;\n",
        "DROP TABLE notes;",
    )
    assert Migrator(db_path, mdir.root, backup=False).up().done == [2]
    assert rows(db_path, "SELECT attach_count FROM notes") == [(2,)]


@pytest.mark.parametrize("pragma", ["PRAGMA main.foreign_keys=OFF;", "PRAGMA/**/foreign_keys=0;"])
def test_foreign_keys_pragma_with_a_prefix_is_refused(pragma: str) -> None:
    """Outside a transaction it would really switch foreign keys off for the next files."""
    with pytest.raises(MigrationFileError, match=r"f\.sql:1: PRAGMA foreign_keys"):
        check_allowed(split(pragma), "f.sql", in_transaction=False)


def test_attach_is_refused_by_the_cli_once_without_traceback(
    mdir: MigrationDir, db_path: Path
) -> None:
    """The CLI prints the refusal as one error line and exits 1."""
    before = migrated(mdir, db_path)
    mdir.add("0002_attach.sql", "-- x\nATTACH 'other.sqlite3' AS other;\n", "SELECT 1;")
    result = migrate_cli(db_path, mdir.root, "--no-backup", "up")
    ok = one_clean_error(result, "0002_attach.sql:2: ATTACH") and db_path.read_bytes() == before
    record(
        "migration with ATTACH, through the CLI",
        "exit 1, one error line with file:line, no traceback; database byte-identical",
        ok=ok,
    )
    assert ok, result.stderr


# --- quick_check and foreign_key_check before every commit -----------------------------------

ORPHANS = {
    "child inserted without its parent": (
        "PRAGMA defer_foreign_keys = ON;\nINSERT INTO child (id, parent_id) VALUES (10, 99);\n",
        "child rowid 10 -> missing parent row",
    ),
    "parent deleted under its children": (
        "PRAGMA defer_foreign_keys = ON;\nDELETE FROM parent WHERE id = 2;\n",
        "child rowid 3 -> missing parent row",
    ),
    "orphan in a table renamed afterwards": (
        "PRAGMA defer_foreign_keys = ON;\nINSERT INTO child (id, parent_id) VALUES (10, 99);\n"
        "ALTER TABLE child RENAME TO kid;\n",
        "kid rowid 10 -> missing parent row",
    ),
}


@pytest.mark.parametrize("case", sorted(ORPHANS))
def test_deferred_foreign_key_violation_is_caught_before_commit(
    mdir: MigrationDir, db_path: Path, case: str
) -> None:
    """Deferred foreign keys let a violation reach COMMIT; the check names it and rolls back."""
    migrated(mdir, db_path)
    body, shown = ORPHANS[case]
    mdir.add("0002_orphan.sql", f"-- {case}\n{body}", "SELECT 1;")
    with pytest.raises(MigrationFailed) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    ok = (
        "0002_orphan.sql: foreign key check failed (1 violations: " in message
        and shown in message
        and "nothing of it was changed" in message
        and caught.value.version == 2
        and Migrator(db_path, mdir.root).current() == 1
        and rows(db_path, "SELECT id, parent_id FROM child") == [(1, 1), (2, 1), (3, 2)]
        and rows(db_path, "SELECT id FROM parent") == [(1,), (2,)]
    )
    record(
        "foreign key violation reaching commit under PRAGMA defer_foreign_keys (orphan child, "
        "deleted parent, orphan in a renamed table)",
        "MigrationFailed naming the file and the orphan rows; rolled back, data and version as "
        "before",
        ok=ok,
    )
    assert ok, message


def test_rollback_file_breaking_a_foreign_key_is_caught(mdir: MigrationDir, db_path: Path) -> None:
    """The down direction is checked the same way: the rollback is undone, version kept."""
    migrated(mdir, db_path)
    mdir.add(
        "0002_extra.sql",
        "-- one more parent\nINSERT INTO parent (id) VALUES (3);\n",
        "-- undo, badly\nPRAGMA defer_foreign_keys = ON;\nDELETE FROM parent WHERE id >= 2;\n",
    )
    Migrator(db_path, mdir.root, backup=False).up()
    with pytest.raises(MigrationFailed) as caught:
        Migrator(db_path, mdir.root, backup=False).down()
    message = str(caught.value)
    ok = (
        "rollback/0002_extra.sql: foreign key check failed" in message
        and "0002_extra (rollback) was rolled back whole" in message
        and Migrator(db_path, mdir.root).current() == 2
        and rows(db_path, "SELECT id FROM parent") == [(1,), (2,), (3,)]
    )
    record(
        "rollback file that orphans children (deferred foreign keys)",
        "MigrationFailed naming the rollback file and the orphans; parents and version intact",
        ok=ok,
    )
    assert ok, message


def test_check_constraint_violation_is_caught_by_quick_check(
    mdir: MigrationDir, db_path: Path
) -> None:
    """ignore_check_constraints lets a bad row in; quick_check before commit finds it."""
    migrated(mdir, db_path)
    mdir.add(
        "0002_bad_value.sql",
        "-- a row its CHECK refuses\nPRAGMA ignore_check_constraints = ON;\n"
        "INSERT INTO t (id, v) VALUES (1, -5);\n",
        "SELECT 1;",
    )
    with pytest.raises(MigrationFailed) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    ok = (
        "0002_bad_value.sql: quick_check found 1 problems (CHECK constraint failed in t)" in message
        and "nothing of it was changed" in message
        and rows(db_path, "SELECT count(*) FROM t") == [(0,)]
        and Migrator(db_path, mdir.root).current() == 1
    )
    record(
        "CHECK violation reaching commit under PRAGMA ignore_check_constraints",
        "MigrationFailed naming the file and quick_check's finding; rolled back",
        ok=ok,
    )
    assert ok, message


@pytest.mark.parametrize(
    ("header", "body", "finding"),
    [
        (
            "-- rawdb: foreign_keys=off\n",
            "INSERT INTO child (id, parent_id) VALUES (10, 99);\n",
            "foreign key check failed (1 violations: child rowid 10 -> missing parent row)",
        ),
        (
            "",
            "PRAGMA ignore_check_constraints = ON;\nINSERT INTO t (id, v) VALUES (1, -5);\n",
            "quick_check found 1 problems (CHECK constraint failed in t)",
        ),
    ],
)
def test_transaction_off_file_is_checked_before_its_version_is_recorded(
    mdir: MigrationDir, db_path: Path, header: str, body: str, finding: str
) -> None:
    """Outside a transaction the statements have run; the version row is then refused."""
    migrated(mdir, db_path)
    mdir.add(
        "0002_loose.sql", f"-- outside\n-- rawdb: transaction=off\n{header}{body}", "SELECT 1;"
    )
    with pytest.raises(MigrationFailed) as caught:
        Migrator(db_path, mdir.root, backup=False).up()
    message = str(caught.value)
    ok = (
        f"0002_loose.sql: {finding} after its statements ran" in message
        and "its version was not recorded" in message
        and Migrator(db_path, mdir.root).current() == 1
        and rows(db_path, "SELECT version, action FROM rawdb_migration_history")[-1] == (2, "fail")
        and rows(db_path, "PRAGMA foreign_keys") == [(0,)]  # a new connection's default
    )
    record(
        "transaction=off migration leaving a foreign key or CHECK violation",
        "MigrationFailed saying the statements ran and the version was not recorded; version "
        "stays at the previous one",
        ok=ok,
    )
    assert ok, message


def test_deferred_violation_through_the_cli_is_one_error(mdir: MigrationDir, db_path: Path) -> None:
    """Before the check, COMMIT's own refusal escaped the CLI as a traceback."""
    migrated(mdir, db_path)
    body, _shown = ORPHANS["child inserted without its parent"]
    mdir.add("0002_orphan.sql", f"-- orphan\n{body}", "SELECT 1;")
    result = migrate_cli(db_path, mdir.root, "--no-backup", "up")
    ok = one_clean_error(result, "0002_orphan.sql", "foreign key check failed", "child rowid 10")
    record(
        "deferred foreign key violation, through the CLI",
        "exit 1, one error line naming the file and the orphan, no traceback",
        ok=ok,
    )
    assert ok, result.stderr


def test_checks_cover_what_the_migration_touched_not_old_damage_elsewhere(
    mdir: MigrationDir, db_path: Path
) -> None:
    """An orphan from before the migrator (foreign keys were off) does not block an unrelated
    migration; one that writes the orphan's table is stopped by it."""
    migrated(mdir, db_path)
    with sqlite3.connect(db_path) as conn:  # foreign keys off: a legacy writer's orphan
        conn.execute("INSERT INTO child (id, parent_id) VALUES (50, 77)")
    mdir.add("0002_other.sql", "-- unrelated\nCREATE TABLE other (x);\n", "DROP TABLE other;")
    assert Migrator(db_path, mdir.root, backup=False).up().done == [2]
    mdir.add("0003_child.sql", "-- touches child\nUPDATE child SET id = id;\n", "SELECT 1;")
    with pytest.raises(MigrationFailed, match="child rowid 50 -> missing parent row"):
        Migrator(db_path, mdir.root, backup=False).up()


# --- only regular files are read from the migrations folder ---------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()
    (path / "inner.sql").write_text("SELECT 1;\n")


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "gone.sql")


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _oversized(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: 17 MiB on paper, nothing on disk
        handle.truncate(17 * MIB)


ENTRIES = {
    "FIFO": (_fifo, "is a FIFO"),
    "directory": (_directory, "is a directory"),
    "dangling symlink": (_dangling, "is a dangling symlink"),
    "symlink to /dev/zero": (_dev_zero, "is a character device (a symlink to /dev/zero)"),
    "17 MiB file": (_oversized, "is 17.0 MiB (17,825,792 bytes), over the 16 MiB limit"),
}


@pytest.mark.parametrize("folder", ["migrations", "rollback"])
@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_entry_that_is_not_a_regular_file_is_refused_quickly(
    mdir: MigrationDir, db_path: Path, kind: str, folder: str
) -> None:
    """Each refused naming the path and what it is, in seconds; the database untouched."""
    before = migrated(mdir, db_path)
    make, what = ENTRIES[kind]
    if folder == "rollback":
        mdir.add("0002_next.sql", "-- next\nCREATE TABLE n (x);\n", down=None)
    bad = mdir.root / folder / "0002_next.sql"
    make(bad)
    started = time.monotonic()
    result = migrate_cli(db_path, mdir.root, "--no-backup", "up")
    seconds = time.monotonic() - started
    ok = one_clean_error(result, f"{bad}: {what}") and db_path.read_bytes() == before
    record(
        f"{folder}/ entry named like a migration that is not a regular file ({kind})",
        f"`up` exits 1 within {CLI_TIMEOUT} s naming the path and what it is, one error line, "
        "no traceback; database byte-identical",
        ok=ok,
        note=f"{seconds:.1f} s",
    )
    assert ok, result.stderr


def test_symlink_to_a_regular_file_and_the_size_limit_itself_are_fine(mdir: MigrationDir) -> None:
    """A symlinked migration is read; a file of exactly the limit is accepted."""
    target = mdir.root.parent / "shared.sql"
    target.write_text("-- shared\nCREATE TABLE s (x);\n")
    (mdir.root / "migrations" / "0001_shared.sql").symlink_to(target)
    at_limit = mdir.add("0002_big.sql", "", down=None)
    with at_limit.open("wb") as handle:
        handle.write(b"-- big\n" + b" " * (MAX_FILE_BYTES - 7))
    found = discover(mdir.root)
    assert [m.name for m in found.migrations] == ["0001_shared", "0002_big"]
    assert found.migrations[0].up.text == "-- shared\nCREATE TABLE s (x);\n"


def test_other_folders_and_files_keep_their_old_treatment(mdir: MigrationDir) -> None:
    """A folder not named *.sql is skipped; a FIFO not named like a migration is only a
    naming problem, never opened."""
    mdir.add("0001_a.sql", "SELECT 1;\n")
    (mdir.root / "migrations" / "old").mkdir()
    os.mkfifo(mdir.root / "migrations" / "notes")
    found = discover(mdir.root)
    assert [m.name for m in found.migrations] == ["0001_a"]
    assert any("notes: file name does not match" in p for p in found.problems)
