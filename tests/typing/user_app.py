"""Code as an application writes it over rawdb's public API; the typing test checks it with
mypy --strict, as the application's own CI would. It is never run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rawdb import Pool, PoolConfig, Settings, TickRow
from rawdb.errors import QueryTimeout, RawdbError
from rawdb.queries import instruments, run, ticks


async def record_and_read(path: Path) -> float | None:
    settings = Settings(database=path, readers=2, synchronous="FULL")
    async with Pool.open(settings, config=PoolConfig(acquire_timeout=5.0), migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P 500"})
        written: int = await ticks.insert_ticks(
            pool, [TickRow(es.id, datetime.now(UTC), 5000.25, 3)]
        )
        assert written == 1
        latest = await ticks.latest_tick(pool, es.id, timeout=0.05)
        try:
            rows = await run.query(pool, "list_instruments", timeout=None)
        except QueryTimeout as exc:
            print(exc.statement, exc.timeout)
            rows = []
        assert len(rows) <= 1
        async with pool.read(timeout=1.5) as reader:
            await reader.fetchall("SELECT 1", name="ping")
        async with pool.write() as conn:
            await conn.execute("UPDATE instruments SET name = ? WHERE id = ?", ("S&P", es.id))
    try:
        Settings(readers=0)
    except RawdbError as exc:
        print(exc)
    return None if latest is None else latest.price
