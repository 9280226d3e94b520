"""Turning inbound ticks into database rows quickly, refusing a bad batch whole.

The bulk path is hot (the benchmark holds it to >= 0.9x plain ``executemany``), so ticks given
as :class:`TickRow` tuples are checked by hand-written code here; dictionaries go through the
pydantic model :class:`~rawdb.models.TickIn`, which says the same things more slowly. Either way
the error names the row index and the field, and nothing of the batch is written.

A tick later than the :class:`Horizon` (the wall clock plus ``Settings.future_tolerance_s``) is
refused too: in a month without a table it would land in the default table and be the latest
tick for years. The bulk path compares each tick's epoch second, already computed for its text,
with the horizon's, computed once per batch: one integer comparison per tick.

A row is :data:`QUOTE_WIDTH` values (time, instrument, price, volume, bid, ask and sizes) when
the tick has no bar fields, else :data:`ROW_WIDTH`. Leaving the three Nones out matters: the
stdlib's sqlite3 looks up an adapter for every None it binds, which costs about 1 us each,
more than binding a number (measured on this project's machine; see the README's benchmark).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from rawdb.errors import InvalidInput
from rawdb.models import TickIn, as_rows, validate_batch, validate_one

PRICE_LIMIT = 1e12
LOW, HIGH = -PRICE_LIMIT, PRICE_LIMIT
SIZE_LIMIT = 2**63
QUOTE_WIDTH = 8
"""Values in a row of a tick without bar fields."""
ROW_WIDTH = 11
"""Values in a row with the bar fields (open, high, low)."""
_PRICES = ("price", "bid", "ask", "open_price", "high_price", "low_price")
_SIZES = ("volume", "bid_size", "ask_size")


class TickRow(NamedTuple):
    """A tick as a plain tuple: the fastest form to hand to the bulk insert."""

    instrument_id: int
    timestamp: datetime
    price: float | None = None
    volume: int | None = None
    bid: float | None = None
    ask: float | None = None
    bid_size: int | None = None
    ask_size: int | None = None
    open_price: float | None = None
    high_price: float | None = None
    low_price: float | None = None


Tick = TickRow | TickIn | Mapping[str, Any]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIGITS = tuple(f"{n:03d}" for n in range(1000))
"""Three-digit strings: a fraction's six digits are two look-ups, cheaper than formatting."""
LAST_SECOND = 253_402_300_799
"""The epoch second of 9999-12-31 23:59:59 UTC, the last one a stored time can carry."""
NO_HORIZON = 2**62
"""An epoch second beyond every datetime: the limit when no horizon is asked for."""
AFTER_ALL_TIMES = "99999-01-01 00:00:00"
"""Text sorting after every stored timestamp."""


@dataclass(frozen=True)
class Horizon:
    """The latest time a tick may carry, to the second: the wall clock plus the tolerance.

    ``last`` is that epoch second (the bulk path compares ticks' seconds with it) and
    ``refused_from`` the stored text of the second after it, the earliest time refused (the
    streaming writer and the latest-tick reads compare stored texts with it).
    """

    last: int
    refused_from: str

    @classmethod
    def now(cls, tolerance_s: float) -> Horizon:
        last = int(time.time() + tolerance_s)
        if last >= LAST_SECOND:
            return cls(last, AFTER_ALL_TIMES)
        return cls(last, _second_text(last + 1))


def _second_text(seconds: int) -> str:
    utc = EPOCH + timedelta(seconds=seconds)
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def beyond(last: int) -> str:
    """Why a tick later than the horizon ending at epoch second ``last`` is refused."""
    limit = _second_text(min(last, LAST_SECOND))[:19]
    return (
        f"is later than {limit} UTC, the wall clock plus future_tolerance_s; check the feed's "
        "clock and time zone (or raise RAWDB_FUTURE_TOLERANCE_S)"
    )


PREFIXES_KEPT = 4096
_prefixes: dict[int, str] = {}
"""Epoch second -> ``YYYY-MM-DD HH:MM:SS.``: a feed's ticks share seconds, so each second's
text is formatted once. With the epoch subtraction (exact, in C) and :data:`DIGITS` for the
fraction, a tick's UTC text costs 1.0 us on this project's machine, against 2.9 us for
``isoformat`` and 0.5 us for ``"%06d"`` alone."""


