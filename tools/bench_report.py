"""What a health report costs at size: report time, and the p99 of the application's reads
with and without reports running, and with and without the background size scan, side by
side in one run.

    python tools/bench_report.py [--big N] [--rounds K] [--cache DIR] [--scan-first] [--json]

On a database of --big ticks (built once through rawdb's bulk insert and cached, as
``tools/bench.py`` builds it; 100M by default), one pool serves a reader task making
``latest_tick`` and 1-hour ``tick_range`` calls back to back. The run alternates one-second
phases: "quiet" (reads only) and "reporting" (a report every 100 ms beside the reads). The
first report starts the background size scan (paced, as an application's would be); each
read and report is counted under the phase it ran in and under whether the scan was running,
and the run goes on until --rounds pairs of phases have run after the scan finished. Taking
turns, the phases see the same machine; the scan's cells come from its minutes and the
others from after, when the file's pages it read may still be in the page cache (so the
"no scan" cells are the kinder ones). ``--scan-first`` measures the sizes before the phases
instead (flat out, as ``rawdb monitor`` does), so no scan runs beside them. The process's
heap is frozen after start-up, as docs/app.md advises a screen server to do.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
from collections import defaultdict
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

REPORT_P99_MS = 50.0
"""The budget of a report at 100M ticks (p99)."""
READ_WAIT_MS = 5.0
"""The most the reads' p99 may grow beside the monitor's work: reports, or the size scan."""
PHASE_S = 1.0
MAX_SCAN_ROUNDS = 600
"""Phase pairs at most while a scan runs (20 minutes): a stuck scan ends the run."""


async def measure(path: Path, size: int, rounds: int, *, scan_first: bool) -> dict[str, Any]:
    async with Pool.open(Settings(database=path)) as pool, Monitor(pool) as monitor:
        ids = [i.id for i in await instruments.list_instruments(pool)]
        if scan_first:  # the sizes measured before the phases: no scan runs beside them
            await monitor.measure_sizes()
        reads: dict[str, list[float]] = defaultdict(list)  # "<phase>/<scan|none>" -> seconds
        reports: dict[str, list[float]] = defaultdict(list)  # "scan" | "none" -> seconds
        phase = "quiet"
        stop = asyncio.Event()
        rng = random.Random(5)

        def scan_state() -> str:
            return "scan" if monitor.survey.scanning else "none"

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
                reads[f"{phase}/{scan_state()}"].append(time.perf_counter() - started)
                await asyncio.sleep(0)

        gc.collect()
        gc.freeze()
        task = asyncio.create_task(reader())
        after_scan = scan_rounds = 0
        while after_scan < rounds and scan_rounds < MAX_SCAN_ROUNDS:
            for phase in ("quiet", "reporting"):
                ends = time.monotonic() + PHASE_S
                while time.monotonic() < ends:
                    if phase == "reporting":
                        started = time.perf_counter()
                        await monitor.report()
                        reports[scan_state()].append(time.perf_counter() - started)
                    await asyncio.sleep(0.1)
            if monitor.survey.scanning:
                scan_rounds += 1
            else:
                after_scan += 1
        stop.set()
        await task
    return {
        "ticks": size,
        "file_gb": round(path.stat().st_size / 1e9, 2),
        "reads_ms": {cell: percentiles(times) for cell, times in sorted(reads.items())},
        "reads": {cell: len(times) for cell, times in sorted(reads.items())},
        "report_ms": {cell: percentiles(times) for cell, times in sorted(reports.items())},
        "size_scan_s": monitor.survey.took_s,
        "size_scan_worked_s": monitor.survey.worked_s,
    }


def verdicts(result: dict[str, Any]) -> list[str]:
    """Each budget with its figures, met or NOT met."""
    lines = []
    for cell, figures in result["report_ms"].items():
        p99 = figures["p99_ms"]
        met = "met" if p99 <= REPORT_P99_MS else "NOT met"
        lines.append(f"report p99 ({cell}): {p99:.1f} ms, budget {REPORT_P99_MS:g} ms: {met}")
    reads = result["reads_ms"]
    pairs = [("reporting/none", "quiet/none"), ("reporting/scan", "quiet/scan")]
    if "quiet/scan" in reads:
        pairs.append(("quiet/scan", "quiet/none"))
    for cell, baseline in pairs:
        if cell in reads and baseline in reads:
            grown = reads[cell]["p99_ms"] - reads[baseline]["p99_ms"]
            met = "met" if grown <= READ_WAIT_MS else "NOT met"
            lines.append(
                f"reads p99 {cell} - {baseline}: {grown:+.2f} ms, budget +{READ_WAIT_MS:g} ms: "
                f"{met}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", type=int, default=100_000_000, help="ticks in the database")
    parser.add_argument(
        "--rounds", type=int, default=20, help="quiet/reporting phase pairs after the scan"
    )
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
    result["verdicts"] = verdicts(result)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"health report on {result['ticks']:,} ticks ({result['file_gb']} GB), {result['date']}")
    for cell, figures in result["reads_ms"].items():
        print(
            f"reads {cell:15s} p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms"
            f"  ({result['reads'][cell]})"
        )
    for cell, figures in result["report_ms"].items():
        print(f"report ({cell}): p50 {figures['p50_ms']:.1f} ms  p99 {figures['p99_ms']:.1f} ms")
    took, worked = result["size_scan_s"] or 0.0, result["size_scan_worked_s"]
    print(f"size scan: {took:.1f} s, {worked:.1f} s of it working")
    for line in result["verdicts"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
