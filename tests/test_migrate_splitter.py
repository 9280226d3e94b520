"""Statement splitting: SQLite decides where statements end."""

from __future__ import annotations

import pytest

from rawdb.errors import MigrationFileError
from rawdb.migrate.splitter import check_allowed, split

TRIGGER_FILE = """-- header comment; with a semicolon
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);

/* block comment; also with one */
CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
  UPDATE t SET v = CASE WHEN new.v = ';' THEN 'semi;colon' ELSE new.v END WHERE id = new.id;
  INSERT INTO t (v) SELECT 'x' WHERE 0;
END;
INSERT INTO t (v) VALUES ('it''s; fine');
"""


def test_trigger_body_and_strings_stay_whole() -> None:
    """A trigger with semicolons in its body, CASE … END and quoted ';' make one statement each."""
    statements = split(TRIGGER_FILE)
    assert [s.sql.split()[0:2] for s in statements] == [
        ["CREATE", "TABLE"],
        ["CREATE", "TRIGGER"],
        ["INSERT", "INTO"],
    ]
    assert statements[1].sql.rstrip().endswith("END;")
    assert [s.line for s in statements] == [2, 5, 9]


def test_comment_only_file_has_no_statements() -> None:
    """A file of comments yields nothing to run."""
    assert split("-- nothing here\n/* nor; here */\n") == []


def test_unterminated_statement_names_the_line() -> None:
    """A statement left open (an unclosed string) is refused with the line it starts on."""
    with pytest.raises(MigrationFileError, match=r"f\.sql:3: statement is not complete"):
        split("CREATE TABLE a (x);\n\nINSERT INTO a VALUES ('x);\n", "f.sql")


def test_a_final_statement_without_its_semicolon_is_accepted() -> None:
    """SQLite runs a last statement that lacks its ';' (so does the migrator), a trailing
    comment or not; a trigger missing its END is still refused."""
    statements = split("CREATE TABLE a (x);\n\nCREATE TABLE b (y) -- no semicolon\n", "f.sql")
    assert [(s.sql, s.line) for s in statements] == [
        ("CREATE TABLE a (x);", 1),
        ("CREATE TABLE b (y) -- no semicolon", 3),
    ]
    assert len(split("CREATE TRIGGER x AFTER INSERT ON a BEGIN SELECT 1; END")) == 1
    with pytest.raises(MigrationFileError, match="not complete"):
        split("CREATE TRIGGER x AFTER INSERT ON a BEGIN SELECT 1;", "f.sql")


def test_unclosed_trigger_is_refused() -> None:
    """A trigger missing its END is not silently cut at an inner ';'."""
    with pytest.raises(MigrationFileError, match="BEGIN…END"):
        split("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;\n", "f.sql")


@pytest.mark.parametrize("word", ["BEGIN", "BEGIN IMMEDIATE", "COMMIT", "END", "ROLLBACK"])
def test_transaction_statements_are_refused(word: str) -> None:
    """A file carrying its own transaction control is refused before anything runs."""
    statements = split(f"CREATE TABLE a (x);\n{word};\n")
    with pytest.raises(MigrationFileError, match=rf"f\.sql:2: '{word.split(maxsplit=1)[0]}'"):
        check_allowed(statements, "f.sql")


def test_rollback_to_savepoint_is_allowed() -> None:
    """Savepoints inside the migration's transaction are fine."""
    statements = split("SAVEPOINT s;\nROLLBACK TO s;\nRELEASE s;\n")
    check_allowed(statements, "f.sql")


def test_pragma_foreign_keys_is_refused_with_the_header_to_use() -> None:
    """PRAGMA foreign_keys would be a no-op inside the transaction; the error names the header."""
    with pytest.raises(MigrationFileError, match="-- rawdb: foreign_keys=off"):
        check_allowed(split("PRAGMA foreign_keys = OFF;\n"), "f.sql")
