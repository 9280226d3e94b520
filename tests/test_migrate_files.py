"""Migration files: names, encodings, header options, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from rawdb.errors import MigrationFileError
from rawdb.migrate.files import discover, read_sql_file

from conftest import MigrationDir


def test_crlf_and_bom_do_not_change_the_checksum(tmp_path: Path) -> None:
    """A file re-saved with CRLF endings and a BOM has the same checksum and text."""
    plain, windows = tmp_path / "a.sql", tmp_path / "b.sql"
    plain.write_bytes(b"-- x\nCREATE TABLE a (x);\n")
    windows.write_bytes(b"\xef\xbb\xbf-- x\r\nCREATE TABLE a (x);\r\n")
    assert read_sql_file(plain).checksum == read_sql_file(windows).checksum
    assert read_sql_file(windows).text == "-- x\nCREATE TABLE a (x);\n"


def test_non_utf8_bytes_are_refused_with_line(tmp_path: Path) -> None:
    """Latin-1 bytes are an error naming the file, line and byte."""
    path = tmp_path / "a.sql"
    path.write_bytes(b"-- ok\nINSERT INTO t VALUES ('caf\xe9');\n")
    with pytest.raises(MigrationFileError, match=r"a\.sql:2: not valid UTF-8 \(byte 0xe9"):
        read_sql_file(path)


def test_header_options_are_read(tmp_path: Path) -> None:
    """Description and the rawdb options come from the header comment."""
    path = tmp_path / "a.sql"
    path.write_text(
        "-- rebuild t\n-- rawdb: foreign_keys=off\n-- rawdb: adopt alembic=4524473b46fb\n"
        "CREATE TABLE a (x);\n"
    )
    parsed = read_sql_file(path)
    assert parsed.description == "rebuild t"
    assert parsed.options.foreign_keys_off
    assert not parsed.options.no_transaction
    assert parsed.options.adopt_alembic == "4524473b46fb"


def test_unknown_option_is_refused(tmp_path: Path) -> None:
    """A misspelt option is an error listing the known ones, not a silent comment."""
    path = tmp_path / "a.sql"
    path.write_text("-- x\n-- rawdb: foreign_key=off\nSELECT 1;\n")
    with pytest.raises(MigrationFileError, match=r"a\.sql:2: unknown option"):
        read_sql_file(path)


def test_option_after_sql_is_refused(tmp_path: Path) -> None:
    """An option below the first statement would be ignored, so it is an error."""
    path = tmp_path / "a.sql"
    path.write_text("-- x\nSELECT 1;\n-- rawdb: foreign_keys=off\n")
    with pytest.raises(MigrationFileError, match=r"a\.sql:3: .* stands after SQL"):
        read_sql_file(path)


def test_discover_reports_bad_names_duplicates_and_orphans(mdir: MigrationDir) -> None:
    """Bad names, duplicate numbers (of any width) and rollbacks without migrations are all
    problems."""
    mdir.add("0001_ok.sql", "SELECT 1;\n")
    mdir.add("0001_again.sql", "SELECT 1;\n")
    mdir.add("1_same_number.sql", "SELECT 1;\n")
    mdir.add("short.sql", "SELECT 1;\n")
    mdir.add("0003_.sql", "SELECT 1;\n")
    mdir.add("0004_with space.sql", "SELECT 1;\n")
    (mdir.root / "rollback" / "0009_orphan.sql").write_text("SELECT 1;\n")
    found = discover(mdir.root)
    text = "\n".join(found.problems)
    assert [m.name for m in found.migrations] == ["0001_again"]
    assert "0001_ok.sql: duplicate version 0001" in text
    assert "1_same_number.sql: duplicate version 0001" in text
    assert "short.sql: file name does not match" in text
    assert "0003_.sql: file name does not match" in text
    assert "0004_with space.sql: file name does not match" in text
    assert "0009_orphan.sql: rollback without a migration" in text
