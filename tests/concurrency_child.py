"""A child process for the concurrency test; prints one JSON line with what it did.

python concurrency_child.py DB ingest BATCHES | read SECONDS | migrate TIMES | maintain TIMES
python concurrency_child.py DB feed FIRST BATCHES   (prints "ack N" after each commit)
python concurrency_child.py DB peek SECONDS         (plain sqlite3, no rawdb connection)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb import Migrator, Pool, Settings, TickRow
from rawdb.errors import RawdbError
from rawdb.log import configure
from rawdb.partitions import premake
from rawdb.queries import ticks

BATCH = 1_000
T0 = datetime(2026, 1, 5, tzinfo=UTC)
FEED_T0 = datetime(2026, 1, 31, 23, 59, 58, tzinfo=UTC)  # the first feed crosses into February


async def ingest(db: Path, batches: int) -> dict[str, object]:
    async with Pool.open(Settings(database=db)) as pool:
        for b in range(batches):
            rows = [
                TickRow(1 + n % 3, T0 + timedelta(milliseconds=b * BATCH + n), 100.0, 1)
                for n in range(BATCH)
            ]
            await ticks.insert_ticks(pool, rows)
    return {"written": batches * BATCH}


async def feed(db: Path, first: int, batches: int) -> dict[str, object]:
    """Ticks numbered from ``first``, one millisecond apart; each commit acknowledged on stdout."""
    acknowledged = 0
    async with Pool.open(Settings(database=db)) as pool:
        for b in range(batches):
            start = first + b * BATCH
            rows = [
                TickRow(1 + n % 3, FEED_T0 + timedelta(milliseconds=start + n), 100.0, start + n)
                for n in range(BATCH)
            ]
            acknowledged += await ticks.insert_ticks(pool, rows)
            print(f"ack {acknowledged}", flush=True)
    return {"written": acknowledged}


def peek(db: Path, seconds: float) -> dict[str, object]:
    """Another program: open, read once, close, again and again (the sqlite3 shell's way)."""
    reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = sqlite3.connect(db, timeout=10)
        try:
            conn.execute("SELECT count(*) FROM market_data").fetchone()
        finally:
            conn.close()
        reads += 1
    return {"reads": reads}


async def read(db: Path, seconds: float) -> dict[str, object]:
    reads, errors, last = 0, [], 0
    monotonic = True
    async with Pool.open(Settings(database=db)) as pool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                latest = await ticks.latest_ticks(pool)
                await ticks.tick_range(pool, 1, T0, T0 + timedelta(days=1), limit=10)
                reads += 1
                newest = max((t.timestamp for t in latest), default=T0)
                step = int((newest - T0).total_seconds() * 1000)
                monotonic = monotonic and step >= last  # a reader never sees time go back
                last = step
            except RawdbError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    return {"reads": reads, "errors": errors, "monotonic": monotonic}


async def maintain(db: Path, times: int) -> dict[str, object]:
    """What `python -m rawdb.partitions maintain` does, repeatedly."""
    errors = []
    async with Pool.open(Settings(database=db)) as pool:
        for _ in range(times):
            try:
                await premake(pool)
            except RawdbError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(0.05)
    return {"runs": times, "errors": errors}


def migrate(db: Path, times: int) -> dict[str, object]:
    errors = []
    for _ in range(times):
        try:
            migrator = Migrator(db, backup=False, settings=Settings(database=db))
            migrator.up()
            migrator.status()
        except RawdbError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    return {"runs": times, "errors": errors}


def main() -> None:
    configure(level="error")
    db, mode, amount = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    try:
        if mode == "ingest":
            result = asyncio.run(ingest(db, int(amount)))
        elif mode == "feed":
            result = asyncio.run(feed(db, int(amount), int(sys.argv[4])))
        elif mode == "peek":
            result = peek(db, float(amount))
        elif mode == "read":
            result = asyncio.run(read(db, float(amount)))
        elif mode == "maintain":
            result = asyncio.run(maintain(db, int(amount)))
        else:
            result = migrate(db, int(amount))
    except RawdbError as exc:
        result = {"fatal": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
