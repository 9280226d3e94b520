"""The reads a trading screen makes, while the feed runs and while it does not, in one run.

    python tools/bench_screen.py DB END    (the reader process: reads until its stdin
                                            closes, then prints its samples as JSON)

The ingesting process alternates: it feeds the streaming writer for PHASE seconds, then
stays idle for as long, and so on until the probe ticks are in. The feed is a live one: ticks
arrive FEED_RATE a second in bursts each millisecond (a market data socket's pace, 60 times
the seeds' 10,000 a minute), stamped as densely as they arrive, so a batch makes about as many
bars as a live feed's does. Its own reader runs the reads of a screen throughout, and so does a
reader in another process; every sample is filed under the phase it started in, so
"ingesting" and "idle" figures come from the same minutes of the same machine. The reads: the
latest tick of one instrument, the latest of every instrument, one instrument's last hour of
ticks, its 1-minute bars of a day and its 1-hour bars of a month as columns (``ohlc_series``,
what a chart draws). The last three end where the stored history ends. Apart, with nothing
else running: the day's 1-minute bars as models (``ohlc_bars``) and as columns, taking turns
(models in the screen would make the collector's full passes land on every other read).
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench_common import percentiles
from rawdb import Pool, Settings, log
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.queries import ticks as tick_queries

PHASE = 1.5
"""Seconds of each ingesting or idle phase."""
PAUSE = 0.002
"""Seconds a screen waits between two rounds of its reads (a busy screen, 500 refreshes/s)."""
FEED_RATE = 10_000
"""Ticks a second the feed puts while it runs."""
BURST_S = 0.001
P99_TARGETS_MS = {
    "latest_tick": 1.0,
    "latest_of_100": 2.0,
    "range_1h": 5.0,
    "bars_1m_day": 5.0,
    "bars_1h_month": 5.0,
}
"""The p99 a screen's read must keep while the feed runs, in this process or another."""
INSTRUMENT = 7

Read = Callable[[], Awaitable[Any]]


def screen(pool: Pool, end: datetime) -> dict[str, Read]:
    """The screen's reads, over history that ends at ``end``."""
    return {
        "latest_tick": lambda: tick_queries.latest_tick(pool, INSTRUMENT),
        "latest_of_100": lambda: tick_queries.latest_ticks(pool),
        "range_1h": lambda: tick_queries.tick_range(
            pool, INSTRUMENT, end - timedelta(hours=1), end
        ),
        "bars_1m_day": lambda: tick_queries.ohlc_series(
            pool, INSTRUMENT, end - timedelta(days=1), end, "1m"
        ),
        "bars_1h_month": lambda: tick_queries.ohlc_series(
            pool, INSTRUMENT, end - timedelta(days=30), end, "1h"
        ),
    }


async def read_until(
    reads: dict[str, Read], stop: Callable[[], bool]
) -> list[tuple[float, str, float]]:
    """(monotonic start, read, seconds) of every read, round after round, until ``stop()``."""
    samples: list[tuple[float, str, float]] = []
    while not stop():
        for name, read in reads.items():
            began = time.monotonic()
            await read()
            samples.append((began, name, time.monotonic() - began))
        await asyncio.sleep(PAUSE)
    return samples


async def _reader_process(db: Path, end: datetime) -> list[Any]:
    closed = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), closed.set)
    async with Pool.open(Settings(database=db)) as pool:
        # As docs/app.md advises a process serving screens: what it holds after starting up
        # out of the collector's full passes (a full pass over this process's ~80k objects
        # took ~25 ms, and one in 100-1000 reads met one).
        gc.collect()
        gc.freeze()
        print("ready", flush=True)
        return await read_until(screen(pool, end), closed.is_set)


