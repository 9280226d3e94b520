"""Partition benchmark: insert rate as the partitioned store grows, archiving a month, reads.

    python tools/bench_partitions.py [--rows 2000000] [--month-rows 1000000] [--work DIR]

1. Insert rate through ``insert_ticks`` (monthly routing) into an empty database, then after
   ``--rows`` ticks spread over as many months as needed (1M per month by default), measured
   on a fresh month's batch each time: the issue asks for >= 0.8x the empty rate at 20M+.
2. Archiving one month of ``--month-rows`` ticks (copy, verify, drop) and restoring it.
3. Reading one instrument's ticks across 3 months: the routed statement over the overlapping
   month tables vs the same statement on one table holding the same rows (both plain sqlite3),
   and the ``tick_range`` call itself (pool, models) for reference.

Use ``--rows 20000000`` for the full figure (about 20 minutes on 2 cores); the default is a
quick run.

Measured 2026-11-22, 2 cores shared with other work (load average ~2), stdlib SQLite 3.40.1,
WAL, synchronous=NORMAL, 10k ticks per insert_ticks call, 100 instruments:
  insert rate, empty database              33,171 rows/s
  insert rate after 20M rows in 20 months  54,851 rows/s  (1.65x; each month's indexes stay
                                                           small, so no decay; the empty figure
                                                           ran under more load: read it as >= 1x)
  archive one 1M-row month                 12.1-15.3 s  (copy 1.1 s; the rest is two checksum
                                                         passes, ~5 s each under that load)
  restore it                               17.5 s
  one instrument, 3 months (27.6k rows, 5 tables): routed SQL 299 ms, one table 143 ms
  (the routed read sorts the union of its terms; one table reads in index order)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb import log, partitions
from rawdb.archive import archive_period, restore_period
from rawdb.catalog import registry, routing, templates
from rawdb.config import Settings
from rawdb.partitions import Period, Policy
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, instruments, ticks
from rawdb.queries.rows import TickRow

START = datetime(2024, 1, 1, tzinfo=UTC)
INSTRUMENTS = 100
BATCH = 10_000
PROBE = 200_000


def month_rows(month: int, count: int, offset: int = 0) -> list[TickRow]:
    """``count`` ticks spread evenly over one month after START."""
    first = datetime(START.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    step = 27 * 86_400 / max(count, 1)
    return [
        TickRow(
            (i + offset) % INSTRUMENTS + 1,
            first + timedelta(seconds=i * step),
            100.0 + (i % 997) / 100,
            i % 50 + 1,
        )
        for i in range(count)
    ]


async def insert(pool: Pool, rows: list[TickRow]) -> float:
    started = time.perf_counter()
    for index in range(0, len(rows), BATCH):
        await ticks.insert_ticks(pool, rows[index : index + BATCH])
    return len(rows) / (time.perf_counter() - started)


async def grow(path: Path, total: int, per_month: int) -> dict[str, float]:
    async with Pool.open(Settings(database=path), migrate=True) as pool:
        for n in range(1, INSTRUMENTS + 1):
            await instruments.add_instrument(pool, {"symbol": f"S{n:03d}", "name": f"S {n}"})
        empty = await insert(pool, month_rows(0, PROBE))
        done, month = PROBE, 1
        while done < total:
            size = min(per_month, total - done)
            rate = await insert(pool, month_rows(month, size, done))
            print(f"  {done + size:,} rows, month {month}: {rate:,.0f} rows/s", flush=True)
            done += size
            month += 1
        full = await insert(pool, month_rows(month, PROBE))
    return {"empty_rows_per_s": empty, "grown_rows_per_s": full, "ratio": full / empty}


class WriteProbe:
    """A writer committing a one-row transaction every 10 ms on its own connection; the longest
    wait for the write lock is how long archival stalls ingest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.longest = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        conn.execute("CREATE TABLE IF NOT EXISTS bench_probe (n INTEGER)")
        while not self.stop.is_set():
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_probe VALUES (1)")
            conn.execute("COMMIT")
            self.longest = max(self.longest, time.perf_counter() - began)
            time.sleep(0.01)
        conn.close()

    def __enter__(self) -> WriteProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def archive_month(path: Path) -> dict[str, float]:
    period = Period("market_data", START.year, 2)
    with WriteProbe(path) as probe:
        started = time.perf_counter()
        done = archive_period(path, period)
        archived = time.perf_counter() - started
    archive_stall = probe.longest
    with WriteProbe(path) as probe:
        started = time.perf_counter()
        restore_period(path, period)
        restored = time.perf_counter() - started
    return {
        "rows": float(done.rows or 0),
        "archive_s": archived,
        "archive_longest_write_wait_s": archive_stall,
        "restore_s": restored,
        "restore_longest_write_wait_s": probe.longest,
    }


