"""Rows in and out, as pydantic models; the validation that keeps bad input out.

Inbound models refuse what the database must never hold: naive timestamps (a tick's time is
ambiguous without a zone) and times outside the years 1-9999 in UTC, non-finite prices,
negative sizes, a crossed quote, symbols with control or bidi characters, values outside an
enumeration. They are strict: nothing is coerced, so ``'100.5'``, ``'1'`` or ``True`` is refused
where a number is due (a feed that sends text has a bug the caller should see), and a size
(volume, bid_size, ask_size, counts of seconds) must be an ``int``: a float, even ``3.0``, is
refused, as on the bulk path, since a count that arrives as a float has usually lost digits or
come from the wrong field. Outbound models round prices to 4 decimals, the application's API
contract. Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (the format
TradeAssist's databases already hold, which sorts in time order).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


def db_time(moment: object, name: str) -> str:
    """An argument's stored UTC text; :class:`InvalidInput` naming it when it is not an aware
    datetime or falls outside the years 1-9999 in UTC."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {moment!r}")
    try:
        return to_db_time(moment)
    except OverflowError:
        raise InvalidInput(
            f"{name} {moment.isoformat()} is outside the years 1-9999 in UTC; pass a time "
            "within them"
        ) from None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, PRICE_DECIMALS)


def _within_utc_years(moment: datetime) -> datetime:
    # An aware time near year 1 or 9999 can leave the calendar once shifted to UTC.
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "utc_out_of_range", "is outside the years 1-9999 in UTC; pass a time within them"
        ) from None
    return moment


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidi embeddings, overrides and isolates: they reorder how the text around them is shown."""
SYMBOL_LENGTH = 10
"""The instruments.symbol column is VARCHAR(10) (SQLite does not enforce it; this does)."""
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


def _refuse_character(text: str, char: str, what: str) -> PydanticCustomError:
    name = unicodedata.name(char, "a control character")
    return PydanticCustomError(
        "bad_character",
        "contains U+{code} ({name}) at position {at}; {what}",
        {"code": f"{ord(char):04X}", "name": name, "at": text.index(char), "what": what},
    )


def _symbol(value: Any) -> Any:
    # Before pydantic's own str check, so surrounding whitespace is refused, not stripped: a
    # symbol is a key, and a stripped copy would not be found under the key the caller holds.
    if not isinstance(value, str):
        return value  # the str check refuses it, naming the type
    if value != value.strip():
        raise PydanticCustomError(
            "symbol_whitespace",
            "has leading or trailing whitespace; pass it trimmed: {trimmed}",
            {"trimmed": repr(value.strip())},
        )
    bad = next((c for c in value if not c.isprintable()), None)
    if bad is not None:
        raise _refuse_character(
            value, bad, "a symbol takes printable characters only (no control, format or bidi)"
        )
    return value


def _one_line(value: str) -> str:
    bad = next(
        (c for c in value if c in BIDI_CONTROLS or unicodedata.category(c) in _LINE_BREAKING),
        None,
    )
    if bad is not None:
        raise _refuse_character(value, bad, "a name is one line of text, without bidi controls")
    return value


def _no_nul(value: str) -> str:
    # SQLite stores it, but its own functions and most tools read text only up to a NUL.
    if "\x00" in value:
        raise _refuse_character(value, "\x00", "remove the NUL characters")
    return value


# Finite and within what a DECIMAL(12, 4) column could ever have held; negative prices exist.
Price = Annotated[float, Field(allow_inf_nan=False, gt=-1e12, lt=1e12)]
Size = Annotated[int, Field(ge=0, lt=2**63)]
Id = Annotated[int, Field(gt=0, lt=2**63)]
Time = Annotated[AwareDatetime, AfterValidator(_within_utc_years)]
Symbol = Annotated[str, BeforeValidator(_symbol), Field(min_length=1, max_length=SYMBOL_LENGTH)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
RuleName = Annotated[str, Field(max_length=100), AfterValidator(_one_line)]
Text = Annotated[str, AfterValidator(_no_nul)]
OutPrice = Annotated[float | None, PlainSerializer(_rounded, return_type=float | None)]


def _one_of(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "not_allowed",
                "must be one of {allowed}",
                {"allowed": ", ".join(map(repr, allowed))},
            )
        return value

    return AfterValidator(check)


# The fixed vocabularies: TradeAssist's enumerations, plus the values its databases and
# rawdb's demo hold (etf, moving_average, not_fired, delivered, skipped). Typed str, checked
# when validated, so callers holding a plain str (a stored rule's condition) need no cast.
INSTRUMENT_TYPES = ("future", "index", "internal", "etf")
INSTRUMENT_STATUSES = ("active", "inactive", "error")
RULE_TYPES = (
    "threshold",
    "crossover",
    "rate_of_change",
    "volume_spike",
    "moving_average",
    "multi_condition",
)
RULE_CONDITIONS = (
    "above",
    "below",
    "equals",
    "crosses_above",
    "crosses_below",
    "percent_change_up",
    "percent_change_down",
    "volume_above",
)
FIRED_STATUSES = ("fired", "not_fired", "suppressed", "error")
DELIVERY_STATUSES = (
    "pending",
    "in_app_sent",
    "sound_played",
    "slack_sent",
    "all_delivered",
    "delivered",
    "failed",
    "skipped",
)
InstrumentType = Annotated[str, _one_of(INSTRUMENT_TYPES)]
InstrumentStatus = Annotated[str, _one_of(INSTRUMENT_STATUSES)]
RuleType = Annotated[str, _one_of(RULE_TYPES)]
RuleCondition = Annotated[str, _one_of(RULE_CONDITIONS)]
FiredStatus = Annotated[str, _one_of(FIRED_STATUSES)]
DeliveryStatus = Annotated[str, _one_of(DELIVERY_STATUSES)]


class _In(BaseModel):
    # strict: no coercion of '1' to 1, True to 1.0, a number to a datetime or 1 to True.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TickIn(_In):
    """One market-data tick to store."""

    instrument_id: Id
    timestamp: Time
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
        when all are None (``rawdb.queries.rows`` says why)."""
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


