"""Positions: one user's position in a symbol, and all of a user's positions.

Positions are written only by :func:`rawdb.trading.fills.record_fill`, in the transaction of
the fill that changes them.
"""

from __future__ import annotations

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.pool import Pool
from rawdb.queries.run import fetch_all, fetch_one, reading
from rawdb.trading.models import Position


async def get_position(
    pool: Pool, user_id: int, symbol: str, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Position | None:
    """The position of ``user_id`` in ``symbol`` (possibly flat), or None if never traded."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_position", {"user_id": user_id, "symbol": symbol})
    return None if row is None else Position.from_row(row)


async def positions_of_user(
    pool: Pool, user_id: int, *, include_flat: bool = False, timeout: ReadTimeout = FROM_SETTINGS
) -> list[Position]:
    """A user's positions by symbol; flat ones (kept for their realized P&L) when asked."""
    params = {"user_id": user_id, "include_flat": bool(include_flat)}
    async with reading(pool, timeout) as conn:
        rows = await fetch_all(conn, "positions_of_user", params)
    return [Position.from_row(r) for r in rows]
