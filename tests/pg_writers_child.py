"""A child process of the PostgreSQL concurrency test: one application process among several
writing to the same server. Prints one JSON line with what it did.

python pg_writers_child.py URL NAME FILLS START   (waits until START, a Unix time, to begin)
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rawdb import Pool, Settings, TickRow, trading
from rawdb.queries import ticks

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


async def main(url: str, name: str, fills: int, start: float) -> dict[str, object]:
    rng = random.Random(name)
    async with Pool.open(Settings(database_url=url)) as pool:
        # The test's AAPL orders only: a child that started late could see the shared order
        # another one has placed already, and fill it past its quantity.
        orders = [o.id for o in await trading.open_orders(pool) if o.symbol == "AAPL"]
        await asyncio.sleep(max(0.0, start - time.time()))
        shared = await trading.place_order(
            pool,
            {"client_order_id": "shared", "user_id": 7, "symbol": "MSFT", "side": "buy",
             "quantity": Decimal(1)},
        )  # fmt: skip
        month = datetime.fromisoformat(sys.argv[5]).replace(tzinfo=UTC)
        for i in range(fills):
            await trading.record_fill(
                pool,
                {"order_id": rng.choice(orders), "execution_id": f"{name}-{i}",
                 "quantity": Decimal("0.25"), "price": Decimal("101.5"), "currency": "USD",
                 "timestamp": T0 + timedelta(seconds=i), "settlement_date": date(2026, 3, 4)},
            )  # fmt: skip
            await ticks.insert_ticks(
                pool, [TickRow(1, month + timedelta(minutes=i, seconds=s), 5.0) for s in range(20)]
            )
    return {"name": name, "fills": fills, "shared_order": shared.id}


if __name__ == "__main__":
    url, name, fills, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(asyncio.run(main(url, name, fills, start))))
