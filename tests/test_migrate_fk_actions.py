"""A table rebuild never deletes or changes child rows through foreign-key actions unasked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rawdb.errors import MigrationFailed
from rawdb.migrate import Migrator

from conftest import MigrationDir

PARENT = """-- parent and children
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE TABLE tags (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts (id));
INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
INSERT INTO orders VALUES (1, 1), (2, 1), (3, 2);
INSERT INTO notes VALUES (1, 1), (2, NULL), (3, 2);
INSERT INTO tags VALUES (1, 1);
"""
REBUILD = """-- add a column the way a tool with foreign keys off writes it
{header}
CREATE TABLE new_accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag INTEGER);
INSERT INTO new_accounts (id, name) SELECT id, name FROM accounts;
DROP TABLE accounts;
ALTER TABLE new_accounts RENAME TO accounts;
"""


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            "orders": conn.execute("SELECT count(*) FROM orders").fetchone()[0],
            "notes linked": conn.execute("SELECT count(account_id) FROM notes").fetchone()[0],
        }


def test_a_rebuild_with_foreign_keys_on_is_refused_naming_the_children(
    mdir: MigrationDir, db_path: Path
) -> None:
    """DROP TABLE of a parent whose CASCADE and SET NULL children hold rows: refused with the
    tables, the rows and the header that makes the rebuild safe; nothing is changed."""
    mdir.add("0001_accounts.sql", PARENT, "DROP TABLE tags; DROP TABLE notes; DROP TABLE orders;")
    mdir.add("0002_rebuild.sql", REBUILD.format(header=""), "")
    migrator = Migrator(db_path, mdir.root, backup=False)
    migrator.up(to=1)
    with pytest.raises(MigrationFailed) as caught:
        migrator.up()
    message = str(caught.value)
    assert "0002_rebuild.sql:5" in message
    assert "3 row(s) of orders (account_id ON DELETE CASCADE) would be deleted" in message
    # notes 2 points at no account: the action does not reach it.
    assert "2 row(s) of notes (account_id ON DELETE SET NULL) would be set to NULL" in message
    assert "-- rawdb: foreign_keys=off" in message and "tags" not in message
    assert counts(db_path) == {"orders": 3, "notes linked": 2}
    assert migrator.current() == 1


def test_the_same_rebuild_under_foreign_keys_off_keeps_every_child_row(
    mdir: MigrationDir, db_path: Path
) -> None:
    mdir.add("0001_accounts.sql", PARENT, "")
    mdir.add("0002_rebuild.sql", REBUILD.format(header="-- rawdb: foreign_keys=off"), "")
    Migrator(db_path, mdir.root, backup=False).up()
    assert counts(db_path) == {"orders": 3, "notes linked": 2}


def test_rows_deleted_on_purpose_first_pass(mdir: MigrationDir, db_path: Path) -> None:
    """Deleting the children (or the parent's rows) explicitly is the author's choice."""
    mdir.add("0001_accounts.sql", PARENT, "")
    mdir.add(
        "0002_drop.sql",
        "-- retire accounts\nDELETE FROM tags;\nDELETE FROM accounts;\nDROP TABLE accounts;\n",
        "",
    )
    assert Migrator(db_path, mdir.root, backup=False).up().done == [1, 2]
    assert counts(db_path) == {"orders": 0, "notes linked": 0}
