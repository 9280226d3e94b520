"""What a health report costs at size: report time, and the p99 of the application's reads
with and without reports running, side by side in one run.

    python tools/bench_report.py [--big N] [--rounds K] [--cache DIR] [--scan-first] [--json]

On a database of --big ticks (built once through rawdb's bulk insert and cached, as
``tools/bench.py`` builds it; 100M by default), one pool serves a reader task making
``latest_tick`` and 1-hour ``tick_range`` calls back to back. The run alternates one-second
phases, --rounds of each: "quiet" (reads only) and "reporting" (a report every 100 ms beside
the reads, the first of which starts the background size scan). Taking turns, the two phases
see the same machine load; the figures are the reads' p99 in each phase and the reports' own
times, and how long the background size scan took. ``--scan-first`` measures the sizes before
the phases instead, so the scan's disk reads do not run beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import BIG_SPAN, CACHE, big_database
from bench_common import START, percentiles
from rawdb import log
from rawdb.config import Settings
from rawdb.monitor import Monitor
from rawdb.pool import Pool
from rawdb.queries import instruments
from rawdb.queries import ticks as tick_queries


async def measure(path: Path, size: int, rounds: int, *, scan_first: bool) -> dict[str, Any]:
    async with Pool.open(Settings(database=path)) as pool:
        ids = [i.id for i in await instruments.list_instruments(pool)]
        monitor = Monitor(pool)
        if scan_first:  # the sizes measured before the phases: no scan runs beside them
            await monitor.measure_sizes()
        reads: dict[str, list[float]] = {"quiet": [], "reporting": []}
        reports: list[float] = []
        phase = "quiet"
        stop = asyncio.Event()
        rng = random.Random(5)

        async def reader() -> None:
            while not stop.is_set():
                instrument = rng.choice(ids)
                moment = START + BIG_SPAN * rng.random()
                started = time.perf_counter()
                if rng.random() < 0.5:
                    await tick_queries.latest_tick(pool, instrument)
                else:
                    hour = timedelta(hours=1)
                    await tick_queries.tick_range(pool, instrument, moment - hour, moment)
                if phase in reads:  # not once the phases are over
                    reads[phase].append(time.perf_counter() - started)
                await asyncio.sleep(0)

        task = asyncio.create_task(reader())
        for _ in range(rounds):
            for phase in ("quiet", "reporting"):
                ends = time.monotonic() + 1.0
                while time.monotonic() < ends:
                    if phase == "reporting":
                        started = time.perf_counter()
                        await monitor.report()
                        reports.append(time.perf_counter() - started)
                    await asyncio.sleep(0.1)
        phase = "over"  # the reads that go on while the scan finishes are not counted
        await monitor.survey.wait()
        stop.set()
        await task
    return {
        "ticks": size,
        "file_gb": round(path.stat().st_size / 1e9, 2),
        "reads_quiet_ms": percentiles(reads["quiet"]),
        "reads_while_reporting_ms": percentiles(reads["reporting"]),
        "reads": {k: len(v) for k, v in reads.items()},
        "report_ms": percentiles(reports),
        "size_scan_s": monitor.survey.took_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", type=int, default=100_000_000, help="ticks in the database")
    parser.add_argument("--rounds", type=int, default=20, help="quiet/reporting phase pairs")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the database lives")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--scan-first",
        action="store_true",
        help="measure the sizes before the phases, so no size scan runs beside them",
    )
    args = parser.parse_args()
    log.configure(level="warning")
    path = big_database(args.big, args.cache)
    result = asyncio.run(measure(path, args.big, args.rounds, scan_first=args.scan_first))
    result["date"] = date.today().isoformat()
    if args.json:
        print(json.dumps(result))
    else:
        q, r, rep = (
            result["reads_quiet_ms"],
            result["reads_while_reporting_ms"],
            result["report_ms"],
        )
        n = result["reads"]
        print(
            f"health report on {result['ticks']:,} ticks ({result['file_gb']} GB), {result['date']}"
        )
        print(
            f"reads quiet:           p50 {q['p50_ms']:.2f} ms  p99 {q['p99_ms']:.2f} ms  "
            f"({n['quiet']})"
        )
        print(
            f"reads while reporting: p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
            f"({n['reporting']})"
        )
        print(f"report: p50 {rep['p50_ms']:.1f} ms  p99 {rep['p99_ms']:.1f} ms")
        print(f"background size scan: {result['size_scan_s'] or 0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
