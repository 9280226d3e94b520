"""Opening what cannot be used: read-only files and folders, missing folders, files that are
not SQLite, corrupted pages. Each gives a clear rawdb error and nothing is overwritten."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.errors import CannotOpen, DatabaseCorrupt, RawdbError
from rawdb.migrate import Migrator
from reliability import record

OPEN_AS_NOBODY = """
import asyncio, sys
from rawdb import Pool, Settings
from rawdb.errors import RawdbError
async def main():
    try:
        async with Pool.open(Settings(database=sys.argv[1])) as pool:
            print("opened")
    except RawdbError as exc:
        print(type(exc).__name__, exc)
asyncio.run(main())
"""


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder of the test's own, made writable again afterwards so it can be removed."""
    path = tmp_path / "faults"
    path.mkdir()
    yield path
    path.chmod(0o755)


def migrated_db(path: Path) -> Path:
    Migrator(path, backup=False, settings=Settings(database=path)).up()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")  # no -wal/-shm beside it
    return path


def as_nobody(db: Path) -> str:
    """Open the pool in a child that file permissions bind: root without the capabilities that
    override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). Unlike switching to another user,
    the child can still reach the interpreter and the checkout wherever they lie, private
    folders (mode 700) included."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the check without permission overrides")
    result = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
            sys.executable,
            "-c",
            OPEN_AS_NOBODY,
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return result.stdout + result.stderr


def test_read_only_file_is_refused_clearly(shared_dir: Path) -> None:
    """A database file the user cannot write: ReadOnlyDatabase at open, file untouched."""
    db = migrated_db(shared_dir / "ro.sqlite3")
    db.chmod(0o444)
    before = db.read_bytes()
    out = as_nobody(db)
    ok = out.startswith("ReadOnlyDatabase") and "readonly" in out and db.read_bytes() == before
    record("open a read-only database file", "ReadOnlyDatabase at open; file unchanged", ok=ok)
    assert ok, out


def test_read_only_folder_is_refused_clearly(shared_dir: Path) -> None:
    """A writable file in a folder where the WAL cannot be created: a clear error, no change."""
    db = migrated_db(shared_dir / "rodir.sqlite3")
    db.chmod(0o666)
    shared_dir.chmod(0o555)
    before = db.read_bytes()
    out = as_nobody(db)
    shared_dir.chmod(0o755)
    ok = out.split()[0] in {"ReadOnlyDatabase", "CannotOpen"} and db.read_bytes() == before
    record("open a database in a read-only folder", "clear error at open; file unchanged", ok=ok)
    assert ok, out


async def test_missing_folder_is_refused(tmp_path: Path) -> None:
    """A path in a folder that does not exist: CannotOpen naming it, nothing created."""
    target = tmp_path / "no" / "such" / "dir" / "x.sqlite3"
    with pytest.raises(CannotOpen, match=r"folder .* does not exist"):
        async with Pool.open(Settings(database=target), migrate=True):
            pass
    assert not (tmp_path / "no").exists()
    record("open a database in a missing folder", "CannotOpen; nothing created", ok=True)


async def test_not_a_database_is_refused(tmp_path: Path) -> None:
    """A file that is not SQLite: DatabaseCorrupt naming the file, bytes unchanged."""
    target = tmp_path / "notes.sqlite3"
    target.write_text("these are my trading notes, not a database\n" * 100)
    before = target.read_bytes()
    with pytest.raises(DatabaseCorrupt, match="not an SQLite database"):
        async with Pool.open(Settings(database=target), migrate=True):
            pass
    assert target.read_bytes() == before
    record("open a file that is not SQLite", "DatabaseCorrupt at open; file unchanged", ok=True)


async def test_corrupted_schema_page_is_refused_at_open(tmp_path: Path) -> None:
    """Garbage over the schema page: a DatabaseCorrupt error at open, nothing overwritten."""
    db = migrated_db(tmp_path / "corrupt.sqlite3")
    raw = bytearray(db.read_bytes())
    raw[100:400] = b"\xde\xad\xbe\xef" * 75  # the sqlite_schema b-tree page, after the header
    db.write_bytes(bytes(raw))
    with pytest.raises(RawdbError) as caught:
        async with Pool.open(Settings(database=db)):
            pass
    assert isinstance(caught.value, DatabaseCorrupt), caught.value
    assert db.read_bytes() == bytes(raw)
    record(
        "open a database whose schema page is corrupted",
        "DatabaseCorrupt at open; file unchanged",
        ok=True,
    )
