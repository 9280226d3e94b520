"""What a read deadline costs, and how close to it a read is stopped.

    python tools/bench_deadline.py [--reads N] [--pairs K] [--rounds R] [--trials T] [--json]

On one pool over a database of 100 instruments and 20k ticks:

- point reads, with and without a deadline, in pairs (the order flips every pair, so the
  machine's drift hits both sides alike; the ratio is the median over --pairs pairs):
  ``latest_tick`` (run in place, where the progress handler checks the deadline) and
  ``get_instrument`` (on the connection's thread, where a timer interrupts SQLite), blocks of
  --reads calls each;
- a scan on the connection's thread (``bench_series_count``, --rounds rounds over every
  instrument) without a deadline, with rawdb's timer, and with the alternative rawdb does not
  use there, a progress handler (every 1000 instructions, on the same connection); each once
  with the event loop idle and once with it busy in Python, 20 ms at a time without yielding
  (what validating a batch does);
- the progress handler's interval (instructions between checks), on a plain connection: what
  it adds to the scan, and how far past a 50 ms deadline the scan stops;
- how far past a 50 ms deadline the two paths raise ``QueryTimeout`` (median and worst of
  --trials).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import closing, suppress
from datetime import date
from pathlib import Path
from typing import Any

from bench_common import migrated, ticks
from rawdb import log
from rawdb.config import Settings
from rawdb.errors import QueryTimeout
from rawdb.pool import Pool
from rawdb.queries import instruments, load, run
from rawdb.queries import ticks as tick_queries

SQL = load(Path(__file__).with_name("sql"))
SERIES = SQL["bench_series_count"]
DEADLINE = 0.05
FAR = 60.0
"""A deadline no read here reaches: what is measured is its cost, not its effect."""
INTERVALS = (100, 1000, 10_000)


async def paired(
    pairs: int, op: Callable[[float | None], Awaitable[Any]], per_op: int
) -> dict[str, Any]:
    """``op(None)`` and ``op(FAR)`` in pairs, order flipping; median time per call and ratio."""
    took: dict[bool, list[float]] = {False: [], True: []}
    ratios = []
    for n in range(pairs):
        for limited in (False, True) if n % 2 == 0 else (True, False):
            started = time.perf_counter()
            await op(FAR if limited else None)
            took[limited].append((time.perf_counter() - started) / per_op)
        ratios.append(took[True][-1] / took[False][-1])
    return {
        "without_us": round(statistics.median(took[False]) * 1e6, 2),
        "with_us": round(statistics.median(took[True]) * 1e6, 2),
        "ratio": round(statistics.median(ratios), 3),
    }


async def point_reads(pool: Pool, reads: int, pairs: int) -> dict[str, Any]:
    async def latest(timeout: float | None) -> None:
        for i in range(reads):
            await tick_queries.latest_tick(pool, i % 100 + 1, timeout=timeout)

    async def instrument(timeout: float | None) -> None:
        for i in range(reads):
            await instruments.get_instrument(pool, i % 100 + 1, timeout=timeout)

    return {
        "latest_tick_in_place": await paired(pairs, latest, reads),
        "get_instrument_thread": await paired(pairs, instrument, reads),
    }


BUSY_SLICE = 0.02
"""Seconds the busy event loop runs Python without yielding: validating a batch of ticks."""


async def busy_loop(stop: asyncio.Event) -> None:
    """Python work on the event loop's thread in BUSY_SLICE slices, yielding between them."""
    while not stop.is_set():
        until = time.perf_counter() + BUSY_SLICE
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(0)


async def scans(pool: Pool, rounds: int, pairs: int) -> dict[str, Any]:
    """The scan three ways, in turns, with the loop idle and busy: the mechanism's cost."""
    params = {"rounds": rounds}

    async def scan(how: str) -> float:
        async with pool.read(timeout=FAR if how == "timer" else None) as conn:
            if how == "progress_handler":
                await conn.raw.set_progress_handler(lambda: False, 1000)
            started = time.perf_counter()
            try:
                await conn.fetchall(SERIES.sql, params, name=SERIES.name)
            finally:
                if how == "progress_handler":
                    await conn.raw.set_progress_handler(None, 0)
            return time.perf_counter() - started

    result: dict[str, Any] = {}
    for loop_state in ("idle", "busy"):
        stop = asyncio.Event()
        worker = asyncio.create_task(busy_loop(stop)) if loop_state == "busy" else None
        took: dict[str, list[float]] = {"none": [], "timer": [], "progress_handler": []}
        ways = list(took)
        for n in range(pairs):
            for how in ways if n % 2 == 0 else ways[::-1]:
                took[how].append(await scan(how))
        stop.set()
        if worker is not None:
            await worker
        result[loop_state] = {"none_ms": round(statistics.median(took["none"]) * 1000, 1)}
        for how in ("timer", "progress_handler"):
            ratios = [t / base for t, base in zip(took[how], took["none"], strict=True)]
            result[loop_state][f"{how}_ratio"] = round(statistics.median(ratios), 3)
    return result