def _prefix(seconds: int) -> str:
    """The stored text up to the fraction for one epoch second (a miss of ``_prefixes``)."""
    if len(_prefixes) >= PREFIXES_KEPT:
        _prefixes.clear()
    try:
        utc = EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise _Bad(
            "timestamp", "is outside the years 1-9999 in UTC; pass a time within them", seconds
        ) from None
    text = _prefixes[seconds] = utc.replace(tzinfo=None).isoformat(" ") + "."  # 4-digit year
    return text


def prepare_ticks(
    ticks: Iterable[Tick],
    *,
    offset: int = 0,
    total: int | None = None,
    horizon: Horizon | None = None,
) -> list[tuple[Any, ...]]:
    """Rows in ``insert_tick`` column order; raises :class:`InvalidInput` for any bad tick.

    ``ticks`` is a list (or any iterable) of ticks, and may be one chunk of a larger batch:
    ``offset`` is the chunk's first row number and ``total`` the batch size, so the error names
    the row as the caller counts it. With a ``horizon``, later ticks are refused too.
    """
    ticks = as_rows(ticks, "ticks")
    size = len(ticks) if total is None else total
    if ticks and not isinstance(ticks[0], tuple):
        if all(isinstance(t, TickIn) for t in ticks):
            rows = [t.row() for t in ticks]
        else:
            rows = [t.row() for t in validate_batch(TickIn, ticks, "ticks")]
        if horizon is not None:
            _refuse_later_texts(rows, horizon, offset, size)
        return rows
    last = NO_HORIZON if horizon is None else horizon.last
    try:
        return [_row(tick, last) for tick in ticks]
    except (_Bad, TypeError, ValueError):
        # Rare: go again, counting rows, to name the first bad one.
        return _rows_naming_the_bad_one(ticks, offset, size, last)


def _refuse_later_texts(
    rows: list[tuple[Any, ...]], horizon: Horizon, offset: int, size: int
) -> None:
    """The horizon check of the model path (already the slow one), on the stored texts."""
    for index, row in enumerate(rows):
        if row[0] >= horizon.refused_from:
            raise InvalidInput(
                f"{_head(size, offset + index)}, field 'timestamp': {beyond(horizon.last)} "
                f"(got {row[0]!r} UTC)"
            )


def _rows_naming_the_bad_one(
    ticks: Sequence[Tick], offset: int, size: int, last: int
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for index, tick in enumerate(ticks):
        if not isinstance(tick, tuple):
            raise InvalidInput(
                f"{_head(size, offset + index)}: expected a TickRow like the rows before it, "
                f"got {type(tick).__name__} {tick!r}; pass every row of a batch in one form"
            )
        try:
            rows.append(_row(tick, last))
        except _Bad as bad:
            raise InvalidInput(
                f"{_head(size, offset + index)}, field {bad.field!r}: {bad.reason} "
                f"(got {bad.value!r})"
            ) from None
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"{_head(size, offset + index)}: expected a TickRow of 11 fields, got {tick!r} "
                f"({exc})"
            ) from None
    return rows


def _head(size: int, row: int) -> str:
    return f"ticks: batch of {size} refused whole, nothing written: row {row}"


def prepare_tick(tick: Tick) -> tuple[Any, ...]:
    """One tick as a row, for the streaming writer's put(); errors name the field."""
    if isinstance(tick, tuple):
        try:
            return _row(tick, NO_HORIZON)
        except _Bad as bad:
            raise InvalidInput(
                f"tick refused: field {bad.field!r}: {bad.reason} (got {bad.value!r})"
            ) from None
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"tick refused: expected a TickRow of 11 fields ({exc})") from None
    if isinstance(tick, TickIn):
        return tick.row()
    return validate_one(TickIn, tick, "tick refused").row()


