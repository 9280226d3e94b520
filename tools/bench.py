"""rawdb's benchmark: one run, one file system, figures as rows/s and as ratios.

    python tools/bench.py [--rows N] [--big N] [--json] [--skip-big] [--skip-decimal]
                          [--postgresql-url URL | --skip-postgresql]

Ingest (fresh databases, newest schema, same pragmas, --batch rows per commit; the paths take
turns batch by batch, see bench_ingest): stdlib sqlite3 executemany (the Python ceiling), rawdb
bulk insert, rawdb streaming writer fed one tick at a time, SQLAlchemy ORM add_all, and the
legacy schema. Then on a database of --big
ticks (built once, cached in .bench-cache/): the insert rate there vs on an empty database,
a screen's reads while the feed runs and while it does not, in this process and in another
(see bench_screen), and what 4 concurrent readers cost the writer. Last, DECIMAL
vs FLOAT prices (see bench_decimal): Python and SQL arithmetic, and SQL's integer division.
PostgreSQL (see bench_postgresql): its bulk insert and streaming writer take turns with the
ingest paths above, and the screen's reads run on both engines over the same ticks.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_postgresql
from bench_common import (
    START,
    batches,
    migrated,
    month_table,
    row_count,
    ticks,
)
from bench_decimal import decimal_vs_float
from bench_decimal import row as decimal_row
from bench_ingest import ingest
from bench_screen import FEED_RATE, P99_TARGETS_MS, models_vs_columns, screen_reads
from rawdb import log
from rawdb.catalog import templates
from rawdb.config import Settings
from rawdb.migrate import Migrator
from rawdb.models import to_db_time
from rawdb.partitions import Period, analyze_recent, bars
from rawdb.pool import Pool
from rawdb.queries import ticks as tick_queries

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"


def rawdb_bulk(path: Path, rows: list[Any], batch: int, synchronous: str = "NORMAL") -> float:
    async def run() -> float:
        async with Pool.open(Settings(database=path, synchronous=synchronous)) as pool:
            started = time.perf_counter()
            for part in batches(rows, batch):
                await tick_queries.insert_ticks(pool, part)
            return len(rows) / (time.perf_counter() - started)

    return asyncio.run(run())


BIG_SPAN = timedelta(days=90)


def big_spacing(size: int) -> timedelta:
    """Ticks of the big database spread evenly over about three months (four partitions)."""
    return BIG_SPAN / size


def big_database(size: int, cache: Path) -> Path:
    """A newest-schema database of ``size`` ticks over three months, built once and cached.

    Built through rawdb's bulk insert, so the rows sit in monthly tables as a live database's
    would; a cache from before a migration is brought to the newest schema on use, and a build
    that was stopped goes on where it stopped (the rows are the same for the same position).
    """
    cache.mkdir(exist_ok=True)
    # Named after the month tables' DDL too: a database built with other tables is not reused.
    ddl = "\n".join(templates.table_ddl(Period("market_data", 2026, 1)))
    template = hashlib.sha256(ddl.encode()).hexdigest()[:10]
    path = cache / f"big-{size}-monthly-{template}.sqlite3"
    for stale in cache.glob(f"big-{size}-monthly*.sqlite3*"):
        if not stale.name.startswith(path.stem):  # (its -bars copy stays)
            stale.unlink()
    built = row_count(path) if path.exists() else 0
    if built:
        Migrator(path, backup=False, settings=Settings(database=path)).up()
        if built >= size:
            return path
    else:
        migrated(path)
    step = 1_000_000
    spacing = big_spacing(size)
    for start in range(built // step * step, size, step):
        part = ticks(
            min(step, size - start), seed=start, start=START + spacing * start, spacing=spacing
        )
        part = part[max(0, built - start) :]  # the rows a stopped build already wrote
        rawdb_bulk(path, part, 100_000)
        print(f"  built {start + len(part):,} of {size:,} ticks", file=sys.stderr, flush=True)
    return path


def bars_database(plain: Path) -> Path:
    """The big database with its bars (Settings.rollups), cached beside it: a copy given its
    bars once by the backfill, as an adopted database would get them. Kept apart because
    its ~7M minute bars change the other figures (the insert rate at size among them)."""
    path = plain.with_name(f"{plain.stem}-bars.sqlite3")
    if path.exists():
        Migrator(path, backup=False, settings=Settings(database=path)).up()
    else:
        fresh_copy(plain, path)
    asyncio.run(_bars_backfilled(path))  # a no-op once it is done
    return path


async def _bars_backfilled(path: Path) -> None:
    async with Pool.open(Settings(database=path, rollups=True)) as pool:
        started = time.perf_counter()
        report = await bars.backfill(pool)
    if report.steps:
        seconds = time.perf_counter() - started
        print(f"  bars backfilled: {report.steps:,} steps in {seconds:.0f} s", file=sys.stderr)


READER_HZ = 10.0


def window_over_all_instruments(path: Path) -> dict[str, Any]:
    """Ad-hoc SQL for one hour of every instrument through the market_data view: month tables
    have no index led by time, so before statistics it reads the whole month; after the daily
    task's sampled ``analyze_recent`` it skip-scans (instrument_id, timestamp). Median of 5, ms."""
    start = START + BIG_SPAN / 2
    window = (to_db_time(start), to_db_time(start + timedelta(hours=1)))
    sql = "SELECT * FROM market_data WHERE timestamp >= ? AND timestamp < ?"

    def timed() -> tuple[float, int, str]:
        with closing(sqlite3.connect(path)) as conn:
            plan = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", window))
            samples, rows = [], 0
            for _ in range(5):
                began = time.perf_counter()
                rows = len(conn.execute(sql, window).fetchall())
                samples.append(time.perf_counter() - began)
        return statistics.median(samples) * 1000, rows, plan

    with closing(sqlite3.connect(path)) as conn:
        if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")
            conn.commit()
    before, rows, _ = timed()
    started = time.perf_counter()
    asyncio.run(_analyze_recent(path))
    analyze_s = time.perf_counter() - started
    after, rows_after, plan = timed()
    if rows_after != rows:
        raise RuntimeError(f"window read {rows} rows before statistics, {rows_after} after")
    return {
        "rows": rows,
        "no_statistics_ms": round(before, 1),
        "with_statistics_ms": round(after, 1),
        "analyze_recent_s": round(analyze_s, 2),
        "skip_scan": "ANY(instrument_id)" in plan,
    }


