"""A real full disk: a small tmpfs fills up under the streaming writer, then grows again."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Migrator, Pool, Settings, StreamConfig, TickRow, TickStream
from rawdb.errors import DiskFull
from rawdb.queries import instruments
from reliability import record

T0 = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs of our own (needs root, as CI and the development machines run)."""
    mount = Path(tempfile.mkdtemp(prefix="rawdb-disk-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
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
