"""Exact conversions of the trading tables and the average-cost accounting, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawdb.errors import InvalidInput
from rawdb.models import validate_one
from rawdb.trading.accounting import FLAT, Book, apply_fill
from rawdb.trading.models import FillIn, OrderIn
from rawdb.trading.units import (
    from_e8,
    from_minor,
    from_us,
    minor_exponent,
    round_div,
    to_e8,
    to_minor,
    to_us,
)


def test_e8_round_trips_exactly() -> None:
    """Prices and quantities become *_e8 integers and come back as the same Decimal."""
    assert to_e8(Decimal("123.456789"), "p") == 12_345_678_900
    assert to_e8(Decimal("0.00000001"), "q") == 1
    assert to_e8(Decimal("0.100000000000"), "q") == 10_000_000  # trailing zeros are not places
    assert to_e8(Decimal("1E+3"), "q") == 100_000_000_000
    assert from_e8(12_345_678_900) == Decimal("123.456789")
    assert str(from_e8(3_000_000_000)) == "30"
    assert str(from_e8(30_000_000)) == "0.3"
    assert from_e8(None) is None


def test_more_places_than_the_scale_is_refused_not_rounded() -> None:
    """A ninth decimal place, or a cent fraction of USD, raises instead of rounding."""
    with pytest.raises(InvalidInput, match="more than 8 decimal places"):
        to_e8(Decimal("0.000000001"), "quantity")
    with pytest.raises(InvalidInput, match=r"commission \(USD\).*more than 2 decimal places"):
        to_minor(Decimal("0.005"), "USD", "commission")
    with pytest.raises(InvalidInput, match="more than 0 decimal places"):
        to_minor(Decimal("1.5"), "JPY", "fees")


def test_digits_beyond_the_decimal_context_are_not_rounded_away() -> None:
    """A 30-digit value that the default context would round is still refused exactly."""
    value = Decimal("1234567890.12345678901234567890")
    with pytest.raises(InvalidInput, match="more than 8 decimal places"):
        to_e8(value, "price")
    with pytest.raises(InvalidInput, match="too large"):
        to_e8(Decimal("100000000000"), "price")


def test_minor_units_follow_the_currency() -> None:
    """USD has cents, JPY none, KWD three places; amounts convert both ways exactly."""
    assert (minor_exponent("USD"), minor_exponent("JPY"), minor_exponent("KWD")) == (2, 0, 3)
    assert to_minor(Decimal("1.25"), "USD", "x") == 125
    assert to_minor(Decimal("1500"), "JPY", "x") == 1500
    assert to_minor(Decimal("0.125"), "KWD", "x") == 125
    assert from_minor(-1001, "USD") == Decimal("-10.01")
    assert str(from_minor(500, "USD")) == "5"


def test_times_are_integer_microseconds_utc() -> None:
    """Aware datetimes in any zone map to the same microsecond; naive ones are refused."""
    moment = datetime(2026, 3, 2, 14, 30, 0, 123_456, tzinfo=UTC)
    elsewhere = moment.astimezone(timezone(timedelta(hours=-5)))
    assert to_us(moment, "t") == to_us(elsewhere, "t") == 1_772_461_800_123_456
    assert from_us(to_us(elsewhere, "t")) == moment
    with pytest.raises(InvalidInput, match="timezone-aware"):
        to_us(datetime(2026, 3, 2), "timestamp")


def test_round_div_is_half_to_even_for_both_signs() -> None:
    """Halves go to the even neighbour, other fractions to the nearest, negatives alike."""
    assert [round_div(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert [round_div(n, 3) for n in (1, 2, -1, -2)] == [0, 1, 0, -1]


def test_models_refuse_floats_and_name_the_field() -> None:
    """A float quantity is refused (it is not exact), as is a ninth place, naming the field."""
    base = {"client_order_id": "c", "user_id": 1, "symbol": "X", "side": "buy"}
    with pytest.raises(InvalidInput, match=r"field 'quantity'.*float is not exact"):
        validate_one(OrderIn, {**base, "quantity": 0.1}, "order")
    with pytest.raises(InvalidInput, match=r"field 'quantity'.*more than 8 decimal places"):
        validate_one(OrderIn, {**base, "quantity": "0.123456789"}, "order")
    assert validate_one(OrderIn, {**base, "quantity": "0.1"}, "order").quantity == Decimal("0.1")


def test_order_prices_must_match_the_order_type() -> None:
    """A limit order needs a limit price; a market order may not have one."""
    base = {"client_order_id": "c", "user_id": 1, "symbol": "X", "side": "buy", "quantity": 1}
    with pytest.raises(InvalidInput, match="limit_price is required for a limit order"):
        validate_one(OrderIn, {**base, "order_type": "limit"}, "order")
    with pytest.raises(InvalidInput, match="stop_price is not allowed for a market order"):
        validate_one(OrderIn, {**base, "stop_price": Decimal(5)}, "order")


def test_fill_money_is_checked_against_its_currency() -> None:
    """A commission in fractions of a yen is refused; whole yen are fine."""
    fill = {
        "order_id": 1,
        "execution_id": "e",
        "quantity": 1,
        "price": 100,
        "currency": "JPY",
        "timestamp": datetime(2026, 1, 5, tzinfo=UTC),
        "settlement_date": "2026-01-07",
    }
    with pytest.raises(InvalidInput, match=r"commission \(JPY\)"):
        validate_one(FillIn, {**fill, "commission": "0.5"}, "fill")
    assert validate_one(FillIn, {**fill, "commission": 3}, "fill").commission == 3


def test_average_cost_long_round_trip() -> None:
    """Buy 2 at 50, sell 1 at 60 (realizes 10), sell 1 at 40 (realizes -10), costs charged."""
    book = apply_fill(FLAT, 2, 10_000, 100)
    assert book == Book(2, 10_000, -100)
    book = apply_fill(book, -1, 6_000, 50)
    assert book == Book(1, 5_000, -100 - 50 + 1_000)
    book = apply_fill(book, -1, 4_000, 50)
    assert book == Book(0, 0, -200 + 1_000 - 1_000)


def test_average_cost_short_and_flip() -> None:
    """Short 1 at 100, then buy 2 at 90: 10 realized on the short, long 1 at 90."""
    book = apply_fill(FLAT, -1, 10_000, 0)
    assert book == Book(-1, -10_000, 0)
    book = apply_fill(book, 2, 18_000, 0)
    assert book == Book(1, 9_000, 1_000)


def test_partial_close_rounding_stays_in_the_basis() -> None:
    """Closing thirds of a 100-cent basis removes 33, then 34 (half to even), then the last 33."""
    book = apply_fill(FLAT, 3, 100, 0)
    book = apply_fill(book, -1, 0, 0)
    assert book == Book(2, 67, -33)
    book = apply_fill(book, -1, 0, 0)
    assert book == Book(1, 33, -67)
    book = apply_fill(book, -1, 0, 0)
    assert book == Book(0, 0, -100)


fills = st.lists(
    st.tuples(
        st.integers(min_value=-(10**12), max_value=10**12).filter(lambda q: q != 0),
        st.integers(min_value=0, max_value=10**10),
        st.integers(min_value=0, max_value=10**4),
    ),
    min_size=1,
    max_size=30,
)


@given(fills)
def test_flat_again_means_realized_is_exactly_cash(sequence: list[tuple[int, int, int]]) -> None:
    """For any fills that end flat, realized P&L equals cash received less cash paid, exactly."""
    book, cash = FLAT, 0
    for quantity, gross, costs in sequence:
        book = apply_fill(book, quantity, gross, costs)
        cash += (-gross if quantity > 0 else gross) - costs
        assert (
            (book.quantity_e8 > 0 and book.cost_basis_minor >= 0)
            or (book.quantity_e8 < 0 and book.cost_basis_minor <= 0)
            or (book.quantity_e8 == 0 and book.cost_basis_minor == 0)
        )
    closing = -book.quantity_e8
    if closing:
        book = apply_fill(book, closing, 0, 0)
    assert book.quantity_e8 == 0 and book.cost_basis_minor == 0
    assert book.realized_pnl_minor == cash
