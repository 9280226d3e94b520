"""Property tests of the tick checks: bad input is refused naming row and field, whether it
comes as a TickRow, a dict or a model; good data round-trips exactly."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rawdb.errors import InvalidInput
from rawdb.models import (
    BIDI_CONTROLS,
    SYMBOL_LENGTH,
    InstrumentIn,
    TickIn,
    from_db_time,
    to_db_time,
    validate_batch,
    validate_one,
)
from rawdb.queries.rows import Horizon, TickRow, prepare_tick, prepare_ticks
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
    "price": st.sampled_from([math.nan, math.inf, -math.inf, 1e13, "1.0", "1e3", True]),
    "bid": st.sampled_from([math.nan, "100.5", False]),
    "volume": st.sampled_from([-1, 1.5, 3.0, "3", 2**64, True]),
    "ask_size": st.sampled_from([-2, 2.0, "7"]),
    "instrument_id": st.sampled_from([0, -3, 1.0, "1", None, True]),
    "timestamp": st.sampled_from(
        [
            datetime(2026, 1, 1),
            "2026-01-01",
            "2026-01-01T00:00:00+00:00",
            0,
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),  # UTC: year 10000
            datetime(1, 1, 1, 3, tzinfo=timezone(timedelta(hours=9))),  # UTC: year 0
        ]
    ),
}


def _values(tick: TickRow) -> dict[str, object]:
    return {k: v for k, v in tick._asdict().items() if v is not None}


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


@given(
    st.lists(good_ticks(), min_size=1, max_size=20),
    st.data(),
    st.sampled_from(sorted(bad_values)),
)
def test_one_bad_field_is_refused_through_dicts_and_models_too(
    rows: list[TickRow], data: st.DataObject, field: str
) -> None:
    """The same bad values given in a dict batch, as a TickIn and to the streaming writer's
    put(): refused naming the row (in a batch) and the field, never coerced."""
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    value = data.draw(bad_values[field])
    dicts = [_values(row) for row in rows]
    dicts[index] = {**dicts[index], field: value}
    with pytest.raises(InvalidInput, match=rf"row {index}, field '{field}'"):
        prepare_ticks(dicts)
    with pytest.raises(InvalidInput, match=rf"field '{field}'"):
        prepare_tick(dicts[index])
    with pytest.raises(ValidationError) as caught:
        TickIn(**dicts[index])  # type: ignore[arg-type]
    assert (field,) in [e["loc"] for e in caught.value.errors()]
    record(
        "property: one bad value in a dict batch, a TickIn or a put() (hypothesis)",
        "refused naming the row and the field; text, bools and integral floats not coerced",
        ok=True,
    )


@given(
    st.lists(good_ticks(), min_size=1, max_size=20),
    st.data(),
    st.sampled_from(["tuple", "dict", "model"]),
)
def test_a_tick_beyond_the_horizon_is_refused_in_every_form(
    rows: list[TickRow], data: st.DataObject, form: str
) -> None:
    """With a horizon (what insert_ticks passes), one tick later than it refuses the batch
    naming its row; ticks up to it pass, whatever the form."""
    horizon = Horizon.now(300.0)
    latest = from_db_time(horizon.refused_from) - timedelta(microseconds=1)
    assert latest is not None
    earlier = st.datetimes(max_value=latest.replace(tzinfo=None), timezones=st.just(UTC))
    rows = [row._replace(timestamp=data.draw(earlier)) for row in rows]
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    ahead = data.draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=1e5)))
    late = rows[index]._replace(timestamp=latest + ahead)

    def given_as(batch: list[TickRow]) -> list[object]:
        if form == "tuple":
            return list(batch)
        dicts = [_values(row) for row in batch]
        return dicts if form == "dict" else [TickIn(**d) for d in dicts]  # type: ignore[arg-type]

    assert len(prepare_ticks(given_as(rows), horizon=horizon)) == len(rows)  # type: ignore[arg-type]
    rows[index] = late
    with pytest.raises(InvalidInput, match=rf"row {index}, field 'timestamp': is later than"):
        prepare_ticks(given_as(rows), horizon=horizon)  # type: ignore[arg-type]
    record(
        "property: one tick later than the clock plus the tolerance, in any form (hypothesis)",
        "the batch is refused whole naming its row; ticks up to the horizon pass",
        ok=True,
    )


@given(st.lists(good_ticks(), min_size=1, max_size=10))
def test_model_path_agrees_with_tuple_path(rows: list[TickRow]) -> None:
    """Dicts through pydantic and tuples through the fast path give identical rows."""
    as_dicts = [row._asdict() for row in rows]
    via_models = [m.row() for m in validate_batch(TickIn, as_dicts, "ticks")]
    assert via_models == prepare_ticks(rows)


def test_empty_and_non_sequence_batches() -> None:
    """An empty batch is nothing to do; a generator is a batch; a string, None, a dict or a
    single TickRow is not."""
    assert prepare_ticks([]) == []
    tick = TickRow(1, datetime(2026, 1, 5, tzinfo=UTC), 1.0)
    assert prepare_ticks(t for t in [tick, tick]) == prepare_ticks([tick, tick])
    for batch in ("ticks", None, {"instrument_id": 1}, tick):
        with pytest.raises(InvalidInput, match="expected a list of rows"):
            prepare_ticks(batch)  # type: ignore[arg-type]


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


bidi_or_control = st.sampled_from(
    [*sorted(BIDI_CONTROLS), "\x00", "\n", "\r", "\t", "\x7f", "\u2028", "\u200e", "\ufeff"]
)
printable = st.characters(categories=["L", "N", "P", "S"])


@given(
    st.text(printable, min_size=0, max_size=SYMBOL_LENGTH - 1),
    bidi_or_control,
    st.data(),
)
def test_symbols_with_control_or_bidi_characters_are_refused(
    text: str, bad: str, data: st.DataObject
) -> None:
    """A symbol holding any control, format or bidi character anywhere is refused, naming the
    field; through a dict (what add_instrument takes) and a model alike."""
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    symbol = text[:at] + bad + text[at:]
    with pytest.raises(InvalidInput, match=r"field 'symbol': (contains U\+|has leading)"):
        validate_one(InstrumentIn, {"symbol": symbol, "name": "x"}, "instrument")
    with pytest.raises(ValidationError):
        InstrumentIn(symbol=symbol, name="x")


@given(st.text(printable, min_size=1, max_size=SYMBOL_LENGTH))
def test_printable_symbols_are_kept_as_given(symbol: str) -> None:
    """Letters, digits, punctuation and symbols of any script are a symbol, stored unchanged."""
    assert validate_one(InstrumentIn, {"symbol": symbol, "name": "x"}, "instrument").symbol == (
        symbol
    )


def test_times_are_stored_in_utc() -> None:
    """A tick stamped 09:30 in New York (UTC-5) is stored as 14:30 UTC."""
    new_york = timezone(timedelta(hours=-5))
    (row,) = prepare_ticks([TickRow(1, datetime(2026, 1, 5, 9, 30, tzinfo=new_york), 1.0)])
    assert row[0] == "2026-01-05 14:30:00.000000"
    assert from_db_time(row[0]) == datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
