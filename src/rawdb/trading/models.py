"""Signals, orders, fills, trades and positions as pydantic models, with exact numbers.

Prices, quantities and money are :class:`~decimal.Decimal` at the API (an ``int`` or a decimal
string such as ``'0.1'`` is accepted too; a ``float`` is refused, it is not exact). They are
stored as scaled integers: prices and quantities with 8 decimal places, money in the minor unit
of its currency. A value with more places than that is refused, naming the field, never
rounded. Times are timezone-aware datetimes, stored as integer microseconds UTC.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from rawdb.backend import Row
from rawdb.errors import InvalidInput
from rawdb.trading.units import from_e8, from_minor, from_us, to_e8, to_minor

Side = Literal["buy", "sell"]
Direction = Literal["long", "short", "flat"]
OrderType = Literal["market", "limit", "stop", "stop_limit"]
TimeInForce = Literal["day", "gtc", "ioc", "fok"]
OrderStatus = Literal[
    "pending_new", "new", "partially_filled", "filled", "cancelled", "rejected", "expired"
]
OPEN_STATUSES: tuple[OrderStatus, ...] = ("pending_new", "new", "partially_filled")
"""Statuses of an order that may still fill (what ``open_orders`` lists)."""


def _no_float(value: Any) -> Any:
    if isinstance(value, (float, bool)):
        raise ValueError(
            f"a {type(value).__name__} is not exact; pass a Decimal, an int or a decimal string "
            "such as '0.1'"
        )
    return value


def _fits_e8(value: Decimal) -> Decimal:
    try:
        to_e8(value, "value")
    except InvalidInput as exc:
        raise ValueError(str(exc).removeprefix("value: ")) from None
    return value


Exact = Annotated[Decimal, BeforeValidator(_no_float), Field(allow_inf_nan=False)]
"""A Decimal at the API; floats refused."""
Positive8 = Annotated[Exact, Field(gt=0), AfterValidator(_fits_e8)]
"""A price or quantity: positive, at most 8 decimal places."""
Money = Annotated[Exact, Field(ge=0)]
"""A non-negative amount of money; its places are checked against its currency."""
Id = Annotated[int, Field(gt=0, lt=2**63)]
Symbol = Annotated[str, Field(min_length=1, max_length=32)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- signals ----------------------------------------------------------------------------------


class SignalIn(_In):
    """A strategy's signal to record."""

    strategy: Annotated[str, Field(min_length=1, max_length=64)]
    symbol: Symbol
    direction: Direction
    confidence_score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
    timestamp: AwareDatetime
    expires_at: AwareDatetime | None = None
    target_price: Positive8 | None = None
    stop_price: Positive8 | None = None
    payload: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _expiry_after_time(self) -> Self:
        if self.expires_at is not None and self.expires_at <= self.timestamp:
            raise ValueError(f"expires_at {self.expires_at} is not after timestamp")
        return self


class Signal(_Out):
    """A stored signal."""

    id: int
    strategy: str
    symbol: str
    direction: Direction
    confidence_score: float
    timestamp: datetime
    expires_at: datetime | None
    target_price: Decimal | None
    stop_price: Decimal | None
    payload: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Row) -> Signal:
        return cls(
            id=row["id"],
            strategy=row["strategy"],
            symbol=row["symbol"],
            direction=row["direction"],
            confidence_score=row["confidence_score"],
            timestamp=from_us(row["timestamp"]),
            expires_at=from_us(row["expires_at"]),
            target_price=from_e8(row["target_price_e8"]),
            stop_price=from_e8(row["stop_price_e8"]),
            payload=None if row["payload"] is None else json.loads(row["payload"]),
        )


# --- orders -----------------------------------------------------------------------------------


class OrderIn(_In):
    """An order to place; ``client_order_id`` is the caller's idempotency key."""

    client_order_id: Annotated[str, Field(min_length=1, max_length=128)]
    user_id: Id
    symbol: Symbol
    side: Side
    quantity: Positive8
    order_type: OrderType = "market"
    time_in_force: TimeInForce = "day"
    limit_price: Positive8 | None = None
    stop_price: Positive8 | None = None
    signal_id: Id | None = None
    broker_order_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None

    @model_validator(mode="after")
    def _prices_match_type(self) -> Self:
        needs_limit = self.order_type in ("limit", "stop_limit")
        needs_stop = self.order_type in ("stop", "stop_limit")
        if needs_limit != (self.limit_price is not None):
            raise ValueError(
                f"limit_price is {'required' if needs_limit else 'not allowed'} for a "
                f"{self.order_type} order"
            )
        if needs_stop != (self.stop_price is not None):
            raise ValueError(
                f"stop_price is {'required' if needs_stop else 'not allowed'} for a "
                f"{self.order_type} order"
            )
        return self


