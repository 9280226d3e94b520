"""What the monitor's metrics cost: the same work with and without ``Monitor`` attached.

    python tools/bench_monitor.py [--rows N] [--batch N] [--reads N] [--runs K] [--json]

Two workloads, each run alternately off / on (the order flips every round, a fresh database
each time), median of --runs rounds, in one process so the machine state is shared:

- bulk insert: ``rawdb.queries.ticks.insert_ticks`` of --rows ticks, --batch rows per call
  (the issue's budget: metrics cost at most 3% of bulk-insert throughput);
- point reads: --reads ``latest_tick`` calls, one statement each (the worst case: the observer
  runs once per statement, and each statement is tiny).

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


async def bulk(path: Path, rows: list[Any], batch: int, *, monitored: bool) -> tuple[float, float]:
    """Rows per second through insert_ticks, and the share of time spent in the observer."""
    async with Pool.open(Settings(database=path)) as pool:
        observer = Accounted(pool) if monitored else None
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            await tick_queries.insert_ticks(pool, rows[start : start + batch])
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed, (observer.seconds / elapsed if observer else 0.0)


async def reads(path: Path, count: int, *, monitored: bool) -> tuple[float, float]:
    """latest_tick calls per second, and the share of time spent in the observer."""
    async with Pool.open(Settings(database=path)) as pool:
        await tick_queries.insert_ticks(pool, ticks(2000))
        observer = Accounted(pool) if monitored else None
        started = time.perf_counter()
        for i in range(count):
            await tick_queries.latest_tick(pool, i % 10 + 1)
        elapsed = time.perf_counter() - started
    return count / elapsed, (observer.seconds / elapsed if observer else 0.0)


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    rows = ticks(args.rows)
    results: dict[str, dict[bool, list[float]]] = {
        "bulk": {False: [], True: []},
        "reads": {False: [], True: []},
    }
    shares: dict[str, list[float]] = {"bulk": [], "reads": []}
    for round_no in range(args.runs):
        order = (False, True) if round_no % 2 == 0 else (True, False)
        for monitored in order:
            path = migrated(work / f"bulk-{round_no}-{monitored}.sqlite3")
            rate, share = asyncio.run(bulk(path, rows, args.batch, monitored=monitored))
            results["bulk"][monitored].append(rate)
            path = migrated(work / f"reads-{round_no}-{monitored}.sqlite3")
            calls, read_share = asyncio.run(reads(path, args.reads, monitored=monitored))
            results["reads"][monitored].append(calls)
            if monitored:
                shares["bulk"].append(share)
                shares["reads"].append(read_share)
    summary: dict[str, Any] = {"date": date.today().isoformat(), "runs": args.runs}
    for name, by_mode in results.items():
        off, on = statistics.median(by_mode[False]), statistics.median(by_mode[True])
        summary[name] = {
            "off_per_s": round(off),
            "on_per_s": round(on),
            "ratio": on / off,
            "observer_share": statistics.median(shares[name]),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    log.configure(level="error", force=True)
    with tempfile.TemporaryDirectory(prefix="rawdb-bench-monitor-") as tmp:
        result = measure(Path(tmp), args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"monitor overhead, {result['date']}, median of {result['runs']} alternating rounds")
    for name, label in (("bulk", "bulk insert rows/s"), ("reads", "latest_tick calls/s")):
        figures = result[name]
        print(
            f"  {label:<22} off {figures['off_per_s']:>9,}  on {figures['on_per_s']:>9,}  "
            f"on/off {figures['ratio']:.3f}  observer {figures['observer_share']:.2%} of wall time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
