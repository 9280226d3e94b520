"""The PostgreSQL rows of the benchmark: the same calls on both engines, paired in one run.

The server is a throwaway cluster with PostgreSQL's default durability (fsync on, synchronous
commit), on a unix socket, started for the run (tools/throwaway_postgres.py) unless a URL is
given. SQLite runs as rawdb runs it (WAL, synchronous=NORMAL). Ingest: the PostgreSQL paths
take their turns in bench_ingest beside the SQLite ones. Reads: after ingest both engines
hold the same ticks (the rawdb bulk insert path's file and the PostgreSQL bulk path's
database); each read runs on one engine then the other, alternating which goes first.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_common import INSTRUMENTS, START, percentiles
from rawdb import Pool, Settings
from rawdb.backend.postgresql.connection import connect
from rawdb.queries import ticks as tick_queries
from rawdb.queries.postgresql import ensure_partitions

TOOLS = Path(__file__).resolve().parent
READ_ROUNDS = 300


def _server_tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "throwaway_postgres", TOOLS / "throwaway_postgres.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def server(url: str | None) -> Iterator[str]:
    """The server's maintenance URL: ``url``, or a durable throwaway cluster for the run."""
    if url:
        yield url
        return
    tool = _server_tool()
    started = tool.start(durable=True)
    try:
        yield started
    finally:
        tool.stop(tool.folder_of(started))


async def new_database(server_url: str, name: str) -> str:
    """A fresh database on the server, migrated, with the benchmark's instruments and the
    month its ticks go to made (as the daily premake makes it in an application)."""
    with connect(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = server_url.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    await _prepare(url)
    return url


async def _prepare(url: str) -> None:
    async with Pool.open(Settings(database_url=url), migrate=True) as pool, pool.write() as conn:
        for i in range(1, INSTRUMENTS + 1):
            await conn.execute(
                "INSERT INTO instruments (id, symbol, name, type, status, created_at, updated_at)"
                " VALUES (%(id)s, %(symbol)s, %(name)s, 'future', 'active', now(), now())",
                {"id": i, "symbol": f"I{i:03d}", "name": f"Instrument {i}"},
            )
        await ensure_partitions(conn, "market_data", {START.strftime("%Y-%m")}, anywhere=True)


def stored_ticks(url: str) -> int:
    with connect(url) as conn:
        found = conn.execute("SELECT count(*) FROM market_data").fetchone()
    return int(found[0]) if found else 0


Read = Callable[[Pool], Awaitable[Any]]


def _reads(count: int) -> dict[str, Read]:
    """The reads compared: what a screen asks, over the span the ingest wrote."""
    end = START + timedelta(milliseconds=count)
    minute = timedelta(minutes=1)
    rng = random.Random(3)

    def instrument() -> int:
        return 1 + rng.randrange(INSTRUMENTS)

    return {
        "latest_tick": lambda pool: tick_queries.latest_tick(pool, instrument()),
        "latest_of_100": tick_queries.latest_ticks,
        "range_1m": lambda pool: tick_queries.tick_range(pool, instrument(), end - minute, end),
        "bars_1m": lambda pool: tick_queries.ohlc_bars(pool, instrument(), START, end, "1m"),
    }


async def reads_compared(sqlite_file: Path, url: str, count: int) -> dict[str, Any]:
    """p50/p99 of each read on both engines, turn by turn, and PostgreSQL's p50 over SQLite's."""
    reads = _reads(count)
    samples: dict[str, dict[str, list[float]]] = {
        n: {"sqlite": [], "postgresql": []} for n in reads
    }
    async with (
        Pool.open(Settings(database=sqlite_file)) as sqlite,
        Pool.open(Settings(database_url=url)) as postgresql,
    ):
        pools = {"sqlite": sqlite, "postgresql": postgresql}
        same = [
            await tick_queries.ohlc_bars(p, 7, START, START + timedelta(milliseconds=count))
            for p in pools.values()
        ]
        if same[0] != same[1]:
            raise RuntimeError("the engines' 1-minute bars of the same ticks differ")
        for turn in range(READ_ROUNDS):
            order = ("sqlite", "postgresql") if turn % 2 else ("postgresql", "sqlite")
            for name, read in reads.items():
                for engine in order:
                    began = time.perf_counter()
                    await read(pools[engine])
                    samples[name][engine].append(time.perf_counter() - began)
    result: dict[str, Any] = {}
    for name, by_engine in samples.items():
        figures = {engine: percentiles(s) for engine, s in by_engine.items()}
        figures["postgresql_vs_sqlite_p50"] = round(
            figures["postgresql"]["p50_ms"] / figures["sqlite"]["p50_ms"], 2
        )
        result[name] = figures
    return result