async def _feed(
    pool: Pool, rows: list[Any], batch: int, phases: list[tuple[float, float, bool]]
) -> float:
    """Feed ``rows`` PHASE seconds on, PHASE off, FEED_RATE a second while on (a feed that
    falls behind puts the next burst at once); records each phase; ticks/s while on."""
    config = StreamConfig(batch_size=batch, queue_limit=batch * 8)
    burst = round(FEED_RATE * BURST_S)
    fed, feeding = 0, 0.0
    async with TickStream(pool, config) as stream:
        while fed < len(rows):
            began = due = time.monotonic()
            while fed < len(rows) and time.monotonic() - began < PHASE:
                for tick in rows[fed : fed + burst]:
                    await stream.put(tick)
                fed = min(fed + burst, len(rows))
                due += BURST_S
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            await stream.flush()
            ended = time.monotonic()
            phases.append((began, ended, True))
            feeding += ended - began
            await asyncio.sleep(PHASE)
            phases.append((ended, time.monotonic(), False))
    return fed / feeding


async def models_vs_columns(path: Path, end: datetime, rounds: int = 400) -> dict[str, Any]:
    """p50/p99 of a day of 1-minute bars as ``Bar`` models and as a ``BarSeries``, taking
    turns read by read in one process (the collector as an application's, not frozen)."""
    samples: dict[str, list[float]] = {"models": [], "columns": []}
    start = end - timedelta(days=1)
    async with Pool.open(Settings(database=path, rollups=True)) as pool:
        reads: dict[str, Read] = {
            "models": lambda: tick_queries.ohlc_bars(pool, INSTRUMENT, start, end, "1m"),
            "columns": lambda: tick_queries.ohlc_series(pool, INSTRUMENT, start, end, "1m"),
        }
        for _ in range(rounds):
            for name, read in reads.items():
                began = time.perf_counter()
                await read()
                samples[name].append(time.perf_counter() - began)
    return {
        name: {k: round(v, 3) for k, v in percentiles(s).items()} for name, s in samples.items()
    }


def _by_phase(
    samples: list[Any], phases: list[tuple[float, float, bool]]
) -> dict[str, dict[str, dict[str, float]]]:
    """p50/p99 of each read, apart for samples that began while ingesting and while idle."""
    filed: dict[str, dict[str, list[float]]] = {"ingesting": {}, "idle": {}}
    for began, name, seconds in samples:
        for low, high, on in phases:
            if low <= began < high:
                filed["ingesting" if on else "idle"].setdefault(name, []).append(seconds)
                break
    return {
        phase: {
            name: {**{k: round(v, 3) for k, v in percentiles(s).items()}, "samples": len(s)}
            for name, s in reads.items()
        }
        for phase, reads in filed.items()
    }


async def screen_reads(path: Path, rows: list[Any], batch: int, end: datetime) -> dict[str, Any]:
    """The screen's reads in this process and in another, each while ingesting and idle;
    ``rows``: ticks of a live feed's density (see FEED_RATE)."""
    # The probe's ticks are the benchmark's, not an application's: out of the collector's
    # way (its full passes over them would show up as read latency), as bench_ingest does.
    gc.collect()
    gc.freeze()
    other = subprocess.Popen(
        [sys.executable, __file__, str(path), end.isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        if other.stdout.readline().strip() != "ready":
            raise RuntimeError("the reader process did not start")
        phases: list[tuple[float, float, bool]] = []
        async with Pool.open(Settings(database=path, rollups=True)) as pool:
            done = False
            own = asyncio.create_task(read_until(screen(pool, end), lambda: done))
            try:
                await asyncio.sleep(PHASE)  # an idle phase first: the reads warm up
                phases.append((time.monotonic() - PHASE, time.monotonic(), False))
                rate = await _feed(pool, rows, batch, phases)
            finally:
                done = True
            mine = await own
        out, _ = other.communicate("stop\n", timeout=120)
    finally:
        other.kill()
    return {
        "ticks_per_s_while_feeding": round(rate),
        "phase_s": PHASE,
        "in_process": _by_phase(mine, phases),
        "other_process": _by_phase(json.loads(out), phases),
    }


if __name__ == "__main__":
    log.configure(level="error")
    found = asyncio.run(_reader_process(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])))
    print(json.dumps(found))
