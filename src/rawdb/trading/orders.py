"""Orders: place (idempotent by client_order_id), look up, move through statuses, cancel, list.

Placing an order stores it as ``pending_new``. The broker's acknowledgement moves it to ``new``
(:func:`update_order_status`), fills move it to ``partially_filled`` and ``filled``
(:func:`rawdb.trading.fills.record_fill`), and ``cancelled``, ``rejected`` and ``expired`` end
it. A status the order cannot reach from where it is raises
:class:`~rawdb.trading.errors.OrderStateError`; asking for the status it already has changes
nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import UniqueViolation, UsageError
from rawdb.models import validate_one
from rawdb.pool import Connection, Pool
from rawdb.queries.run import execute, fetch_all, fetch_one, new_id, reading
from rawdb.trading.errors import OrderStateError
from rawdb.trading.models import Order, OrderIn, OrderStatus
from rawdb.trading.units import check_limit, now_us, to_e8, to_us

# Status -> the statuses it may be reached from by update_order_status (fills set the others).
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "new": ("pending_new",),
    "rejected": ("pending_new", "new"),
    "cancelled": ("pending_new", "new", "partially_filled"),
    "expired": ("pending_new", "new", "partially_filled"),
}

# Columns that must agree for a repeated client_order_id to be the same order.
_IDENTITY: Final = (
    "user_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "quantity_e8",
    "limit_price_e8",
    "stop_price_e8",
    "signal_id",
)


async def place_order(
    pool: Pool, order: OrderIn | dict[str, Any], *, at: datetime | None = None
) -> Order:
    """Store a new order as ``pending_new`` and return it.

    Idempotent by ``client_order_id``: placing an order whose ``client_order_id`` exists with
    the same content (user, symbol, side, type, time in force, quantity, prices, signal)
    returns the stored order unchanged, whatever its status now, so a retry after a lost
    answer is safe. The same ``client_order_id`` with different content raises
    :class:`~rawdb.errors.UniqueViolation` naming the fields that differ; nothing is written.
    An unknown ``signal_id`` raises :class:`~rawdb.errors.ForeignKeyViolation`.
    """
    item = validate_one(OrderIn, order, "order")
    params: dict[str, Any] = {
        "client_order_id": item.client_order_id,
        "broker_order_id": item.broker_order_id,
        "user_id": item.user_id,
        "signal_id": item.signal_id,
        "symbol": item.symbol,
        "side": item.side,
        "order_type": item.order_type,
        "time_in_force": item.time_in_force,
        "quantity_e8": to_e8(item.quantity, "quantity"),
        "limit_price_e8": _e8(item.limit_price),
        "stop_price_e8": _e8(item.stop_price),
        "now": now_us() if at is None else to_us(at, "at"),
    }
    key = {"client_order_id": item.client_order_id}
    async with pool.write() as conn:
        existing = await fetch_one(conn, "get_order_by_client_id", key)
        if existing is None:
            new = await fetch_one(conn, "insert_order", params)
            if new is not None:
                return await _load(conn, new_id(new))
            # Placed by another process between the look and the insert: that order is it.
            existing = await fetch_one(conn, "get_order_by_client_id", key)
            assert existing is not None  # the insert's conflict was with this row
        _same_order_or_raise(existing, params)
        return Order.from_row(existing)


async def get_order(
    pool: Pool, order_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Order | None:
    """One order by id, or None."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_order", {"id": order_id})
    return None if row is None else Order.from_row(row)


async def get_order_by_client_id(
    pool: Pool, client_order_id: str, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Order | None:
    """One order by its ``client_order_id``, or None."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_order_by_client_id", {"client_order_id": client_order_id})
    return None if row is None else Order.from_row(row)


async def update_order_status(
    pool: Pool,
    order_id: int,
    status: OrderStatus,
    *,
    broker_order_id: str | None = None,
    reject_reason: str | None = None,
    at: datetime | None = None,
) -> Order | None:
    """Move an order to ``new``, ``rejected``, ``cancelled`` or ``expired``; None if no such id.

    ``broker_order_id`` (typically with ``new``) and ``reject_reason`` are stored when given.
    The status the order already has is a no-op that returns it. A status it cannot reach
    (cancelling a filled order, rejecting a partly filled one) raises
    :class:`~rawdb.trading.errors.OrderStateError`; ``partially_filled`` and ``filled`` come
    only from fills (:func:`rawdb.trading.fills.record_fill`).
    """
    if status not in TRANSITIONS:
        raise UsageError(
            f"status {status!r} cannot be set directly; choose one of {sorted(TRANSITIONS)} "
            "(fills set partially_filled and filled, placing sets pending_new)"
        )
    now = now_us() if at is None else to_us(at, "at")
    async with pool.write() as conn:
        row = await fetch_one(conn, "lock_order", {"id": order_id})
        if row is None:
            return None
        current = row["status"]
        if current == status:
            return Order.from_row(row)
        if current not in TRANSITIONS[status]:
            raise OrderStateError(
                f"order {order_id} is {current}; it cannot become {status} (only from "
                f"{', '.join(TRANSITIONS[status])}); nothing was changed"
            )
        params = {
            "id": order_id,
            "status": status,
            "expected_status": current,
            "broker_order_id": broker_order_id,
            "reject_reason": reject_reason,
            "now": now,
        }
        await execute(conn, "set_order_status", params)
        return await _load(conn, order_id)


async def cancel_order(pool: Pool, order_id: int, *, at: datetime | None = None) -> Order | None:
    """Cancel an open order (idempotent); None if no such id.

    Filled, rejected or expired orders raise :class:`~rawdb.trading.errors.OrderStateError`.
    A partly filled order keeps its fills and its filled quantity.
    """
    return await update_order_status(pool, order_id, "cancelled", at=at)


async def open_orders(
    pool: Pool,
    *,
    user_id: int | None = None,
    limit: int = 1000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Order]:
    """Orders that may still fill (pending_new, new, partially_filled), oldest first.

    Of one user when ``user_id`` is given; reads the ``(status, created_at)`` index.
    """
    params = {"user_id": user_id, "limit": check_limit(limit)}
    async with reading(pool, timeout) as conn:
        rows = await fetch_all(conn, "open_orders", params)
    return [Order.from_row(r) for r in rows]


async def _load(conn: Connection, order_id: int | None) -> Order:
    row = await fetch_one(conn, "get_order", {"id": order_id})
    assert row is not None  # written in this transaction
    return Order.from_row(row)


def _same_order_or_raise(existing: Any, params: dict[str, Any]) -> None:
    differing = [name for name in _IDENTITY if existing[name] != params[name]]
    broker = params["broker_order_id"]
    if broker is not None and existing["broker_order_id"] not in (None, broker):
        differing.append("broker_order_id")
    if differing:
        raise UniqueViolation(
            f"statement 'insert_order': client_order_id {params['client_order_id']!r} is "
            f"already order {existing['id']} with different {', '.join(differing)}; nothing "
            "was written. Use a new client_order_id for a new order",
            statement="insert_order",
        )


def _e8(value: Any) -> int | None:
    return None if value is None else to_e8(value, "price")
