"""A reader process for the benchmark: a dashboard refreshing at a fixed rate.

    python tools/bench_reader.py DB HZ [SECONDS]

Each refresh reads the latest tick of every instrument, the latest tick of one, and the last
hour of one, through its own pool, as a second process of the application would. Without
SECONDS it runs until killed; with it, it stops then and prints one JSON object with p50/p99
of each query in milliseconds (latency seen from outside the writing process).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rawdb import Pool, Settings, log
from rawdb.queries import ticks


async def timed(samples: list[float], call: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await call()
    samples.append(time.perf_counter() - started)
    return result


async def main(db: Path, hz: float, seconds: float | None) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"latest_tick_all": [], "latest_tick_one": [], "range_1h": []}
    deadline = None if seconds is None else time.monotonic() + seconds
    going = asyncio.Event()
    going.set()
    # SIGUSR1 pauses between refreshes and resumes (the benchmark takes turns with and
    # without readers).
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGUSR1, lambda: going.clear() if going.is_set() else going.set()
    )
    async with Pool.open(Settings(database=db, readers=1)) as pool:
        if deadline is None:
            print("ready", flush=True)  # the signal handler is in place
        while deadline is None or time.monotonic() < deadline:
            await going.wait()
            started = time.perf_counter()
            latest = await timed(samples["latest_tick_all"], lambda: ticks.latest_ticks(pool))
            newest = max(t.timestamp for t in latest)
            await timed(samples["latest_tick_one"], lambda: ticks.latest_tick(pool, 7))
            await timed(
                samples["range_1h"],
                lambda end=newest: ticks.tick_range(pool, 7, end - timedelta(hours=1), end),
            )
            await asyncio.sleep(max(0.0, 1 / hz - (time.perf_counter() - started)))
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000, 3),
        "samples": len(ordered),
    }


if __name__ == "__main__":
    log.configure(level="error")
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else None
    result = asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2]), limit))
    print(json.dumps({name: summary(s) for name, s in result.items() if s}))