def _row(tick: tuple[Any, ...], last: int) -> tuple[Any, ...]:
    """One checked row, in storage form, of a tick no later than epoch second ``last``;
    raises :class:`_Bad` naming the field.

    This runs once per tick on the bulk path, so the common case is a single chain of plain
    comparisons with no calls; when it fails, :func:`_check_slowly` names what is wrong.
    """
    instrument_id, moment, price, volume, bid, ask, bid_size, ask_size, op, hi, lo = tick
    if (
        type(instrument_id) is not int
        or not 0 < instrument_id < SIZE_LIMIT
        or type(moment) is not datetime
        or (
            price is not None
            and not ((type(price) is float or type(price) is int) and LOW < price < HIGH)
        )
        or (bid is not None and not ((type(bid) is float or type(bid) is int) and LOW < bid < HIGH))
        or (ask is not None and not ((type(ask) is float or type(ask) is int) and LOW < ask < HIGH))
        or (bid is not None and ask is not None and bid > ask)
        or (volume is not None and not (type(volume) is int and 0 <= volume < SIZE_LIMIT))
        or (bid_size is not None and not (type(bid_size) is int and 0 <= bid_size < SIZE_LIMIT))
        or (ask_size is not None and not (type(ask_size) is int and 0 <= ask_size < SIZE_LIMIT))
    ):
        _check_slowly(tick)
    try:
        delta = moment - EPOCH
    except TypeError:  # naive (no tzinfo, or one whose utcoffset() is None): checked here, free
        raise _Bad("timestamp", "must be a timezone-aware datetime", moment) from None
    seconds = delta.days * 86_400 + delta.seconds
    if seconds > last:
        raise _Bad("timestamp", beyond(last), moment)
    micros = delta.microseconds
    prefix = _prefixes.get(seconds) or _prefix(seconds)
    text = prefix + DIGITS[micros // 1000] + DIGITS[micros % 1000]
    if op is None and hi is None and lo is None:
        return (text, instrument_id, price, volume, bid, ask, bid_size, ask_size)
    _check_bar(op, hi, lo)
    return (text, instrument_id, price, volume, bid, ask, bid_size, ask_size, op, hi, lo)


def _check_slowly(tick: tuple[Any, ...]) -> None:
    """Every check of :func:`_row`, one field at a time: raises naming the first bad field."""
    instrument_id, moment, price, volume, bid, ask, bid_size, ask_size, op, hi, lo = tick
    if type(instrument_id) is not int or not 0 < instrument_id < SIZE_LIMIT:
        raise _Bad(
            "instrument_id", "must be a positive int (not a str, float or bool)", instrument_id
        )
    if type(moment) is not datetime or moment.tzinfo is None:
        raise _Bad("timestamp", "must be a timezone-aware datetime", moment)
    if price is not None:
        _price("price", price)
    if bid is not None:
        _price("bid", bid)
        if ask is not None and bid > ask:
            _price("ask", ask)
            raise _Bad("bid", f"is above ask {ask} (a crossed quote)", bid)
    if ask is not None:
        _price("ask", ask)
    if op is not None or hi is not None or lo is not None:
        _check_bar(op, hi, lo)
    if volume is not None:
        _size("volume", volume)
    if bid_size is not None:
        _size("bid_size", bid_size)
    if ask_size is not None:
        _size("ask_size", ask_size)


def _price(field: str, value: Any) -> None:
    # NaN fails every comparison, so this one test refuses NaN, infinities and absurd values.
    if (type(value) is not float and type(value) is not int) or not (
        -PRICE_LIMIT < value < PRICE_LIMIT
    ):
        raise _Bad(field, "must be a finite int or float within +/-1e12 (not a str or bool)", value)


def _size(field: str, value: Any) -> None:
    if type(value) is not int or not 0 <= value < SIZE_LIMIT:
        raise _Bad(field, "must be a non-negative int (not a float, str or bool)", value)


def _check_bar(op: Any, hi: Any, lo: Any) -> None:
    for field, value in (("open_price", op), ("high_price", hi), ("low_price", lo)):
        if value is not None:
            _price(field, value)
    if hi is not None and lo is not None and lo > hi:
        raise _Bad("low_price", f"is above high_price {hi}", lo)


class _Bad(Exception):
    def __init__(self, field: str, reason: str, value: Any) -> None:
        super().__init__(field)
        self.field, self.reason, self.value = field, reason, value