@dataclass(frozen=True, slots=True)
class BarSeries:
    """OHLC bars of one instrument as columns, oldest first: the shape a chart draws from.

    Read by :func:`rawdb.queries.ticks.ohlc_series` without an object per bar (a list of
    :class:`Bar` costs about 1.4 us a bar more, and keeps the garbage collector busy: two
    tracked objects a bar). Prices are the stored floats; :meth:`bars` gives the models,
    whose serializer rounds them to 4 decimals.
    """

    instrument_id: int
    interval: str
    start: tuple[datetime, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[int, ...]
    ticks: tuple[int, ...]

    @classmethod
    def of(
        cls,
        instrument_id: int,
        interval: str,
        starts: Sequence[datetime],
        values: Sequence[Sequence[Any]],
    ) -> BarSeries:
        """From bar starts and the columns open, high, low, close, volume, ticks. Prices
        become floats: an adopted file's DECIMAL columns hold some as INTEGER."""
        if not starts:
            values = [()] * 6
        opens, highs, lows, closes = (tuple(map(float, column)) for column in values[:4])
        volumes, counts = (tuple(map(int, column)) for column in values[4:6])
        return cls(
            instrument_id, interval, tuple(starts), opens, highs, lows, closes, volumes, counts
        )

    def __len__(self) -> int:
        return len(self.start)

    def bars(self) -> list[Bar]:
        """The same bars as :class:`Bar` models (what ``ohlc_bars`` returns)."""
        columns = zip(
            self.start,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.ticks,
            strict=True,
        )
        return [
            Bar(
                instrument_id=self.instrument_id,
                start=start,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=v,
                ticks=n,
            )
            for start, o, h, lo, c, v, n in columns
        ]


class PriceRange(_Out):
    """Price statistics of one instrument over a window, for alert evaluation."""

    instrument_id: int
    low: OutPrice
    high: OutPrice
    average: OutPrice
    ticks: int


class InstrumentIn(_In):
    """An instrument to register."""

    symbol: Symbol
    name: Name
    type: InstrumentType = "future"
    status: InstrumentStatus = "active"


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
    rule_type: RuleType = "threshold"
    condition: RuleCondition
    threshold: Price
    active: bool = True
    name: RuleName | None = None
    description: Text | None = None
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

    timestamp: Time
    rule_id: Id
    instrument_id: Id
    trigger_value: Price
    threshold_value: Price
    fired_status: FiredStatus = "fired"
    delivery_status: DeliveryStatus = "pending"
    evaluation_time_ms: Size | None = None
    rule_condition: RuleCondition
    alert_message: Text | None = None
    error_message: Text | None = None


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


_NOT_A_BATCH = (str, bytes, bytearray, memoryview, Mapping, BaseModel)


def as_rows(batch: object, what: str) -> Sequence[Any]:
    """A batch as a sequence of rows: a list or tuple as it is, any other iterable (a
    generator, say) listed. None, text, bytes, a dict or a model (one row, not a batch), a
    named tuple (likewise) and anything not iterable are refused with :class:`InvalidInput`."""
    if type(batch) is list or type(batch) is tuple:  # the common case, checked first
        return batch
    if (
        batch is None
        or isinstance(batch, _NOT_A_BATCH)
        or (isinstance(batch, tuple) and hasattr(batch, "_fields"))
        or not isinstance(batch, Iterable)
    ):
        one = isinstance(batch, (Mapping, BaseModel, tuple))
        hint = " (this is one row: wrap it in a list, [row])" if one else ""
        raise InvalidInput(
            f"{what}: batch refused, nothing written: expected a list of rows, got "
            f"{type(batch).__name__}; pass a list of rows{hint}"
        )
    if isinstance(batch, Sequence):
        return batch
    return list(batch)


def validate_batch(model: type[M], rows: Iterable[Any], what: str) -> list[M]:
    """Validate every row; on any failure refuse the whole batch naming row index and field."""
    batch = as_rows(rows, what)
    try:
        validated: list[M] = _adapter(model).validate_python(list(batch))
    except ValidationError as exc:
        raise InvalidInput(_describe(exc, what, len(batch))) from exc
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


_TYPE_HINTS: dict[str, str] = {
    "int_type": "must be an int, not {kind}; convert it before passing it",
    "float_type": "must be an int or a float, not {kind}; convert it before passing it",
    "bool_type": "must be True or False, not {kind}",
    "string_type": "must be a str, not {kind}",
    "datetime_type": "must be a timezone-aware datetime, not {kind}",
    "model_type": "is not a row: pass a dict of its fields or the model {model}, not {kind}",
    "missing": "is required",
    "extra_forbidden": "is not a field of this row; check its spelling",
}
"""Plainer words than pydantic's for strict-type errors, saying what to pass instead."""


def _message(error: Any) -> str:
    hint = _TYPE_HINTS.get(error["type"])
    if hint is None:
        return str(error["msg"])
    model = error.get("ctx", {}).get("class_name", "the model")
    return hint.format(kind=type(error.get("input")).__name__, model=model)


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
        lead = f"{place}: " if place else ""
        got = "" if error["type"] == "missing" else f" (got {error.get('input')!r})"
        shown.append(f"{lead}{_message(error)}{got}")
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    head = f"{what}: batch of {size} refused whole, nothing written" if size is not None else what
    return f"{head}: " + "; ".join(shown) + more
