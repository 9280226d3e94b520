"""Shared pieces of the benchmarks: databases at a known version, tick generators, timing."""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rawdb.backend.sqlite.connection import open_sync
from rawdb.catalog import registry
from rawdb.catalog.periods import Period
from rawdb.catalog.templates import COLUMNS
from rawdb.config import Settings
from rawdb.migrate import Migrator
from rawdb.queries.rows import TickRow, prepare_ticks

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
INSTRUMENTS = 100


def migrated(path: Path, version: int | None = None) -> Path:
    """A fresh database at ``version`` (newest when None: with :data:`START`'s month table)
    with INSTRUMENTS instruments."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Migrator(path, backup=False, settings=Settings(database=path)).up(to=version)
    conn = open_sync(path, Settings(database=path))
    stamp = "2026-01-01 00:00:00.000000"
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO instruments (id, symbol, name, type, status, created_at, updated_at) "
        "VALUES (?, ?, ?, 'future', 'active', ?, ?)",
        [(i, f"I{i:03d}", f"Instrument {i}", stamp, stamp) for i in range(1, INSTRUMENTS + 1)],
    )
    conn.execute("COMMIT")
    if version is None:
        # Every path starts with the month its ticks go to made, as the daily task makes it
        # ahead in an application; no path pays for creating it inside its timed batches.
        month_table(conn)
    conn.close()
    return path


def ticks(
    count: int,
    seed: int = 1,
    start: datetime = START,
    spacing: timedelta = timedelta(milliseconds=1),
) -> list[TickRow]:
    """A random walk per instrument, ticks ``spacing`` apart in time, bid < ask."""
    rng = random.Random(seed)
    prices = [100.0 + 10 * i for i in range(INSTRUMENTS + 1)]
    out: list[TickRow] = []
    for n in range(count):
        instrument = 1 + rng.randrange(INSTRUMENTS)
        prices[instrument] = max(1.0, prices[instrument] + rng.choice((-0.25, 0.0, 0.25)))
        price = prices[instrument]
        out.append(
            TickRow(
                instrument,
                start + spacing * n,
                price,
                rng.randint(1, 50),
                price - 0.25,
                price + 0.25,
                rng.randint(1, 100),
                rng.randint(1, 100),
            )
        )
    return out


def stored_rows(rows: list[TickRow]) -> list[tuple[Any, ...]]:
    """The same ticks in storage form, every column (what a hand-written stdlib path binds)."""
    return [(*row, None, None, None)[:11] for row in prepare_ticks(rows)]


def batches(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def stdlib_insert(path: Path, rows: list[tuple[Any, ...]], batch: int) -> float:
    """Plain sqlite3 executemany, same pragmas, ``batch`` rows per commit; rows/s.

    Rows of 11 values bind every column, as a hand-written layer does; shorter rows bind the
    leading columns only (the tuned form, which rawdb uses for ticks without bar fields).
    """
    conn = open_sync(path, Settings(database=path))
    sql = plain_insert_sql(conn, len(rows[0]))
    started = time.perf_counter()
    for part in batches(rows, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, part)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def plain_insert_sql(conn: sqlite3.Connection, width: int = 11, table: str | None = None) -> str:
    """A plain one-table INSERT of the first ``width`` tick columns.

    Into ``table`` when given; else into market_data (before 0009), or on the partitioned
    schema into the month table of :data:`START`, made from the template as rawdb makes it:
    the table rawdb's own insert of these ticks writes to.
    """
    if table is None:
        kind = conn.execute("SELECT type FROM sqlite_schema WHERE name = 'market_data'").fetchone()
        table = "market_data" if kind and kind[0] == "table" else month_table(conn)
    columns = COLUMNS["market_data"][1:12][:width]  # after id, before deleted_at
    marks = ", ".join("?" * width)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def month_table(conn: sqlite3.Connection, moment: datetime = START) -> str:
    """The market_data table of ``moment``'s month, created (and registered) when missing."""
    period = Period.of_time("market_data", moment)
    parts = registry.load_sync(conn, "market_data")
    if period not in parts.periods:
        conn.execute("BEGIN IMMEDIATE")
        registry.run_plan_sync(
            conn, registry.create_plan(parts, period, registry.now_text(), "benchmark")
        )
        conn.execute("COMMIT")
    return period.table


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000}


def row_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM market_data").fetchone()[0] or 0)