def intervals(path: Path, rounds: int, pairs: int) -> dict[str, Any]:
    """The scan on a plain connection with a progress handler every N instructions (no
    deadline reached), and how far past a 50 ms deadline it stops at each N."""
    sql, params = SERIES.sql, {"rounds": rounds}
    out: dict[str, Any] = {}
    with closing(sqlite3.connect(path)) as conn:
        ratios: dict[int, list[float]] = {n: [] for n in INTERVALS}
        for n in range(pairs):
            for every in INTERVALS:
                took = {}
                for handler in (False, True) if n % 2 == 0 else (True, False):
                    conn.set_progress_handler((lambda: False) if handler else None, every)
                    started = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    took[handler] = time.perf_counter() - started
                conn.set_progress_handler(None, 0)
                ratios[every].append(took[True] / took[False])
        for every in INTERVALS:
            late = []
            for _ in range(max(3, pairs // 2)):
                at = time.monotonic() + DEADLINE
                conn.set_progress_handler(lambda at=at: time.monotonic() >= at, every)
                started = time.perf_counter()
                with suppress(sqlite3.OperationalError):  # interrupted, as it should be
                    conn.execute(sql, {"rounds": rounds * 1000}).fetchall()
                late.append(time.perf_counter() - started - DEADLINE)
                conn.set_progress_handler(None, 0)
            out[str(every)] = {
                "scan_ratio": round(statistics.median(ratios[every]), 3),
                "overshoot_ms_median": round(statistics.median(late) * 1000, 2),
            }
    return out


async def overshoot(pool: Pool, rounds: int, trials: int) -> dict[str, Any]:
    """Call to QueryTimeout minus the 50 ms deadline, on each path."""

    async def thread() -> None:
        await run.query(pool, SERIES, {"rounds": rounds}, timeout=DEADLINE)

    async def in_place() -> None:
        async with pool.read(timeout=DEADLINE) as conn:
            await conn.fetchall_now(SERIES.sql, {"rounds": rounds}, name=SERIES.name)

    out: dict[str, Any] = {}
    for name, op in (("thread_timer", thread), ("in_place_progress_handler", in_place)):
        late = []
        for _ in range(trials):
            started = time.perf_counter()
            try:
                await op()
            except QueryTimeout:
                late.append(time.perf_counter() - started - DEADLINE)
            else:
                raise RuntimeError(f"{name}: the read ended before its deadline; raise --rounds")
        out[name] = {
            "median_ms": round(statistics.median(late) * 1000, 2),
            "max_ms": round(max(late) * 1000, 2),
        }
    return out


async def measure_pool(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    async with Pool.open(Settings(database=path, readers=1)) as pool:
        await tick_queries.insert_ticks(pool, ticks(20_000))
        return {
            "point_reads": await point_reads(pool, args.reads, args.pairs),
            "scan": await scans(pool, args.rounds, max(3, args.pairs // 4)),
            "overshoot_50ms": await overshoot(pool, args.rounds * 1000, args.trials),
        }


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    path = migrated(work / "deadline.sqlite3")
    result = {"date": date.today().isoformat(), "pairs": args.pairs, "rounds": args.rounds}
    result |= asyncio.run(measure_pool(path, args))
    result["progress_interval"] = intervals(path, args.rounds, max(3, args.pairs // 4))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=100, help="point reads per block")
    parser.add_argument("--pairs", type=int, default=150, help="without/with pairs")
    parser.add_argument("--rounds", type=int, default=20_000, help="series length of the scan")
    parser.add_argument("--trials", type=int, default=20, help="deadline trials per path")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    log.configure(level="error", force=True)
    with tempfile.TemporaryDirectory(prefix="rawdb-bench-deadline-") as tmp:
        result = measure(Path(tmp), args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"read deadline, {result['date']}, median of {result['pairs']} without/with pairs")
    for name, row in result["point_reads"].items():
        print(
            f"  point read {name:<24} without {row['without_us']:>8.2f} us  "
            f"with {row['with_us']:>8.2f} us  with/without {row['ratio']:.3f}"
        )
    for state, row in result["scan"].items():
        print(
            f"  scan, loop {state:<5} {row['none_ms']:>8.1f} ms  timer {row['timer_ratio']:.3f}x  "
            f"progress handler {row['progress_handler_ratio']:.3f}x"
        )
    for every, row in result["progress_interval"].items():
        print(
            f"  progress handler every {every:>6} instructions: scan {row['scan_ratio']:.3f}x, "
            f"stops {row['overshoot_ms_median']:.2f} ms past the deadline"
        )
    for name, row in result["overshoot_50ms"].items():
        print(
            f"  QueryTimeout past a 50 ms deadline, {name:<26} median {row['median_ms']:.2f} ms"
            f"  worst {row['max_ms']:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
