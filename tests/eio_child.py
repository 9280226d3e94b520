"""Child of the I/O-error test: streams ticks in rounds, flushing after each, and reports.

    LD_PRELOAD=eio.so RAWDB_EIO_TRIGGER=FILE python eio_child.py DB ROUNDS

Prints "ok <committed>" or "error <class>" per round, then "done <committed> <rejected>".
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb import Pool, PoolConfig, Settings, StreamConfig, TickRow, TickStream
from rawdb.errors import RawdbError
from rawdb.log import configure
from rawdb.queries import instruments

ROUND = 2_000
T0 = datetime(2026, 1, 5, tzinfo=UTC)


async def main(db: Path, rounds: int) -> None:
    # A short breaker cool-down: the test waits for recovery, not for the default 30 s.
    config = PoolConfig(breaker_cooldown=1.0)
    async with Pool.open(Settings(database=db), config=config, migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        stream_config = StreamConfig(
            batch_size=1_000, max_delay=0.01, retry_base_delay=0.02, retry_max_delay=0.2
        )
        async with TickStream(pool, stream_config) as stream:
            for r in range(rounds):
                for i in range(ROUND):
                    n = r * ROUND + i
                    await stream.put(TickRow(es.id, T0 + timedelta(milliseconds=n), 100.0, n))
                try:
                    await stream.flush()
                    print(f"ok {stream.committed}", flush=True)
                except RawdbError as exc:
                    print(f"error {type(exc).__name__} {exc}", flush=True)
                await asyncio.sleep(0.05)
            while True:
                try:
                    await stream.flush()
                    break
                except RawdbError:
                    await asyncio.sleep(0.1)
            print(f"done {stream.committed} {len(stream.rejected)}", flush=True)


if __name__ == "__main__":
    configure(level="critical")
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