async def _analyze_recent(path: Path) -> None:
    async with Pool.open(Settings(database=path)) as pool:
        await analyze_recent(pool)


async def at_size_vs_empty(big_copy: Path, empty: Path, rows: list[Any], batch: int) -> Any:
    """Insert rate into the big database and into an empty one, taking turns batch by batch."""
    async with (
        Pool.open(Settings(database=big_copy)) as big_pool,
        Pool.open(Settings(database=empty)) as empty_pool,
    ):
        spent = {"at_size": 0.0, "empty": 0.0}
        for turn, part in enumerate(batches(rows, batch)):
            order = [("at_size", big_pool), ("empty", empty_pool)]
            for name, pool in order if turn % 2 else order[::-1]:
                started = time.perf_counter()
                await tick_queries.insert_ticks(pool, part)
                spent[name] += time.perf_counter() - started
    return {name: len(rows) / seconds for name, seconds in spent.items()}


async def writer_with_readers(path: Path, rows: list[Any], batch: int, readers: int) -> Any:
    """Bulk-insert rate with ``readers`` other processes refreshing a dashboard READER_HZ times
    a second, and with them paused, taking turns batch by batch (separate processes: what
    SQLite's readers cost the writer, not the GIL). A reader pauses between refreshes, never
    inside one, when sent SIGUSR1, and goes on at the next."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("bench_reader.py")),
                str(path),
                str(READER_HZ),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(readers)
    ]
    spent = {"alone": 0.0, "with_readers": 0.0}
    parts = list(batches(rows, batch))
    # With or without readers in a shuffled, even order: alternating would line up with
    # SQLite's periodic checkpoints, which then always fell on the same side.
    plan = [turn % 2 == 0 for turn in range(len(parts))]
    random.Random(7).shuffle(plan)
    reading = True
    try:
        for proc in procs:  # each says "ready" once it reads and listens for SIGUSR1
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a reader process did not start")
        async with Pool.open(Settings(database=path)) as pool:
            for part, with_readers in zip(parts, plan, strict=True):
                if reading != with_readers:
                    for proc in procs:
                        proc.send_signal(signal.SIGUSR1)
                    reading = not reading
                    await asyncio.sleep(2 / READER_HZ)  # a refresh under way ends first
                started = time.perf_counter()
                await tick_queries.insert_ticks(pool, part)
                spent["with_readers" if reading else "alone"] += time.perf_counter() - started
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    counts = {
        "with_readers": sum(len(p) for p, on in zip(parts, plan, strict=True) if on),
        "alone": sum(len(p) for p, on in zip(parts, plan, strict=True) if not on),
    }
    return {name: counts[name] / seconds for name, seconds in spent.items()}


def fresh_copy(source: Path, copy: Path) -> None:
    """``source`` copied over ``copy``, without the write-ahead log a step before left beside
    it (a reader process killed while holding the database keeps it from being removed):
    SQLite would apply that log's pages to the new file."""
    for left in (Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        left.unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    # On disk before the step starts: else the step's first fsync writes back the whole copy
    # (gigabytes), and the insert rate measured the copy (20-33k rows/s into the 10M file
    # without this, 77-91k with it, 2026-12-01).
    with copy.open("rb") as written:
        os.fsync(written.fileno())


def big(work: Path, size: int, batch: int, probe: int, cache: Path) -> dict[str, Any]:
    source = big_database(size, cache)
    copy = work / "big.sqlite3"
    extra = ticks(probe, seed=99, start=START + BIG_SPAN, spacing=big_spacing(size))
    fresh_copy(source, copy)
    empty = migrated(work / "empty.sqlite3")
    conn = sqlite3.connect(empty, isolation_level=None)
    try:
        month_table(conn, extra[0].timestamp)  # the big one has it: neither pays for making it
    finally:
        conn.close()
    rates = asyncio.run(at_size_vs_empty(copy, empty, extra, batch))
    fresh_copy(bars_database(source), copy)
    live = ticks(probe, seed=98, start=START + BIG_SPAN, spacing=timedelta(seconds=1 / FEED_RATE))
    screen = asyncio.run(screen_reads(copy, live, batch, START + BIG_SPAN))
    screen["bars_models_vs_columns"] = asyncio.run(models_vs_columns(copy, START + BIG_SPAN))
    fresh_copy(source, copy)
    writer = asyncio.run(writer_with_readers(copy, extra, batch, 4))
    fresh_copy(source, copy)
    window = window_over_all_instruments(copy)
    return {
        "ticks": size,
        "insert_rows_per_s": {name: round(rate) for name, rate in rates.items()},
        "at_size_vs_empty": round(rates["at_size"] / rates["empty"], 3),
        "screen_reads": screen,
        "writer_alone_rows_per_s": round(writer["alone"]),
        "writer_with_4_readers_rows_per_s": round(writer["with_readers"]),
        "readers_cost": round(1 - writer["with_readers"] / writer["alone"], 3),
        "window_1h_all_instruments": window,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000, help="ticks per ingest run")
    parser.add_argument("--batch", type=int, default=10_000, help="ticks per commit")
    parser.add_argument(
        "--orm-rows",
        type=int,
        default=None,
        help="ticks for the ORM path (default: 2/5 of --rows: twenty turns at the defaults)",
    )
    parser.add_argument("--big", type=int, default=10_000_000, help="ticks in the big database")
    parser.add_argument("--probe", type=int, default=200_000, help="ticks inserted at size")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the big database lives")
    parser.add_argument("--skip-big", action="store_true", help="no big database")
    parser.add_argument("--decimal-rows", type=int, default=200_000, help="prices, DECIMAL part")
    parser.add_argument("--skip-decimal", action="store_true", help="no DECIMAL vs FLOAT part")
    parser.add_argument(
        "--postgresql-url",
        default=None,
        help="a PostgreSQL server for its rows (default: a throwaway one started for the run)",
    )
    parser.add_argument("--skip-postgresql", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    log.configure(level="warning")
    with (
        tempfile.TemporaryDirectory(prefix="rawdb-bench-", dir=ROOT) as scratch,
        ExitStack() as servers,
    ):
        work = Path(scratch)
        pg_server = None
        if not args.skip_postgresql:
            pg_server = servers.enter_context(bench_postgresql.server(args.postgresql_url))
        orm_rows = args.orm_rows or max(1, args.rows * 2 // 5)
        result: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d"),
            "ingest": asyncio.run(ingest(work, args.rows, args.batch, orm_rows, pg_server)),
        }
        print(json.dumps(result["ingest"]), file=sys.stderr, flush=True)
        urls = result["ingest"].pop("postgresql_urls", None)
        if urls:
            result["postgresql_reads"] = asyncio.run(
                bench_postgresql.reads_compared(
                    work / "rawdb_bulk_insert.sqlite3", urls["postgresql_bulk_insert"], args.rows
                )
            )
        if not args.skip_big:
            result["big"] = big(work, args.big, args.batch, args.probe, args.cache)
        if not args.skip_decimal:
            result["decimal"] = decimal_vs_float(work, args.decimal_rows)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    ingest_part = result["ingest"]
    print(
        f"rawdb benchmark {result['date']}: {ingest_part['rows']:,} ticks, "
        f"{ingest_part['batch']:,} per commit, paths taking turns batch by batch "
        f"(the ORM for the first {ingest_part['orm_rows']:,})"
    )
    print(f"{'path':<36}{'rows/s':>12}{'vs stdlib':>11}")
    for name, rate in ingest_part["rows_per_s"].items():
        print(f"{name:<36}{rate:>12,}{ingest_part['vs_stdlib'][name]:>11.2f}")
    print(f"rawdb bulk insert vs SQLAlchemy ORM: {ingest_part['rawdb_vs_orm']}x")
    print(
        "rawdb bulk insert keeping bars (Settings.rollups) vs not: "
        f"{ingest_part['rollups_vs_none']}x"
    )
    if "big" in result:
        big_part = result["big"]
        rates = big_part["insert_rows_per_s"]
        print(
            f"\nat {big_part['ticks']:,} ticks: insert {rates['at_size']:,} rows/s "
            f"vs {rates['empty']:,} empty ({big_part['at_size_vs_empty']:.2f}x)"
        )
        screen = big_part["screen_reads"]
        print(
            f"a screen's reads, p50 / p99 ms, while the streaming writer takes "
            f"{screen['ticks_per_s_while_feeding']:,} ticks/s and in the idle phases between:"
        )
        for where in ("in_process", "other_process"):
            print(f"  {where.replace('_', ' '):<22}{'ingesting':>18}{'idle':>18}  p99 target")
            for name, figures in screen[where]["ingesting"].items():
                idle = screen[where]["idle"].get(name, {"p50_ms": 0.0, "p99_ms": 0.0})
                target = P99_TARGETS_MS.get(name)
                verdict = (
                    f"  <= {target} ms: {'met' if figures['p99_ms'] <= target else 'NOT met'}"
                    if target is not None
                    else ""
                )
                print(
                    f"    {name:<20}{figures['p50_ms']:>9.3f}{figures['p99_ms']:>9.3f}"
                    f"{idle['p50_ms']:>9.3f}{idle['p99_ms']:>9.3f}{verdict}"
                )
        versus = screen["bars_models_vs_columns"]
        print(
            "  a day of 1-minute bars, nothing else running, p50 / p99 ms: as Bar models "
            f"{versus['models']['p50_ms']} / {versus['models']['p99_ms']}, as columns "
            f"{versus['columns']['p50_ms']} / {versus['columns']['p99_ms']}"
        )
        print(
            f"writer alone {big_part['writer_alone_rows_per_s']:,} rows/s, with 4 readers "
            f"{big_part['writer_with_4_readers_rows_per_s']:,} "
            f"(cost {big_part['readers_cost']:.1%})"
        )
        window = big_part["window_1h_all_instruments"]
        print(
            f"one hour of every instrument ({window['rows']:,} rows) through the view: "
            f"{window['no_statistics_ms']:,.1f} ms before statistics, "
            f"{window['with_statistics_ms']:,.1f} ms after analyze_recent "
            f"({window['analyze_recent_s']} s; skip-scan: {window['skip_scan']})"
        )
    if "postgresql_vs_rawdb_sqlite" in ingest_part:
        engines = ingest_part["postgresql_vs_rawdb_sqlite"]
        print(
            f"\nPostgreSQL (durable throwaway server, binary COPY) vs rawdb on SQLite: bulk "
            f"{engines['bulk']}x, streaming writer {engines['streaming']}x"
        )
    if "postgresql_reads" in result:
        print(
            f"{'read':<16}{'SQLite p50/p99 ms':>20}{'PostgreSQL p50/p99 ms':>24}{'PG/SQLite':>11}"
        )
        for name, figures in result["postgresql_reads"].items():
            lite, pg = figures["sqlite"], figures["postgresql"]
            print(
                f"{name:<16}{lite['p50_ms']:>10.3f}{lite['p99_ms']:>10.3f}"
                f"{pg['p50_ms']:>12.3f}{pg['p99_ms']:>12.3f}"
                f"{figures['postgresql_vs_sqlite_p50']:>11.2f}"
            )
    if "decimal" in result:
        print(f"\n{decimal_row(result['decimal'])}")


if __name__ == "__main__":
    sys.exit(main())
