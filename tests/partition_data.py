"""Helpers for the partition and archive tests: a fake clock and a database with ticks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb.config import Settings
from rawdb.pool import Pool
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
MONTHS = (datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC), NOW)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(path: Path, per_month: int = 300) -> int:
    """Two instruments and ``per_month`` ticks in each of January, February and March 2026."""
    async with Pool.open(Settings(database=path), migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        nq = await instruments.add_instrument(pool, {"symbol": "NQ", "name": "Nasdaq"})
        rows = [
            TickRow((es.id, nq.id)[i % 2], start + timedelta(seconds=i), 100.0 + i % 13, i)
            for start in MONTHS
            for i in range(per_month)
        ]
        return await ticks.insert_ticks(pool, rows)


def tables(path: Path) -> list[str]:
    """Period tables present in the file."""
    with sqlite3.connect(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' "
                "AND name GLOB '*_[0-9][0-9][0-9][0-9]_*' ORDER BY name"
            )
        ]


def count(path: Path, table: str = "market_data") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