class Order(_Out):
    """A stored order."""

    id: int
    client_order_id: str
    broker_order_id: str | None
    user_id: int
    signal_id: int | None
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    filled_quantity: Decimal
    status: OrderStatus
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def remaining_quantity(self) -> Decimal:
        """What is left to fill (exact)."""
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        """Whether the order may still fill."""
        return self.status in OPEN_STATUSES

    @classmethod
    def from_row(cls, row: Row) -> Order:
        return cls(
            id=row["id"],
            client_order_id=row["client_order_id"],
            broker_order_id=row["broker_order_id"],
            user_id=row["user_id"],
            signal_id=row["signal_id"],
            symbol=row["symbol"],
            side=row["side"],
            order_type=row["order_type"],
            time_in_force=row["time_in_force"],
            quantity=from_e8(row["quantity_e8"]),
            limit_price=from_e8(row["limit_price_e8"]),
            stop_price=from_e8(row["stop_price_e8"]),
            filled_quantity=from_e8(row["filled_quantity_e8"]),
            status=row["status"],
            reject_reason=row["reject_reason"],
            created_at=from_us(row["created_at"]),
            updated_at=from_us(row["updated_at"]),
        )


# --- fills and trades -------------------------------------------------------------------------


class FillIn(_In):
    """One execution of an order, as the broker reports it.

    ``gross_amount`` (quantity x price in ``currency``) defaults to that product rounded half to
    even to the currency's minor unit; pass the broker's figure to store it instead (it must be
    within one minor unit of the exact product). Commission and fees may have no more decimal
    places than the currency's minor unit.
    """

    order_id: Id
    execution_id: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Positive8
    price: Positive8
    currency: Currency
    timestamp: AwareDatetime
    settlement_date: date
    commission: Money = Decimal(0)
    fees: Money = Decimal(0)
    gross_amount: Money | None = None

    @model_validator(mode="after")
    def _money_fits_currency(self) -> Self:
        for name in ("commission", "fees", "gross_amount"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                to_minor(value, self.currency, name)
            except InvalidInput as exc:
                raise ValueError(str(exc)) from None
        return self


class Trade(_Out):
    """A stored trade (one fill); money in ``currency`` units, exact."""

    id: int
    order_id: int
    execution_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    currency: str
    gross_amount: Decimal
    commission: Decimal
    fees: Decimal
    settlement_amount: Decimal
    settlement_date: date
    timestamp: datetime

    @classmethod
    def from_row(cls, row: Row) -> Trade:
        cur = row["currency"]
        return cls(
            id=row["id"],
            order_id=row["order_id"],
            execution_id=row["execution_id"],
            symbol=row["symbol"],
            side=row["side"],
            quantity=from_e8(row["quantity_e8"]),
            price=from_e8(row["price_e8"]),
            currency=cur,
            gross_amount=from_minor(row["gross_amount_minor"], cur),
            commission=from_minor(row["commission_minor"], cur),
            fees=from_minor(row["fees_minor"], cur),
            settlement_amount=from_minor(row["settlement_amount_minor"], cur),
            settlement_date=date.fromisoformat(row["settlement_date"]),
            timestamp=from_us(row["timestamp"]),
        )


# --- positions --------------------------------------------------------------------------------


class Position(_Out):
    """A user's position in one symbol, by average-cost accounting.

    ``quantity`` is signed (long > 0, short < 0, flat 0). ``cost_basis`` is the gross cost of the
    open quantity with the same sign (a short's is the proceeds received); commissions and fees
    are charged to ``realized_pnl`` when paid.
    """

    id: int
    user_id: int
    symbol: str
    quantity: Decimal
    currency: str
    cost_basis: Decimal
    realized_pnl: Decimal
    opened_at: datetime
    updated_at: datetime

    @property
    def average_price(self) -> Decimal | None:
        """Cost basis per unit (None when flat); a quotient, so rounded to 8 places."""
        if self.quantity == 0:
            return None
        return (self.cost_basis / self.quantity).quantize(Decimal("1e-8"))

    @classmethod
    def from_row(cls, row: Row) -> Position:
        cur = row["currency"]
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            symbol=row["symbol"],
            quantity=from_e8(row["quantity_e8"]),
            currency=cur,
            cost_basis=from_minor(row["cost_basis_minor"], cur),
            realized_pnl=from_minor(row["realized_pnl_minor"], cur),
            opened_at=from_us(row["opened_at"]),
            updated_at=from_us(row["updated_at"]),
        )


class FillResult(_Out):
    """What recording a fill did: the trade, and the order and position after it.

    ``replayed`` is True when the same execution had been recorded before (nothing changed).
    """

    trade: Trade
    order: Order
    position: Position
    replayed: bool = False


__all__ = [
    "OPEN_STATUSES",
    "Direction",
    "FillIn",
    "FillResult",
    "Order",
    "OrderIn",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "Signal",
    "SignalIn",
    "TimeInForce",
    "Trade",
]
