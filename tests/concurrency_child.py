"""A child process for the concurrency test; prints one JSON line with what it did.

python concurrency_child.py DB ingest BATCHES | read SECONDS | migrate TIMES
"""

from __future__ import annotations

import asyncio
import json
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


async def ingest(db: Path, batches: int) -> dict[str, object]:
    async with Pool.open(Settings(database=db)) as pool:
        for b in range(batches):
            rows = [
                TickRow(1 + n % 3, T0 + timedelta(milliseconds=b * BATCH + n), 100.0, 1)
                for n in range(BATCH)
            ]
            await ticks.insert_ticks(pool, rows)
    return {"written": batches * BATCH}


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
