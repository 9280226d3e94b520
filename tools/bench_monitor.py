"""What the monitor's metrics cost: the same work with and without the observer attached.

    python tools/bench_monitor.py [--rows N] [--batch N] [--reads N] [--pairs K] [--json]

Two workloads, each on one pool, in off/on pairs (the order flips every pair, so table growth
and machine drift hit both sides alike), the ratio being the median over --pairs pairs:

- bulk insert: ``rawdb.queries.ticks.insert_ticks`` of --batch rows per call, cycling through
  --rows distinct ticks (the issue's budget: metrics cost at most 3% of bulk-insert throughput);
- point reads: blocks of --reads ``latest_tick`` calls, one statement each (the worst case: the
  observer runs once per statement, and each statement is tiny).

Figures are printed as ratios on/off (1.00 = no cost) with the absolute rates beside them, and
the share of wall time spent inside the observer itself, timed around each call: on a shared
machine the end-to-end ratio carries a few percent of noise either way, the share does not.
The two ``perf_counter`` calls the pool adds per statement are outside the share (~0.1 µs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench_common import migrated, ticks
from rawdb import log
from rawdb.config import Settings
from rawdb.monitor import Monitor
from rawdb.pool import Pool
from rawdb.queries import ticks as tick_queries


class Accounted:
    """The monitor's observer, timing itself: the share of wall time the metrics take."""

    def __init__(self, pool: Pool) -> None:
        self.metrics = Monitor(pool, attach=False).metrics
        self.seconds = 0.0
        pool.observer = self

    def __call__(self, *args: Any) -> None:
        started = time.perf_counter()
        self.metrics(*args)
        self.seconds += time.perf_counter() - started


async def bulk(path: Path, rows: list[Any], batch: int, pairs: int) -> dict[str, Any]:
    """insert_ticks batches, alternately without and with the observer, on one pool.

    Each pair runs one batch off and one on (the order flips every pair), so the table's
    growth and the machine's drift hit both sides alike; the ratio is the median over pairs.
    """
    async with Pool.open(Settings(database=path)) as pool:
        observer = Accounted(pool)
        chunks = max(1, len(rows) // batch)

        async def one_batch(n: int) -> None:
            start = (n % chunks) * batch
            await tick_queries.insert_ticks(pool, rows[start : start + batch])

        return await _paired(pool, observer, pairs, one_batch, per_op=batch)


async def reads(path: Path, block: int, pairs: int) -> dict[str, Any]:
    """Blocks of ``block`` latest_tick calls, alternately without and with the observer."""
    async with Pool.open(Settings(database=path)) as pool:
        await tick_queries.insert_ticks(pool, ticks(2000))
        observer = Accounted(pool)

        async def one_block(n: int) -> None:
            for i in range(block):
                await tick_queries.latest_tick(pool, i % 10 + 1)

        return await _paired(pool, observer, pairs, one_block, per_op=block)


async def _paired(
    pool: Pool,
    observer: Accounted,
    pairs: int,
    op: Callable[[int], Awaitable[Any]],
    *,
    per_op: int,
) -> dict[str, Any]:
    ratios: list[float] = []
    rates: dict[bool, list[float]] = {False: [], True: []}
    on_seconds = 0.0
    for n in range(pairs):
        took: dict[bool, float] = {}
        for monitored in (False, True) if n % 2 == 0 else (True, False):
            pool.observer = observer if monitored else None
            started = time.perf_counter()
            await op(2 * n + monitored)
            took[monitored] = time.perf_counter() - started
        ratios.append(took[False] / took[True])  # throughput on / throughput off
        rates[False].append(per_op / took[False])
        rates[True].append(per_op / took[True])
        on_seconds += took[True]
    return {
        "off_per_s": round(statistics.median(rates[False])),
        "on_per_s": round(statistics.median(rates[True])),
        "ratio": statistics.median(ratios),
        "observer_share": observer.seconds / on_seconds,
    }


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    rows = ticks(args.rows)
    return {
        "date": date.today().isoformat(),
        "pairs": args.pairs,
        "bulk": asyncio.run(bulk(migrated(work / "bulk.sqlite3"), rows, args.batch, args.pairs)),
        "reads": asyncio.run(reads(migrated(work / "reads.sqlite3"), args.reads, args.pairs)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="distinct ticks to cycle")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per insert_ticks call")
    parser.add_argument("--reads", type=int, default=500, help="latest_tick calls per block")
    parser.add_argument("--pairs", type=int, default=30, help="off/on pairs per workload")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    log.configure(level="error", force=True)
    with tempfile.TemporaryDirectory(prefix="rawdb-bench-monitor-") as tmp:
        result = measure(Path(tmp), args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"monitor overhead, {result['date']}, median of {result['pairs']} off/on pairs")
    for name, label in (("bulk", "bulk insert rows/s"), ("reads", "latest_tick calls/s")):
        figures = result[name]
        print(
            f"  {label:<22} off {figures['off_per_s']:>9,}  on {figures['on_per_s']:>9,}  "
            f"on/off {figures['ratio']:.3f}  observer {figures['observer_share']:.2%} of wall time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
