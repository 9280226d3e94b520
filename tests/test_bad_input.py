"""Bad input that was accepted silently or crashed: each is refused with InvalidInput naming the
row and field, and nothing of a refused batch is written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from rawdb.config import Settings
from rawdb.errors import ConfigError, InvalidInput
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.models import (
    INSTRUMENT_STATUSES,
    INSTRUMENT_TYPES,
    AlertLogIn,
    InstrumentIn,
    TickIn,
    to_db_time,
)
from rawdb.monitor import Metrics
from rawdb.pool import Pool
from rawdb.queries import alerts, instruments, ticks
from rawdb.queries.rows import TickRow
from reliability import record

FAR = datetime(2150, 1, 1, tzinfo=UTC)
NEW_YORK = timezone(timedelta(hours=-5))
TOKYO = timezone(timedelta(hours=9))
OFF_THE_END = datetime(9999, 12, 31, 23, tzinfo=NEW_YORK)  # 10000-01-01 04:00 in UTC
BEFORE_THE_START = datetime(1, 1, 1, 3, tzinfo=TOKYO)  # the year 0 in UTC


def now() -> datetime:
    return datetime.now(UTC)


def stored(pool: Pool, table: str = "market_data") -> int:
    with sqlite3.connect(pool.settings.database) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def instrument(pool: Pool, symbol: str = "ES") -> int:
    return (await instruments.add_instrument(pool, {"symbol": symbol, "name": symbol})).id


def live(es: int, count: int = 3) -> list[TickRow]:
    start = now() - timedelta(seconds=count)
    return [TickRow(es, start + timedelta(seconds=i), 100.0 + i, 1) for i in range(count)]


def as_form(form: str, tick: TickRow) -> Any:
    values = {k: v for k, v in tick._asdict().items() if v is not None}
    return {"tuple": lambda: tick, "dict": lambda: values, "model": lambda: TickIn(**values)}[
        form
    ]()


# --- 1. ticks in the future -------------------------------------------------------------------


@pytest.mark.parametrize("form", ["tuple", "dict", "model"])
async def test_bulk_insert_refuses_a_tick_dated_2150_naming_its_row(pool: Pool, form: str) -> None:
    """A tick dated 2150 among live ticks refuses the batch whole, in every input form."""
    es = await instrument(pool)
    batch = [as_form(form, t) for t in live(es)]
    batch.insert(2, as_form(form, TickRow(es, FAR, 101.0, 1)))
    with pytest.raises(InvalidInput, match=r"row 2, field 'timestamp': is later than") as caught:
        await ticks.insert_ticks(pool, batch)
    ok = "2150" in str(caught.value) and stored(pool) == 0
    record(
        "bad input: a tick dated 2150 in a bulk batch (TickRow, dict, TickIn)",
        "InvalidInput naming row and field; nothing of the batch written",
        ok=ok,
    )
    assert ok, caught.value


async def test_the_tolerance_allows_clock_skew_and_is_a_setting(tmp_path: Path) -> None:
    """A minute ahead is skew and is kept; ten minutes ahead is refused by default, kept when
    future_tolerance_s allows it (RAWDB_FUTURE_TOLERANCE_S, checked like every setting)."""
    async with Pool.open(Settings(database=tmp_path / "a.sqlite3"), migrate=True) as pool:
        es = await instrument(pool)
        assert await ticks.insert_ticks(pool, [TickRow(es, now() + timedelta(minutes=1), 1.0)])
        with pytest.raises(InvalidInput, match="row 0, field 'timestamp'"):
            await ticks.insert_ticks(pool, [TickRow(es, now() + timedelta(minutes=10), 1.0)])
        assert stored(pool) == 1
    roomy = Settings.from_env({"RAWDB_FUTURE_TOLERANCE_S": "3600"}, database=tmp_path / "b.db")
    assert roomy.future_tolerance_s == 3600.0
    async with Pool.open(roomy, migrate=True) as pool:
        es = await instrument(pool)
        assert await ticks.insert_ticks(pool, [TickRow(es, now() + timedelta(minutes=10), 1.0)])
    for bad in ("-1", "nan", "soon"):
        with pytest.raises(ConfigError, match="RAWDB_FUTURE_TOLERANCE_S"):
            Settings.from_env({"RAWDB_FUTURE_TOLERANCE_S": bad})


async def test_stream_sets_a_future_tick_aside_and_the_feed_goes_on(pool: Pool) -> None:
    """put() of a 2150 tick does not raise: the tick goes to stream.rejected with the reason,
    the ticks around it commit, the next flush says so once, and the stream goes on."""
    es = await instrument(pool)
    before, after = live(es, 2), live(es, 2)
    metrics = Metrics()
    config = StreamConfig(batch_size=100, max_delay=10.0)
    async with TickStream(pool, config, metrics=metrics) as stream:
        await stream.put(before[0])
        stream.put_nowait(before[1])
        await stream.put(TickRow(es, FAR, 1.0))
        stream.put_nowait({"instrument_id": es, "timestamp": FAR, "price": 2.0})
        for tick in after:
            await stream.put(tick)
        with pytest.raises(InvalidInput, match=r"2 tick\(s\) could not be written") as caught:
            await stream.flush()
        reported = [(row[0][:4], "later than" in why) for row, why in stream.rejected]
        await stream.put(live(es, 1)[0])
        await stream.flush()  # reported once: this flush has nothing new to say
    ok = reported == [("2150", True)] * 2 and stored(pool) == 5 and "2150" in str(caught.value)
    ok = ok and metrics.ticks_rejected == 2  # rawdb_ticks_rejected_total
    record(
        "bad input: ticks dated 2150 put into the streaming writer",
        "set aside in stream.rejected with the reason; the rest committed; the feed goes on",
        ok=ok,
    )
    assert ok, (reported, stored(pool))


async def test_far_future_rows_already_stored_do_not_shadow_the_live_tick(pool: Pool) -> None:
    """A row dated 2150 written straight into market_data_default (by an older version or ad-hoc
    SQL) is not what latest_tick or latest_ticks return: the live tick is."""
    es, nq = await instrument(pool, "ES"), await instrument(pool, "NQ")
    ticks_in = live(es)
    await ticks.insert_ticks(pool, ticks_in)
    with sqlite3.connect(pool.settings.database) as conn:
        conn.executemany(
            "INSERT INTO market_data_default (timestamp, instrument_id, price) VALUES (?, ?, ?)",
            [(to_db_time(FAR), es, 9999.0), (to_db_time(FAR), nq, 9999.0)],
        )
    newest = ticks_in[-1].timestamp
    one = await ticks.latest_tick(pool, es)
    every = await ticks.latest_ticks(pool)
    chosen = await ticks.latest_ticks(pool, [es, nq])
    window = await ticks.price_range(pool, es, newest - timedelta(hours=1))
    ok = (
        one is not None
        and one.timestamp == newest
        and [(t.instrument_id, t.timestamp) for t in every] == [(es, newest)]
        and chosen == every
        and await ticks.latest_tick(pool, nq) is None
        and (window.high, window.ticks) == (ticks_in[-1].price, len(ticks_in))
    )
    record(
        "bad input: a row dated 2150 already stored in the default table",
        "latest_tick, latest_ticks and price_range see the live ticks, not the far-future row",
        ok=ok,
    )
    assert ok, (one, every, window)


# --- 2. numbers, batches and times --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "100.5"),
        ("price", "1e3"),
        ("price", True),
        ("bid", "99.5"),
        ("volume", True),
        ("volume", "3"),
        ("volume", 3.0),
        ("instrument_id", "1"),
        ("instrument_id", True),
    ],
)
async def test_numbers_are_not_coerced(pool: Pool, field: str, value: object) -> None:
    """'100.5', '1e3', True as a price or volume and '1' as an instrument id are refused, in a
    dict batch and as a TickIn, naming the row and field; nothing is written."""
    es = await instrument(pool)
    good = {"instrument_id": es, "timestamp": now(), "price": 100.0, "volume": 1}
    with pytest.raises(InvalidInput, match=rf"row 1, field '{field}': must be") as caught:
        await ticks.insert_ticks(pool, [good, {**good, field: value}])
    with pytest.raises(ValidationError):
        TickIn(**{**good, field: value})
    ok = repr(value) in str(caught.value) and stored(pool) == 0
    record(
        "bad input: text, bools or integral floats where a tick's number is due",
        "InvalidInput naming row, field and value; nothing of the batch written",
        ok=ok,
    )
    assert ok, caught.value


async def test_a_batch_is_any_iterable_of_rows(pool: Pool) -> None:
    """A generator is a batch; None, a dict, a str or a single row is not, and says to pass a
    list of rows (None used to return 0, a dict raised KeyError, a generator TypeError)."""
    es = await instrument(pool)

    def generated() -> Iterator[TickRow]:
        yield from live(es)

    written = await ticks.insert_ticks(pool, generated())
    refusals = []
    for batch in (None, {"instrument_id": es, "timestamp": now()}, "ticks", live(es)[0], 7):
        with pytest.raises(InvalidInput, match="pass a list of rows") as caught:
            await ticks.insert_ticks(pool, batch)  # type: ignore[arg-type]
        refusals.append(str(caught.value))
    rule = await alerts.add_alert_rule(
        pool, {"instrument_id": es, "condition": "above", "threshold": 1.0}
    )
    log = {
        "timestamp": now(),
        "rule_id": rule.id,
        "instrument_id": es,
        "trigger_value": 2.0,
        "threshold_value": 1.0,
        "rule_condition": "above",
    }
    logged = await alerts.write_alert_logs(pool, (dict(log) for _ in range(2)))
    with pytest.raises(InvalidInput, match="pass a list of rows"):
        await alerts.write_alert_logs(pool, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"row 1: expected a TickRow like the rows before it"):
        await ticks.insert_ticks(pool, [live(es)[0], {"instrument_id": es, "timestamp": now()}])
    ok = written == 3 and logged == 2 and stored(pool) == 3 and len(refusals) == 5
    record(
        "bad input: batches that are not lists (generator, None, dict, str, one row)",
        "a generator is written; the others are refused saying to pass a list of rows",
        ok=ok,
    )
    assert ok, refusals


@pytest.mark.parametrize("moment", [OFF_THE_END, BEFORE_THE_START], ids=["10000", "0"])
async def test_times_outside_the_calendar_in_utc_are_invalid_input(
    pool: Pool, moment: datetime
) -> None:
    """Aware times whose UTC falls outside the years 1-9999 raised OverflowError; now they are
    InvalidInput naming row and field, for ticks in every form, alert logs and query windows."""
    es = await instrument(pool)
    rule = await alerts.add_alert_rule(
        pool, {"instrument_id": es, "condition": "above", "threshold": 1.0}
    )
    good = {"instrument_id": es, "timestamp": now(), "price": 1.0}
    log = {
        "timestamp": moment,
        "rule_id": rule.id,
        "instrument_id": es,
        "trigger_value": 2.0,
        "threshold_value": 1.0,
        "rule_condition": "above",
    }
    attempts: list[Callable[[], Any]] = [
        lambda: ticks.insert_ticks(pool, [good, {**good, "timestamp": moment}]),
        lambda: ticks.insert_ticks(pool, [TickRow(es, now(), 1.0), TickRow(es, moment, 1.0)]),
        lambda: alerts.write_alert_logs(pool, [{**log, "timestamp": now()}, log]),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput, match=r"row 1, field 'timestamp'"):
            await attempt()
    with pytest.raises(InvalidInput, match=r"start .* outside the years 1-9999"):
        await ticks.tick_range(pool, es, moment, datetime(9999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="outside the years 1-9999"):
        AlertLogIn(**log)
    ok = stored(pool) == 0 and stored(pool, "alert_logs") == 0
    record(
        "bad input: aware times outside the years 1-9999 once in UTC",
        "InvalidInput naming row and field (no OverflowError); nothing written",
        ok=ok,
    )
    assert ok


# --- 3. identifiers and enumerations -----------------------------------------------------------


@pytest.mark.parametrize(
    "symbol",
    ["ES\x00", "E\nS", "ES\r", "\u202eES", "E\u202aS", "E\u2066S", "ES\u2069", " ES", "ES\t"],
    ids=["nul", "newline", "cr", "rlo", "lre", "lri", "pdi", "leading-space", "trailing-tab"],
)
async def test_symbols_with_control_or_bidi_characters_are_refused(pool: Pool, symbol: str) -> None:
    """NUL, line breaks, bidi overrides and isolates, surrounding whitespace: refused, naming
    the field and the character; nothing stored."""
    with pytest.raises(InvalidInput, match=r"field 'symbol': (contains U\+|has leading)"):
        await instruments.add_instrument(pool, {"symbol": symbol, "name": "x"})
    with pytest.raises(ValidationError):
        InstrumentIn(symbol=symbol, name="x")
    ok = stored(pool, "instruments") == 0
    record(
        "bad input: instrument symbols with NUL, newlines, bidi controls or outer spaces",
        "InvalidInput naming the field and the character; nothing stored",
        ok=ok,
    )
    assert ok


async def test_names_are_one_line_and_free_text_has_no_nul(pool: Pool) -> None:
    """A name with a line break or a bidi override, a description with a NUL: refused."""
    with pytest.raises(InvalidInput, match=r"field 'name': contains U\+000A"):
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P\n500"})
    with pytest.raises(InvalidInput, match=r"field 'name': contains U\+202E"):
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P \u202e005"})
    es = await instrument(pool)
    with pytest.raises(InvalidInput, match=r"field 'description': contains U\+0000"):
        await alerts.add_alert_rule(
            pool,
            {"instrument_id": es, "condition": "above", "threshold": 1.0, "description": "a\x00"},
        )
    unusual = await instruments.add_instrument(pool, {"symbol": "BRK B", "name": "Berkshire B"})
    assert unusual.symbol == "BRK B"  # an inner space is printable, and kept
    assert stored(pool, "instruments") == 2 and stored(pool, "alert_rules") == 0


async def test_enumerations_refuse_values_outside_their_set(pool: Pool) -> None:
    """status='bogus' (and every other fixed vocabulary) is refused, listing what to pass."""
    for kind in INSTRUMENT_TYPES:
        for status in INSTRUMENT_STATUSES:
            await instruments.add_instrument(
                pool,
                {"symbol": f"{kind[:3]}{status[:3]}", "name": "x", "type": kind, "status": status},
            )
    legal = stored(pool, "instruments")
    for field in ("status", "type"):
        with pytest.raises(
            InvalidInput, match=rf"field '{field}': must be one of '(future|active)'"
        ):
            await instruments.add_instrument(pool, {"symbol": "ZZ", "name": "x", field: "bogus"})
    es = await instrument(pool)
    rule = {"instrument_id": es, "condition": "above", "threshold": 1.0}
    for field in ("condition", "rule_type"):
        with pytest.raises(InvalidInput, match=rf"field '{field}': must be one of"):
            await alerts.add_alert_rule(pool, {**rule, field: "bogus"})
    made = await alerts.add_alert_rule(pool, rule)
    log = {
        "timestamp": now(),
        "rule_id": made.id,
        "instrument_id": es,
        "trigger_value": 2.0,
        "threshold_value": 1.0,
        "rule_condition": "above",
    }
    for field in ("fired_status", "delivery_status", "rule_condition"):
        with pytest.raises(InvalidInput, match=rf"row 0, field '{field}': must be one of"):
            await alerts.write_alert_logs(pool, [{**log, field: "bogus"}])
    await alerts.write_alert_logs(pool, [log])
    (written,) = await alerts.alert_logs_by_rule(pool, made.id)
    with pytest.raises(InvalidInput, match="status 'bogus': must be one of 'pending'"):
        await alerts.set_delivery_status(pool, written.id, "bogus", attempted_at=now())
    (after,) = await alerts.alert_logs_by_rule(pool, made.id)
    for fired, delivery in (("bogus", "pending"), ("fired", "bogus")):
        with pytest.raises(InvalidInput, match="'bogus': must be one of"):
            await alerts.alert_logs_by_status(pool, fired, delivery)  # could only find nothing
    ok = (
        legal == len(INSTRUMENT_TYPES) * len(INSTRUMENT_STATUSES)
        and stored(pool, "instruments") == legal + 1
        and stored(pool, "alert_rules") == 1
        and stored(pool, "alert_logs") == 1
        and after.delivery_status == "pending"
    )
    record(
        "bad input: values outside a fixed vocabulary (status, type, condition, statuses)",
        "InvalidInput naming the field and listing the legal values; nothing stored",
        ok=ok,
    )
    assert ok
