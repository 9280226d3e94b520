"""The ingest comparison of the benchmark: every path inserts the same batches, in turn.

On a shared machine the load changes within seconds, so timing one path for a whole run and
then the next compares different machines. Here every path has its own fresh database and
they take turns batch by batch (the order rotates each batch): path A's batch 7 and path B's
batch 7 run within a second of each other, so their ratio is what the code costs, not what
the neighbours did. A path's rate is its ticks over its own summed time.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench_common import migrated, plain_insert_sql, stored_rows, ticks
from bench_orm import OrmInserter
from bench_postgresql import new_database, stored_ticks
from rawdb.backend.sqlite.connection import open_sync
from rawdb.config import Settings
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.pool import Pool
from rawdb.queries import ticks as tick_queries

Insert = Callable[[int, int], Awaitable[None]]
"""Insert the ticks [start, end) of the run, as one batch, committed when it returns."""

BASE = "stdlib_executemany"
PG_BULK = "postgresql_bulk_insert"
PG_STREAM = "postgresql_streaming_writer"


def stdlib_path(
    path: Path, rows: list[tuple[Any, ...]], table: str | None = None
) -> tuple[Insert, Callable[[], None]]:
    """Plain sqlite3 executemany, same pragmas, one transaction per batch, into the table
    rawdb writes these ticks to (or ``table``)."""
    conn = open_sync(path, Settings(database=path))
    sql = plain_insert_sql(conn, len(rows[0]), table)

    async def insert(start: int, end: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows[start:end])
        conn.execute("COMMIT")

    return insert, conn.close


async def ingest(
    work: Path, count: int, batch: int, orm_rows: int, pg_server: str | None = None
) -> dict[str, Any]:
    """Rates (rows/s) and ratios to stdlib executemany of every ingest path (with the
    PostgreSQL paths when ``pg_server`` is a server's URL)."""
    rows = ticks(count)
    stored = stored_rows(rows)
    quotes = [row[:8] for row in stored]
    # The inputs live for the whole run; an application does not hold a million tuples, so
    # keep them out of the garbage collector's passes.
    gc.freeze()
    paths: dict[str, Insert] = {}
    limits: dict[str, int] = {}
    async with AsyncExitStack() as stack:
        for name, source, version, table in (
            (BASE, stored, None, None),
            # Binding only the 8 columns these ticks have, as rawdb does: the tuned ceiling.
            ("stdlib_executemany_8_columns", quotes, None, None),
            # The default table keeps the (timestamp, instrument_id) index month tables drop.
            ("stdlib_executemany_default_table", stored, None, "market_data_default"),
            ("legacy_schema_stdlib", stored, 1, None),
        ):
            db = migrated(work / f"{name}.sqlite3", version)
            insert, close = stdlib_path(db, source, table)
            stack.callback(close)
            paths[name] = insert
        for name, synchronous in (
            ("rawdb_bulk_insert", "NORMAL"),
            ("rawdb_bulk_insert_synchronous_full", "FULL"),
        ):
            path = migrated(work / f"{name}.sqlite3")
            pool = await stack.enter_async_context(
                Pool.open(Settings(database=path, synchronous=synchronous))
            )
            paths[name] = _bulk(pool, rows)
        # The same bulk insert keeping bars and latest prices (Settings.rollups): their cost.
        path = migrated(work / "rawdb_bulk_insert_with_rollups.sqlite3")
        pool = await stack.enter_async_context(Pool.open(Settings(database=path, rollups=True)))
        paths["rawdb_bulk_insert_with_rollups"] = _bulk(pool, rows)
        path = migrated(work / "rawdb_streaming_writer.sqlite3")
        pool = await stack.enter_async_context(Pool.open(Settings(database=path)))
        config = StreamConfig(batch_size=batch, max_delay=0.05, queue_limit=batch * 8)
        stream = await stack.enter_async_context(TickStream(pool, config))
        paths["rawdb_streaming_writer"] = _streamed(stream, rows)
        pg_urls: dict[str, str] = {}
        if pg_server is not None:  # the same calls on PostgreSQL (bench_postgresql)
            url = pg_urls[PG_BULK] = await new_database(pg_server, PG_BULK)
            pool = await stack.enter_async_context(Pool.open(Settings(database_url=url)))
            paths[PG_BULK] = _bulk(pool, rows)
            url = pg_urls[PG_STREAM] = await new_database(pg_server, PG_STREAM)
            pool = await stack.enter_async_context(Pool.open(Settings(database_url=url)))
            stream = await stack.enter_async_context(TickStream(pool, config))
            paths[PG_STREAM] = _streamed(stream, rows)
        # The ORM maps one market_data table: the last schema before partitioning (0008). It
        # takes part in the batches of the first orm_rows ticks: Python bounds its rate, not
        # the count.
        orm = OrmInserter(migrated(work / "sqlalchemy_orm_add_all.sqlite3", 8), rows)
        stack.callback(orm.close)
        paths["sqlalchemy_orm_add_all"] = orm.insert
        limits["sqlalchemy_orm_add_all"] = orm_rows
        spent, done, orm_turns = await _take_turns(paths, limits, count, batch)
    for name in paths:  # every path wrote what it was timed for
        if name in pg_urls:
            stored_count = stored_ticks(pg_urls[name])
        else:
            with sqlite3.connect(work / f"{name}.sqlite3") as conn:
                stored_count = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
        if stored_count != done[name]:
            raise RuntimeError(f"{name}: timed {done[name]} ticks, stored {stored_count}")
    rates = {name: done[name] / spent[name] for name in paths}
    ratios = {name: rate / rates[BASE] for name, rate in rates.items()}
    # The ORM ran in the first turns only: compare it with what the others did in those.
    orm = "sqlalchemy_orm_add_all"
    ratios[orm] = orm_turns[BASE] / orm_turns[orm]
    engines = {}
    if pg_urls:
        engines = {
            "postgresql_vs_rawdb_sqlite": {
                "bulk": round(rates[PG_BULK] / rates["rawdb_bulk_insert"], 3),
                "streaming": round(rates[PG_STREAM] / rates["rawdb_streaming_writer"], 3),
            },
            "postgresql_urls": pg_urls,
        }
    return engines | {
        "rows": count,
        "orm_rows": done[orm],
        "batch": batch,
        "rows_per_s": {name: round(rate) for name, rate in rates.items()},
        "vs_stdlib": {name: round(ratio, 3) for name, ratio in ratios.items()},
        "rawdb_vs_orm": round(orm_turns[orm] / orm_turns["rawdb_bulk_insert"], 1),
        "rollups_vs_none": round(
            rates["rawdb_bulk_insert_with_rollups"] / rates["rawdb_bulk_insert"], 3
        ),
    }


async def _take_turns(
    paths: dict[str, Insert], limits: dict[str, int], count: int, batch: int
) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    """Seconds and ticks per path, and each path's seconds in the turns every path took."""
    spent = dict.fromkeys(paths, 0.0)
    done = dict.fromkeys(paths, 0)
    shared = dict.fromkeys(paths, 0.0)
    names = list(paths)
    for turn, start in enumerate(range(0, count, batch)):
        end = min(start + batch, count)
        everyone = all(start < limits.get(name, count) for name in names)
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            if start >= limits.get(name, count):
                continue
            began = time.perf_counter()
            await paths[name](start, end)
            seconds = time.perf_counter() - began
            spent[name] += seconds
            done[name] += end - start
            if everyone:
                shared[name] += seconds
    return spent, done, shared


def _bulk(pool: Pool, rows: list[Any]) -> Insert:
    async def insert(start: int, end: int) -> None:
        await tick_queries.insert_ticks(pool, rows[start:end])

    return insert


def _streamed(stream: TickStream, rows: list[Any]) -> Insert:
    async def insert(start: int, end: int) -> None:
        for tick in rows[start:end]:
            await stream.put(tick)
        await stream.flush()

    return insert
