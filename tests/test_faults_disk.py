"""A real full disk: a small tmpfs fills up under the streaming writer, then grows again."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Migrator, Pool, Settings, StreamConfig, TickRow, TickStream
from rawdb.errors import DiskFull
from rawdb.migrate import discover, shipped_root
from rawdb.queries import instruments
from reliability import record

T0 = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs of our own (needs root, as CI and the development machines run)."""
    with tmpfs("4m") as mount:
        yield mount


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="rawdb-disk-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def grow(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)


async def test_disk_full_then_space_back_loses_nothing(small_disk: Path) -> None:
    """ENOSPC surfaces as DiskFull, committed ticks stay intact, and once the file system
    grows the writer commits everything that was queued."""
    db = small_disk / "feed.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    total = 60_000
    async with Pool.open(Settings(database=db)) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        config = StreamConfig(batch_size=2_000, max_delay=0.01, retry_base_delay=0.02)
        async with TickStream(pool, config) as stream:
            full = None
            for n in range(total):
                await stream.put(TickRow(es.id, T0 + timedelta(milliseconds=n), 100.0, n))
                if n % 2_000 == 1_999:
                    try:
                        await stream.flush()
                    except DiskFull as exc:
                        full = exc
                        break
            assert full is not None, "the 4 MiB file system never filled up"
            committed = stream.committed
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT count(*) FROM market_data").fetchone()[0] == committed
            grow(small_disk, "64m")
            for rest in range(n + 1, total):
                await stream.put(TickRow(es.id, T0 + timedelta(milliseconds=rest), 100.0, rest))
            await asyncio.wait_for(stream.flush(), timeout=60)
    with sqlite3.connect(db) as conn:
        volumes = [r[0] for r in conn.execute("SELECT volume FROM market_data ORDER BY volume")]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    ok = volumes == list(range(total)) and integrity == "ok" and committed < total
    record(
        "disk full (4 MiB tmpfs) under the streaming writer, then space back",
        "DiskFull raised by flush; committed ticks intact meanwhile; after the file system "
        "grows every queued tick is committed exactly once; integrity_check ok",
        ok=ok,
    )
    assert ok, (len(volumes), committed, integrity)


def migrate_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb.migrate", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_disk_full_during_migrate_up_with_backup(legacy_template: Path) -> None:
    """No room for the backup: refused before anything is touched, saying how much to free;
    the file is byte for byte as it was and no partial backup is left."""
    with tmpfs("16m") as mount:
        db = mount / "tradeassist.sqlite3"
        shutil.copyfile(legacy_template, db)
        before = hashlib.sha256(db.read_bytes()).hexdigest()
        result = migrate_cli(db, "up")
        after = hashlib.sha256(db.read_bytes()).hexdigest()
        left = sorted(p.name for p in mount.iterdir())
    ok = (
        result.returncode == 1
        and "disk full" in result.stderr
        and "MB free" in result.stderr
        and "Nothing was changed" in result.stderr
        and "Traceback" not in result.stderr
        and before == after
        and left == [db.name]
    )
    record(
        "disk full during `migrate up` with its backup (adopted legacy database on a 16 MiB tmpfs)",
        "exit 1 with one message naming the space needed and free, no traceback; the file "
        "unchanged byte for byte; no partial backup left",
        ok=ok,
    )
    assert ok, (result.returncode, result.stderr[-2000:], left)


def test_disk_full_during_migrate_up_without_backup(legacy_template: Path) -> None:
    """The disk fills in the middle of a migration: that migration is rolled back whole, the
    message says how much to free; once there is room, `up` finishes with every row."""
    with sqlite3.connect(legacy_template) as conn:
        rows = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
    with tmpfs("16m") as mount:
        db = mount / "tradeassist.sqlite3"
        shutil.copyfile(legacy_template, db)
        full = migrate_cli(db, "--no-backup", "up")
        with sqlite3.connect(db) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        grow(mount, "128m")
        again = migrate_cli(db, "--no-backup", "up")
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
            version = conn.execute("SELECT max(version) FROM rawdb_migrations").fetchone()[0]
    ok = (
        full.returncode == 1
        and "disk full while running" in full.stderr
        and "rolled back whole" in full.stderr
        and "Traceback" not in full.stderr
        and integrity == "ok"
        and again.returncode == 0
        and stored == rows
        and version == discover(shipped_root()).newest
    )
    record(
        "disk full during `migrate up --no-backup` (adopted legacy database on a 16 MiB tmpfs), "
        "then space back",
        "exit 1 naming the migration and the space to free, no traceback; integrity_check ok; "
        "after the file system grows `up` reaches the newest version with every tick",
        ok=ok,
    )
    assert ok, (full.returncode, full.stderr[-2000:], integrity, again.stderr[-2000:])
