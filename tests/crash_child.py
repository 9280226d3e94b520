"""A child process for crash tests: writes ticks and acknowledges each durable step on stdout.

    python crash_child.py DB bulk|stream

bulk: batches of BATCH ticks via insert_ticks; after each returns, prints "ack <batch>".
stream: ticks one at a time through TickStream, flush every FLUSH ticks; prints "ack <count>".
Each tick's volume is its sequence number, so the parent can tell exactly what was written;
ticks are an hour apart, so the writes cross month boundaries (and make month tables).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb import Pool, Settings, StreamConfig, TickRow, TickStream
from rawdb.log import configure
from rawdb.queries import instruments, ticks

BATCH = 500
FLUSH = 700
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def tick(n: int) -> TickRow:
    # An hour apart: a batch spans about three weeks, so kills land in batches that cross a
    # month boundary and make the next month's table.
    return TickRow(1, T0 + timedelta(hours=n), 100.0 + n % 10, n)


async def main(db: Path, mode: str) -> None:
    async with Pool.open(Settings(database=db), migrate=True) as pool:
        if await instruments.get_instrument(pool, 1) is None:
            await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        print("ready", flush=True)
        if mode == "bulk":
            batch = 0
            while True:
                rows = [tick(batch * BATCH + i) for i in range(BATCH)]
                await ticks.insert_ticks(pool, rows)
                print(f"ack {batch}", flush=True)
                batch += 1
        else:
            async with TickStream(pool, StreamConfig(batch_size=300, max_delay=0.01)) as stream:
                n = 0
                while True:
                    await stream.put(tick(n))
                    n += 1
                    if n % FLUSH == 0:
                        await stream.flush()
                        print(f"ack {n}", flush=True)


if __name__ == "__main__":
    configure(level="error")
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
