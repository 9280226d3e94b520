"""Property tests of the tick checks: bad input is refused naming row and field; good data
round-trips exactly."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rawdb.errors import InvalidInput
from rawdb.ingest.rows import TickRow, prepare_ticks
from rawdb.models import TickIn, from_db_time, to_db_time, validate_batch
from reliability import record

zones = st.builds(
    timezone, st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m))
)
aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9998, 12, 31), timezones=zones)
prices = st.floats(min_value=-1e11, max_value=1e11, allow_nan=False, allow_infinity=False)
sizes = st.integers(min_value=0, max_value=2**62)


@st.composite
def good_ticks(draw: st.DrawFn) -> TickRow:
    bid = draw(st.none() | prices)
    ask = draw(st.none() | prices)
    if bid is not None and ask is not None and bid > ask:
        bid, ask = ask, bid
    return TickRow(
        draw(st.integers(min_value=1, max_value=2**62)),
        draw(aware),
        draw(st.none() | prices),
        draw(st.none() | sizes),
        bid,
        ask,
        draw(st.none() | sizes),
        draw(st.none() | sizes),
    )


bad_values = {
    "price": st.sampled_from([math.nan, math.inf, -math.inf, 1e13, "1.0", True]),
    "volume": st.sampled_from([-1, 1.5, "3", 2**64]),
    "instrument_id": st.sampled_from([0, -3, 1.0, "1", None, True]),
    "timestamp": st.sampled_from([datetime(2026, 1, 1), "2026-01-01", 0]),
}


@given(st.lists(good_ticks(), min_size=1, max_size=30))
def test_good_ticks_round_trip_exactly(rows: list[TickRow]) -> None:
    """Every value of a good tick is stored as given; the time comes back as the same instant."""
    stored = prepare_ticks(rows)
    for row, out in zip(rows, stored, strict=True):
        assert from_db_time(out[0]) == row.timestamp
        assert out[0] == to_db_time(row.timestamp)  # the bulk path writes what queries compare
        assert out[1:8] == (
            row.instrument_id,
            row.price,
            row.volume,
            row.bid,
            row.ask,
            row.bid_size,
            row.ask_size,
        )
    # Stored texts sort as the instants do, whatever the year (so SQL ranges and ORDER BY hold).
    by_text = sorted(range(len(rows)), key=lambda i: (stored[i][0], i))
    by_time = sorted(range(len(rows)), key=lambda i: (rows[i].timestamp, i))
    assert [stored[i][0] for i in by_text] == [stored[i][0] for i in by_time]
    record(
        "property: random good tick batches (hypothesis)",
        "every value stored as given, times the same instant in UTC",
        ok=True,
    )


@given(
    st.lists(good_ticks(), min_size=1, max_size=20),
    st.data(),
    st.sampled_from(sorted(bad_values)),
)
def test_one_bad_field_refuses_the_batch_naming_it(
    rows: list[TickRow], data: st.DataObject, field: str
) -> None:
    """A single bad value anywhere in a batch is named by its row and field."""
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    value = data.draw(bad_values[field])
    rows = list(rows)
    rows[index] = rows[index]._replace(**{field: value})
    with pytest.raises(InvalidInput, match=rf"row {index}, field '{field}'"):
        prepare_ticks(rows)
    record(
        "property: one bad value (NaN, inf, huge, negative, naive time, wrong type) in a batch",
        "the batch is refused whole, the error names the row and the field",
        ok=True,
    )


@given(st.lists(good_ticks(), min_size=1, max_size=10))
def test_model_path_agrees_with_tuple_path(rows: list[TickRow]) -> None:
    """Dicts through pydantic and tuples through the fast path give identical rows."""
    as_dicts = [row._asdict() for row in rows]
    via_models = [m.row() for m in validate_batch(TickIn, as_dicts, "ticks")]
    assert via_models == prepare_ticks(rows)


def test_empty_and_non_sequence_batches() -> None:
    """An empty batch is nothing to do; a string is not a batch."""
    assert prepare_ticks([]) == []
    with pytest.raises(InvalidInput, match="expected a sequence"):
        prepare_ticks("ticks")  # type: ignore[arg-type]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(symbol=st.text(min_size=1, max_size=10).filter(lambda s: s.strip() == s and s.strip()))
def test_unicode_symbols_round_trip(tmp_path: Path, symbol: str) -> None:
    """Any unicode symbol is stored and found again, unchanged, as a bound parameter."""
    with sqlite3.connect(tmp_path / "u.sqlite3") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS s (symbol TEXT)")
        conn.execute("DELETE FROM s")
        conn.execute("INSERT INTO s VALUES (?)", (symbol,))
        assert conn.execute("SELECT symbol FROM s WHERE symbol = ?", (symbol,)).fetchone() == (
            symbol,
        )


def test_times_are_stored_in_utc() -> None:
    """A tick stamped 09:30 in New York (UTC-5) is stored as 14:30 UTC."""
    new_york = timezone(timedelta(hours=-5))
    (row,) = prepare_ticks([TickRow(1, datetime(2026, 1, 5, 9, 30, tzinfo=new_york), 1.0)])
    assert row[0] == "2026-01-05 14:30:00.000000"
    assert from_db_time(row[0]) == datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
