"""Trades (fills) as recorded: by symbol over a time range, by order, by id."""

from __future__ import annotations

from datetime import datetime

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.pool import Pool
from rawdb.queries.run import fetch_all, fetch_one, reading
from rawdb.trading.models import Trade
from rawdb.trading.units import check_limit, to_us


async def get_trade(
    pool: Pool, trade_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Trade | None:
    """One trade by id, or None."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_trade", {"id": trade_id})
    return None if row is None else Trade.from_row(row)


async def get_trade_by_execution_id(
    pool: Pool, execution_id: str, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Trade | None:
    """One trade by the broker's execution id, or None."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_trade_by_execution_id", {"execution_id": execution_id})
    return None if row is None else Trade.from_row(row)


async def trades_by_symbol(
    pool: Pool,
    symbol: str,
    start: datetime,
    end: datetime,
    *,
    limit: int = 10_000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Trade]:
    """Trades of ``symbol`` with ``start <= timestamp < end``, oldest first.

    Reads the ``(symbol, timestamp)`` index: one seek, then the range in order.
    """
    params = {
        "symbol": symbol,
        "start": to_us(start, "start"),
        "end": to_us(end, "end"),
        "limit": check_limit(limit),
    }
    async with reading(pool, timeout) as conn:
        rows = await fetch_all(conn, "trades_by_symbol", params)
    return [Trade.from_row(r) for r in rows]


async def trades_of_order(
    pool: Pool, order_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> list[Trade]:
    """The fills of one order, oldest first."""
    async with reading(pool, timeout) as conn:
        rows = await fetch_all(conn, "trades_of_order", {"order_id": order_id})
    return [Trade.from_row(r) for r in rows]
