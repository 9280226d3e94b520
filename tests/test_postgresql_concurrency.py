"""Several application processes writing to one PostgreSQL server at once, as on several
machines: no fill is lost from a position, an idempotent order is placed once, and a month's
partition made by whichever process gets there first holds every process's ticks."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from rawdb import Pool, Settings, trading
from rawdb.partitions import Period
from rawdb.queries import instruments, ticks

from conftest import run_together

pytest.importorskip("psycopg")

CHILD = Path(__file__).with_name("pg_writers_child.py")
PROCESSES = 3
FILLS = 40


async def test_fills_orders_and_a_new_month_from_three_processes_add_up(pg_url: str) -> None:
    month = Period.of_time("market_data", datetime.now(UTC)).shifted(-5)
    start = datetime.fromisoformat(month.start_text).replace(tzinfo=UTC)
    settings = Settings(database_url=pg_url)
    async with Pool.open(settings, migrate=True) as pool:
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "ES"})
        for n in range(4):
            await trading.place_order(
                pool,
                {"client_order_id": f"o-{n}", "user_id": 7, "symbol": "AAPL", "side": "buy",
                 "quantity": Decimal(40)},
            )  # fmt: skip
    go = f"{time.time() + 3:.3f}"  # every child connected and waiting, then all at once
    commands = [
        [sys.executable, str(CHILD), pg_url, f"p{i}", str(FILLS), go, start.isoformat()]
        for i in range(PROCESSES)
    ]
    results = run_together(commands, timeout=240)
    for code, _out, err in results:
        assert code == 0, err
    said = [json.loads(out) for _code, out, _err in results]
    assert len({s["shared_order"] for s in said}) == 1  # placed once, the same id to each

    async with Pool.open(settings) as pool:
        position = await trading.get_position(pool, 7, "AAPL")
        assert position is not None
        total = Decimal("0.25") * FILLS * PROCESSES
        assert position.quantity == total
        gross = (Decimal("0.25") * Decimal("101.5")).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        assert position.cost_basis == gross * FILLS * PROCESSES  # each fill's gross in cents
        filled = Decimal(0)
        for order in await trading.open_orders(pool):
            if order.symbol != "AAPL":
                continue
            fills = await trading.trades_of_order(pool, order.id)
            assert order.filled_quantity == sum((t.quantity for t in fills), Decimal(0))
            filled += order.filled_quantity
        assert filled == total
        end = datetime.fromisoformat(month.shifted(1).start_text).replace(tzinfo=UTC)
        rows = await ticks.tick_range(pool, 1, start, end, limit=10_000)
        assert len(rows) == PROCESSES * 20 * FILLS
