"""Recording a fill: the trade, the order's filled quantity and status, and the position, in one
transaction.

Either all three change or none does: a refused trade (a CHECK, a duplicate execution id) or a
refused position leaves the order as it was. Inside an enclosing ``pool.write()`` of the same
task the fill joins that transaction as a SAVEPOINT.
"""

from __future__ import annotations

from typing import Any

from rawdb.backend import Row
from rawdb.errors import InvalidInput, UniqueViolation
from rawdb.models import validate_one
from rawdb.pool import Connection, Pool
from rawdb.queries.run import execute, fetch_one, new_id
from rawdb.trading.accounting import FLAT, Book, apply_fill
from rawdb.trading.errors import CurrencyMismatch, OrderStateError, UnknownOrder
from rawdb.trading.models import OPEN_STATUSES, FillIn, FillResult, Order, Position, Trade
from rawdb.trading.units import (
    E8,
    INT64_MAX,
    from_e8,
    minor_exponent,
    round_div,
    to_e8,
    to_minor,
    to_us,
)

# Trade columns that must agree for a repeated execution id to be the same fill.
_IDENTITY = (
    "order_id",
    "quantity_e8",
    "price_e8",
    "currency",
    "gross_amount_minor",
    "commission_minor",
    "fees_minor",
    "settlement_date",
    "timestamp",
)


async def record_fill(pool: Pool, fill: FillIn | dict[str, Any]) -> FillResult:
    """Record one execution of an order and return the trade, order and position after it.

    In one transaction: the trade is inserted; the order's filled quantity grows and its status
    becomes ``partially_filled`` or ``filled``; the user's position in the symbol is updated by
    average-cost accounting (:mod:`rawdb.trading.accounting`): quantity, cost basis and realized
    P&L, commission and fees charged to realized P&L.

    Idempotent by ``execution_id``: the same execution recorded again with the same content
    changes nothing and returns ``replayed=True``; with different content it raises
    :class:`~rawdb.errors.UniqueViolation`. An unknown order raises
    :class:`~rawdb.trading.errors.UnknownOrder`; a fill of an order that is no longer open, or
    beyond its remaining quantity, :class:`~rawdb.trading.errors.OrderStateError`; a currency
    other than the position's, :class:`~rawdb.trading.errors.CurrencyMismatch`.
    """
    item = validate_one(FillIn, fill, "fill")
    trade = _trade_params(item)
    async with pool.write() as conn:
        # Locked in this order (the order, then the position) by every fill: fills from several
        # processes of one order, or of one position, take turns and never deadlock.
        order = await fetch_one(conn, "lock_order", {"id": item.order_id})
        if order is None:
            raise UnknownOrder(f"fill {item.execution_id!r}: no order {item.order_id}")
        trade.update(
            symbol=order["symbol"],
            side=order["side"],
            settlement_amount_minor=settlement_minor(
                order["side"],
                trade["gross_amount_minor"],
                trade["commission_minor"] + trade["fees_minor"],
            ),
        )
        earlier = await fetch_one(
            conn, "get_trade_by_execution_id", {"execution_id": item.execution_id}
        )
        if earlier is not None:
            _same_trade_or_raise(earlier, trade)
            return await _result(conn, earlier["id"], order, replayed=True)
        _check_fillable(order, trade["quantity_e8"], item.execution_id)
        await fetch_one(conn, "lock_position", _position_key(order))
        position = await fetch_one(conn, "get_position", _position_key(order))
        position_params = _position_params(order, position, trade)
        inserted = await fetch_one(conn, "insert_trade", trade)
        order_params = {
            "id": order["id"],
            "quantity_e8": trade["quantity_e8"],
            "expected_status": order["status"],
            "now": trade["timestamp"],
        }
        await execute(conn, "apply_fill_to_order", order_params)
        await execute(conn, "upsert_position", position_params)
        return await _result(conn, new_id(inserted), order, replayed=False)


def gross_minor(quantity_e8: int, price_e8: int, currency: str) -> tuple[int, int]:
    """The exact gross amount ``quantity x price`` in minor units as a fraction (num, den)."""
    return quantity_e8 * price_e8 * 10 ** minor_exponent(currency), 10 ** (2 * E8)


def settlement_minor(side: str, gross: int, costs: int) -> int:
    """Cash of a trade, signed: a sell receives gross less costs, a buy pays gross plus costs."""
    return gross - costs if side == "sell" else -(gross + costs)