def reads(path: Path, work: Path) -> dict[str, float]:
    """Median time to read one instrument's ticks over 3 months, routed vs one table."""
    single = work / "single.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("ATTACH DATABASE ? AS single", (str(single),))
        conn.execute(
            "CREATE TABLE single.market_data (id INTEGER PRIMARY KEY, timestamp DATETIME NOT NULL,"
            " instrument_id INTEGER NOT NULL, price REAL, volume INTEGER, bid REAL, ask REAL,"
            " bid_size INTEGER, ask_size INTEGER, open_price REAL, high_price REAL,"
            " low_price REAL, deleted_at DATETIME)"
        )
        conn.execute("INSERT INTO single.market_data SELECT * FROM main.market_data")
        conn.execute(
            "CREATE INDEX single.ix_single_instrument_timestamp "
            "ON market_data (instrument_id, timestamp)"
        )
        conn.commit()
    start, end = START + timedelta(days=20), START + timedelta(days=110)
    low, high = start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S")
    params = {"start": low, "end": high, "include_deleted": 0, "limit": 10_000_000}
    conn = sqlite3.connect(path)
    parts = registry.load_sync(conn, "market_data")
    (span,) = routing.spans(parts, low, high)
    routed_sql = templates.render(STATEMENTS["tick_range"].sql, "market_data", span.tables)
    flat_sql = (
        "SELECT * FROM market_data WHERE instrument_id = :instrument_id AND timestamp >= :start"
        " AND timestamp < :end AND (deleted_at IS NULL OR :include_deleted)"
        " ORDER BY timestamp LIMIT :limit"
    )

    def timed(db: sqlite3.Connection, sql: str) -> float:
        times = []
        for n in range(1, 22):
            began = time.perf_counter()
            db.execute(sql, {**params, "instrument_id": n}).fetchall()
            times.append(time.perf_counter() - began)
        return sorted(times)[10] * 1000

    partitioned = timed(conn, routed_sql)
    conn.close()
    single_conn = sqlite3.connect(single)
    one_table = timed(single_conn, flat_sql)
    rows = len(single_conn.execute(flat_sql, {**params, "instrument_id": 1}).fetchall())
    single_conn.close()

    async def api() -> float:
        async with Pool.open(Settings(database=path)) as pool:
            began = time.perf_counter()
            await ticks.tick_range(pool, 1, start, end, limit=10_000_000)
            return (time.perf_counter() - began) * 1000

    return {
        "rows_per_read": float(rows),
        "tables_read": float(len(span.tables)),
        "partitioned_sql_ms": partitioned,
        "one_table_sql_ms": one_table,
        "tick_range_api_ms": asyncio.run(api()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows before the re-measure")
    parser.add_argument("--month-rows", type=int, default=1_000_000, help="rows per month")
    parser.add_argument("--work", type=Path, help="folder for the databases (default: temp)")
    args = parser.parse_args()
    log.configure(level="warning")
    work = args.work or Path(tempfile.mkdtemp(prefix="rawdb-partbench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "parts.sqlite3"
    for leftover in work.glob("*.sqlite3*"):
        leftover.unlink()
    shutil.rmtree(work / "parts.sqlite3.archive", ignore_errors=True)
    # Months of 2024 are long past: a wide window lets routing make their tables on demand.
    wide = Policy(market_months_kept=1200, market_months_ahead=3)
    figures: dict[str, object] = {"date": datetime.now(UTC).date().isoformat()}
    with partitions.using(policy=wide):
        print(f"growing to {args.rows:,} rows ({args.month_rows:,} per month)", flush=True)
        figures["insert"] = asyncio.run(grow(path, args.rows, args.month_rows))
        print(json.dumps(figures["insert"]), flush=True)
        figures["archive_month"] = archive_month(path)
        print(json.dumps(figures["archive_month"]), flush=True)
        figures["read_3_months"] = reads(path, work)
    print(json.dumps(figures, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
