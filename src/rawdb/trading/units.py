"""Exact conversions between the API's values and the stored integers of the trading tables.

Prices and quantities are stored as ``*_e8`` integers (the decimal times 10^8), money as
``*_minor`` integers in the minor unit of its ISO 4217 currency, times as integer microseconds
since 1970-01-01 UTC. Every conversion here is exact: a value with more decimal places than its
scale is refused (:class:`~rawdb.errors.InvalidInput`), never rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import overload

from rawdb.errors import InvalidInput

E8 = 8
"""Decimal places of every ``*_e8`` column."""

INT64_MAX = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# ISO 4217 minor-unit exponents that are not 2 (the common case).
_EXPONENT_0 = frozenset(
    {
        *("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"),
        *("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"),
    }
)
_EXPONENT_3 = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_EXPONENT_4 = frozenset({"CLF", "UYW"})


def minor_exponent(currency: str) -> int:
    """Decimal places of the minor unit of an ISO 4217 currency (USD 2, JPY 0, KWD 3)."""
    if currency in _EXPONENT_0:
        return 0
    if currency in _EXPONENT_3:
        return 3
    if currency in _EXPONENT_4:
        return 4
    return 2


def to_scaled(value: Decimal, places: int, what: str) -> int:
    """``value * 10**places`` as an int, exactly; more decimal places than ``places`` is refused.

    Pure integer arithmetic on the Decimal's digits, so no context precision can round it.
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity
        raise InvalidInput(f"{what}: {value} is not a finite number")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + places
    scaled: int
    if shift >= 0:
        scaled = coefficient * pow(10, shift)
    else:
        scaled, remainder = divmod(coefficient, pow(10, -shift))
        if remainder:
            raise InvalidInput(
                f"{what}: {value} has more than {places} decimal places; rawdb stores it "
                f"exactly and does not round (round it yourself if that is intended)"
            )
    scaled = -scaled if sign else scaled
    if abs(scaled) > INT64_MAX:
        raise InvalidInput(f"{what}: {value} is too large to store")
    return scaled


def from_scaled(scaled: int, places: int) -> Decimal:
    """A stored scaled integer as the exact Decimal, without trailing zeros (30, 0.3, 0)."""
    value = Decimal(scaled).scaleb(-places)
    if scaled % 10**places == 0:
        return Decimal(scaled // 10**places)
    return value.normalize()


def to_e8(value: Decimal, what: str) -> int:
    """A price or quantity as its ``*_e8`` integer."""
    return to_scaled(value, E8, what)


@overload
def from_e8(scaled: int) -> Decimal: ...
@overload
def from_e8(scaled: None) -> None: ...
def from_e8(scaled: int | None) -> Decimal | None:
    """A stored ``*_e8`` integer (or NULL) as the exact Decimal (or None)."""
    return None if scaled is None else from_scaled(scaled, E8)


def to_minor(value: Decimal, currency: str, what: str) -> int:
    """Money in ``currency`` units as its minor-unit integer (USD 1.25 -> 125)."""
    return to_scaled(value, minor_exponent(currency), f"{what} ({currency})")


def from_minor(minor: int, currency: str) -> Decimal:
    return from_scaled(minor, minor_exponent(currency))


def to_us(moment: datetime, what: str) -> int:
    """An aware datetime as integer microseconds since the epoch (UTC), exactly."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} must be a timezone-aware datetime, got {moment!r}")
    micros: int = (moment - EPOCH) // _MICROSECOND
    return micros


@overload
def from_us(micros: int) -> datetime: ...
@overload
def from_us(micros: None) -> None: ...
def from_us(micros: int | None) -> datetime | None:
    """Stored microseconds (or NULL) as an aware UTC datetime (or None)."""
    return None if micros is None else EPOCH + micros * _MICROSECOND


def now_us() -> int:
    return to_us(datetime.now(UTC), "now")


def round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even, in integers (``denominator`` > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def check_limit(limit: int) -> int:
    """A row limit: a positive int."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be a positive int, got {limit!r}")
    return limit
