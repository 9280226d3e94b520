"""QuantumLeap trading: signals, orders, fills (trades) and positions, with exact numbers.

Prices, quantities and money are :class:`~decimal.Decimal` at the API and scaled integers in
the database (see :mod:`rawdb.trading.units`); a value with more decimal places than its column
holds is refused, never rounded. Every function takes the :class:`~rawdb.pool.Pool`; inside
``pool.write()`` of the same task the writing ones join the open transaction and the reading
ones see its rows.

    order = await trading.place_order(pool, {"client_order_id": "c1", "user_id": 1, ...})
    result = await trading.record_fill(pool, {"order_id": order.id, "execution_id": "x1", ...})
    result.position.quantity, result.position.realized_pnl
"""

from rawdb.trading.errors import CurrencyMismatch, OrderStateError, UnknownOrder
from rawdb.trading.fills import record_fill
from rawdb.trading.models import (
    OPEN_STATUSES,
    FillIn,
    FillResult,
    Order,
    OrderIn,
    Position,
    Signal,
    SignalIn,
    Trade,
)
from rawdb.trading.orders import (
    cancel_order,
    get_order,
    get_order_by_client_id,
    open_orders,
    place_order,
    update_order_status,
)
from rawdb.trading.positions import get_position, positions_of_user
from rawdb.trading.signals import get_signal, record_signal, signals_above
from rawdb.trading.trades import (
    get_trade,
    get_trade_by_execution_id,
    trades_by_symbol,
    trades_of_order,
)

__all__ = [
    "OPEN_STATUSES",
    "CurrencyMismatch",
    "FillIn",
    "FillResult",
    "Order",
    "OrderIn",
    "OrderStateError",
    "Position",
    "Signal",
    "SignalIn",
    "Trade",
    "UnknownOrder",
    "cancel_order",
    "get_order",
    "get_order_by_client_id",
    "get_position",
    "get_signal",
    "get_trade",
    "get_trade_by_execution_id",
    "open_orders",
    "place_order",
    "positions_of_user",
    "record_fill",
    "record_signal",
    "signals_above",
    "trades_by_symbol",
    "trades_of_order",
    "update_order_status",
]
