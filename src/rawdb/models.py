"""Rows in and out, as pydantic models; the validation that keeps bad input out.

Inbound models refuse what the database must never hold: naive timestamps (a tick's time is
ambiguous without a zone), non-finite prices, negative sizes, a crossed quote. Outbound models
round prices to 4 decimals, the application's API contract. Timestamps are stored as UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` (the format TradeAssist's databases already hold, which sorts in
time order).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from rawdb.errors import InvalidInput

PRICE_DECIMALS = 4
M = TypeVar("M", bound=BaseModel)


def to_db_time(moment: datetime) -> str:
    """An aware datetime as the stored UTC text (a four-digit year always: ``%Y`` gives years
    before 1000 fewer digits, which would sort them after later ones)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_db_time(text: str | None) -> datetime | None:
    """Stored UTC text (with or without fraction) as an aware datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, PRICE_DECIMALS)


# Finite and within what a DECIMAL(12, 4) column could ever have held; negative prices exist.
Price = Annotated[float, Field(allow_inf_nan=False, gt=-1e12, lt=1e12)]
Size = Annotated[int, Field(ge=0, lt=2**63)]
Id = Annotated[int, Field(gt=0, lt=2**63)]
OutPrice = Annotated[float | None, PlainSerializer(_rounded, return_type=float | None)]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TickIn(_In):
    """One market-data tick to store."""

    instrument_id: Id
    timestamp: AwareDatetime
    price: Price | None = None
    volume: Size | None = None
    bid: Price | None = None
    ask: Price | None = None
    bid_size: Size | None = None
    ask_size: Size | None = None
    open_price: Price | None = None
    high_price: Price | None = None
    low_price: Price | None = None

    @model_validator(mode="after")
    def _sane_quote(self) -> Self:
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValueError(f"bid {self.bid} is above ask {self.ask} (a crossed quote)")
        if (
            self.high_price is not None
            and self.low_price is not None
            and self.low_price > self.high_price
        ):
            raise ValueError(f"low_price {self.low_price} is above high_price {self.high_price}")
        return self

    def row(self) -> tuple[Any, ...]:
        """Values in the column order of the insert statements; without the three bar fields
        when all are None (``rawdb.ingest.rows`` says why)."""
        quote = (
            to_db_time(self.timestamp),
            self.instrument_id,
            self.price,
            self.volume,
            self.bid,
            self.ask,
            self.bid_size,
            self.ask_size,
        )
        if self.open_price is None and self.high_price is None and self.low_price is None:
            return quote
        return (*quote, self.open_price, self.high_price, self.low_price)


class Tick(_Out):
    """A stored tick; prices come out rounded to 4 decimals."""

    id: int
    instrument_id: int
    timestamp: datetime
    price: OutPrice = None
    volume: int | None = None
    bid: OutPrice = None
    ask: OutPrice = None
    bid_size: int | None = None
    ask_size: int | None = None
    open_price: OutPrice = None
    high_price: OutPrice = None
    low_price: OutPrice = None
    deleted_at: datetime | None = None


class Bar(_Out):
    """One OHLC bar of an interval, computed in SQL."""

    instrument_id: int
    start: datetime
    open: OutPrice
    high: OutPrice
    low: OutPrice
    close: OutPrice
    volume: int
    ticks: int


class PriceRange(_Out):
    """Price statistics of one instrument over a window, for alert evaluation."""

    instrument_id: int
    low: OutPrice
    high: OutPrice
    average: OutPrice
    ticks: int


class InstrumentIn(_In):
    """An instrument to register."""

    symbol: Annotated[str, Field(min_length=1, max_length=10)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    type: Annotated[str, Field(min_length=1, max_length=20)] = "future"
    status: Annotated[str, Field(min_length=1, max_length=20)] = "active"


class Instrument(_Out):
    """A registered instrument."""

    id: int
    symbol: str
    name: str
    type: str
    status: str
    last_tick: datetime | None = None
    last_price: OutPrice = None
    created_at: datetime
    updated_at: datetime


class AlertRuleIn(_In):
    """An alert rule to register."""

    instrument_id: Id
    rule_type: Annotated[str, Field(min_length=1, max_length=50)] = "threshold"
    condition: Annotated[str, Field(min_length=1, max_length=20)]
    threshold: Price
    active: bool = True
    name: Annotated[str, Field(max_length=100)] | None = None
    description: str | None = None
    time_window_seconds: Size | None = None
    moving_average_period: Size | None = None
    cooldown_seconds: Size = 60


class AlertRule(_Out):
    """A stored alert rule."""

    id: int
    instrument_id: int
    rule_type: str
    condition: str
    threshold: OutPrice
    active: bool
    name: str | None = None
    description: str | None = None
    time_window_seconds: int | None = None
    moving_average_period: int | None = None
    cooldown_seconds: int
    last_triggered: datetime | None = None
    created_at: datetime
    updated_at: datetime


class AlertLogIn(_In):
    """One evaluation of a rule to record."""

    timestamp: AwareDatetime
    rule_id: Id
    instrument_id: Id
    trigger_value: Price
    threshold_value: Price
    fired_status: Annotated[str, Field(min_length=1, max_length=20)] = "fired"
    delivery_status: Annotated[str, Field(min_length=1, max_length=20)] = "pending"
    evaluation_time_ms: Size | None = None
    rule_condition: Annotated[str, Field(min_length=1, max_length=20)]
    alert_message: str | None = None
    error_message: str | None = None


class AlertLog(_Out):
    """A stored alert log row."""

    id: int
    timestamp: datetime
    rule_id: int
    instrument_id: int
    trigger_value: OutPrice
    threshold_value: OutPrice
    fired_status: str
    delivery_status: str
    evaluation_time_ms: int | None = None
    rule_condition: str
    alert_message: str | None = None
    error_message: str | None = None
    delivery_attempted_at: datetime | None = None
    delivery_completed_at: datetime | None = None
    deleted_at: datetime | None = None


def validate_batch(model: type[M], rows: Sequence[Any], what: str) -> list[M]:
    """Validate every row; on any failure refuse the whole batch naming row index and field."""
    if isinstance(rows, (str, bytes)):
        raise InvalidInput(f"{what}: expected a sequence of rows, got {type(rows).__name__}")
    try:
        validated: list[M] = _adapter(model).validate_python(list(rows))
    except ValidationError as exc:
        raise InvalidInput(_describe(exc, what, len(rows))) from exc
    return validated


def validate_one(model: type[M], value: Any, what: str) -> M:
    """Validate a single value, naming the field on failure."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc, what, None)) from exc


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(model: type[Any]) -> TypeAdapter[Any]:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return _ADAPTERS[model]


def _describe(exc: ValidationError, what: str, size: int | None) -> str:
    errors = exc.errors(include_url=False)
    shown = []
    for error in errors[:5]:
        loc = list(error["loc"])
        where = ""
        if size is not None and loc and isinstance(loc[0], int):
            where = f"row {loc.pop(0)}"
        field = ".".join(str(p) for p in loc)
        place = ", ".join(p for p in (where, f"field {field!r}" if field else "") if p)
        shown.append(f"{place}: {error['msg']} (got {error.get('input')!r})")
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    head = f"{what}: batch of {size} refused whole, nothing written" if size is not None else what
    return f"{head}: " + "; ".join(shown) + more