def _trade_params(item: FillIn) -> dict[str, Any]:
    quantity_e8 = to_e8(item.quantity, "quantity")
    price_e8 = to_e8(item.price, "price")
    numerator, denominator = gross_minor(quantity_e8, price_e8, item.currency)
    if item.gross_amount is None:
        gross = round_div(numerator, denominator)
    else:
        gross = to_minor(item.gross_amount, item.currency, "gross_amount")
        if abs(gross * denominator - numerator) >= denominator:
            raise InvalidInput(
                f"fill {item.execution_id!r}: gross_amount {item.gross_amount} is more than one "
                f"minor unit away from quantity x price = {item.quantity} x {item.price}"
            )
    commission = to_minor(item.commission, item.currency, "commission")
    fees = to_minor(item.fees, item.currency, "fees")
    return {
        "order_id": item.order_id,
        "execution_id": item.execution_id,
        "quantity_e8": quantity_e8,
        "price_e8": price_e8,
        "currency": item.currency,
        "gross_amount_minor": _int64(gross, "gross_amount", item.execution_id),
        "commission_minor": commission,
        "fees_minor": fees,
        "settlement_date": item.settlement_date.isoformat(),
        "timestamp": to_us(item.timestamp, "timestamp"),
    }


def _check_fillable(order: Row, quantity_e8: int, execution_id: str) -> None:
    if order["status"] not in OPEN_STATUSES:
        raise OrderStateError(
            f"fill {execution_id!r}: order {order['id']} is {order['status']} and takes no "
            "more fills; nothing was written"
        )
    remaining = order["quantity_e8"] - order["filled_quantity_e8"]
    if quantity_e8 > remaining:
        raise OrderStateError(
            f"fill {execution_id!r}: quantity {from_e8(quantity_e8)} exceeds what order "
            f"{order['id']} has left to fill, {from_e8(remaining)}; nothing was written"
        )


def _position_params(order: Row, position: Row | None, trade: dict[str, Any]) -> dict[str, Any]:
    """The position after this fill."""
    at = trade["timestamp"]
    if position is None:
        before, opened_at, updated_at = FLAT, at, at
    else:
        if position["currency"] != trade["currency"]:
            raise CurrencyMismatch(
                f"fill {trade['execution_id']!r}: in {trade['currency']}, but the position of "
                f"user {order['user_id']} in {order['symbol']} is kept in "
                f"{position['currency']}; nothing was written"
            )
        before = Book(
            position["quantity_e8"], position["cost_basis_minor"], position["realized_pnl_minor"]
        )
        opened_at, updated_at = position["opened_at"], max(position["updated_at"], at)
    signed = trade["quantity_e8"] if order["side"] == "buy" else -trade["quantity_e8"]
    costs = trade["commission_minor"] + trade["fees_minor"]
    after = apply_fill(before, signed, trade["gross_amount_minor"], costs)
    flipped = before.quantity_e8 * after.quantity_e8 < 0
    if before.quantity_e8 == 0 or flipped:
        opened_at = at  # a position opened from flat, or flipped to the other side, starts now
    for name in ("quantity_e8", "cost_basis_minor", "realized_pnl_minor"):
        _int64(getattr(after, name), name, trade["execution_id"])
    return {
        "user_id": order["user_id"],
        "symbol": order["symbol"],
        "quantity_e8": after.quantity_e8,
        "currency": trade["currency"],
        "cost_basis_minor": after.cost_basis_minor,
        "realized_pnl_minor": after.realized_pnl_minor,
        "opened_at": opened_at,
        "updated_at": updated_at,
    }


def _same_trade_or_raise(earlier: Row, trade: dict[str, Any]) -> None:
    differing = [name for name in _IDENTITY if earlier[name] != trade[name]]
    if differing:
        raise UniqueViolation(
            f"statement 'insert_trade': execution_id {trade['execution_id']!r} is already "
            f"trade {earlier['id']} with different {', '.join(differing)}; nothing was written",
            statement="insert_trade",
        )


async def _result(
    conn: Connection, trade_id: int | None, order: Row, *, replayed: bool
) -> FillResult:
    trade = await fetch_one(conn, "get_trade", {"id": trade_id})
    after = await fetch_one(conn, "get_order", {"id": order["id"]})
    position = await fetch_one(conn, "get_position", _position_key(order))
    assert trade is not None and after is not None and position is not None  # written here
    return FillResult(
        trade=Trade.from_row(trade),
        order=Order.from_row(after),
        position=Position.from_row(position),
        replayed=replayed,
    )


def _position_key(order: Row) -> dict[str, Any]:
    return {"user_id": order["user_id"], "symbol": order["symbol"]}


def _int64(value: int, name: str, execution_id: str) -> int:
    if abs(value) > INT64_MAX:
        raise InvalidInput(f"fill {execution_id!r}: {name} {value} is too large to store")
    return value
