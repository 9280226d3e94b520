"""Read deadlines on real database files: SQLite is interrupted, QueryTimeout names the
statement, and the connection goes back to the pool ready for the next read."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rawdb import DatabaseRefused, Pool, Settings, TickRow, trading
from rawdb.config import read_timeout
from rawdb.errors import ConfigError, QueryTimeout, UsageError
from rawdb.monitor.metrics import Metrics
from rawdb.queries import alerts, instruments, load, run, ticks

from conftest import ROOT

APP_SQL = load(Path(__file__).parent / "app_sql")
"""An application's own statements, loaded the way an application loads its files."""
SLOW = APP_SQL["slow_pair_count"]
ENDLESS = {"rounds": 10**10}
"""Hours of work for the slow statement: only a deadline ends it in time."""
LONG = 1_000_000
"""Rounds that take a good part of a second here: longer than 50 ms, short enough to wait for."""
DEADLINE = 0.05
NOW = datetime.now(UTC).replace(microsecond=0)


@asynccontextmanager
async def opened(tmp_path: Path, **settings: Any) -> AsyncIterator[Pool]:
    """A migrated pool on a fresh file with one instrument (id 1, ES) and a few ticks."""
    config = Settings(database=tmp_path / "deadline.sqlite3", **settings)
    async with Pool.open(config, migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "E-mini"})
        rows = [TickRow(es.id, NOW - timedelta(seconds=i), 5000.0 + i, 1) for i in range(50)]
        await ticks.insert_ticks(pool, rows)
        yield pool


async def timed_out(call: Awaitable[Any]) -> tuple[QueryTimeout, float]:
    """The QueryTimeout ``call`` raises and the seconds from the call to the raise."""
    started = time.perf_counter()
    with pytest.raises(QueryTimeout) as caught:
        await call
    return caught.value, time.perf_counter() - started


async def in_place(pool: Pool, params: dict[str, int], **read: Any) -> list[Any]:
    """The slow statement through ``fetchall_now`` (run on the event loop's thread)."""
    async with pool.read(**read) as conn:
        return await conn.fetchall_now(SLOW.sql, params, name=SLOW.name)


async def symbols(pool: Pool) -> list[str]:
    return [row["symbol"] for row in await run.query(pool, APP_SQL["instrument_symbols"])]


async def test_a_read_past_its_deadline_raises_within_twice_the_deadline(tmp_path: Path) -> None:
    """A named statement past timeout=0.05 raises QueryTimeout within 0.1 s naming it and the
    deadline; the next read on the pool works and sees the latest data."""
    async with opened(tmp_path) as pool:
        error, took = await timed_out(run.query(pool, SLOW, ENDLESS, timeout=DEADLINE))
        assert took < 2 * DEADLINE
        assert str(error).startswith(
            "statement 'slow_pair_count' ran past its 0.050 s deadline and was interrupted"
        )
        assert (error.statement, error.timeout) == ("slow_pair_count", DEADLINE)
        assert isinstance(error, DatabaseRefused)
        assert "interrupted" in str(error.__cause__)  # the driver's error is only the cause
        await instruments.add_instrument(pool, {"symbol": "NQ", "name": "E-mini Nasdaq"})
        assert await symbols(pool) == ["ES", "NQ"]
        latest = await ticks.latest_tick(pool, 1)
        assert latest is not None and latest.price == 5000.0


async def test_a_read_in_place_past_its_deadline_raises_within_twice_the_deadline(
    tmp_path: Path,
) -> None:
    """The same through fetchall_now, where the progress handler stops SQLite; the next reads,
    in place and on the connection's thread, work."""
    async with opened(tmp_path) as pool:
        error, took = await timed_out(in_place(pool, ENDLESS, timeout=DEADLINE))
        assert took < 2 * DEADLINE
        assert error.statement == "slow_pair_count" and "0.050 s deadline" in str(error)
        assert (await in_place(pool, {"rounds": 10}))[0][0] == 10
        assert await symbols(pool) == ["ES"]


async def test_the_default_deadline_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without timeout= a read gets Settings.read_timeout_s, here from RAWDB_READ_TIMEOUT_S."""
    monkeypatch.setenv("RAWDB_READ_TIMEOUT_S", "0.05")
    async with opened(tmp_path) as pool:
        assert pool.settings.read_timeout_s == DEADLINE
        error, took = await timed_out(run.query_one(pool, SLOW, ENDLESS))
        assert took < 2 * DEADLINE and error.timeout == DEADLINE
        error, took = await timed_out(in_place(pool, ENDLESS))
        assert took < 2 * DEADLINE and error.timeout == DEADLINE
        assert await symbols(pool) == ["ES"]


async def test_timeout_none_or_a_longer_one_overrides_the_default(tmp_path: Path) -> None:
    """timeout=None turns the settings' deadline off, a larger timeout= replaces it: the slow
    statement runs past 50 ms to its answer."""
    async with opened(tmp_path, read_timeout_s=DEADLINE) as pool:
        for timeout in (None, 30.0):
            started = time.perf_counter()
            row = await run.query_one(pool, SLOW, {"rounds": LONG}, timeout=timeout)
            assert time.perf_counter() - started > DEADLINE
            assert row is not None and row["pairs"] == LONG
        assert (await in_place(pool, {"rounds": LONG}, timeout=None))[0][0] == LONG


async def test_fast_reads_under_a_deadline_return_what_they_return_without(
    tmp_path: Path,
) -> None:
    """Typed reads (ticks, instruments, alerts, trading) and an application's statement under
    a deadline return the same as without one."""
    async with opened(tmp_path) as pool:
        rule = await alerts.add_alert_rule(
            pool, {"instrument_id": 1, "condition": "above", "threshold": 5000}
        )
        order = await trading.place_order(
            pool,
            {
                "client_order_id": "c-1",
                "user_id": 7,
                "symbol": "AAPL",
                "side": "buy",
                "quantity": Decimal("10"),
            },
        )
        start, end = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
        reads: list[Callable[[float | None], Awaitable[Any]]] = [
            lambda t: ticks.latest_tick(pool, 1, timeout=t),
            lambda t: ticks.latest_ticks(pool, timeout=t),
            lambda t: ticks.tick_range(pool, 1, start, end, timeout=t),
            lambda t: ticks.ohlc_bars(pool, 1, start, end, "1m", timeout=t),
            lambda t: ticks.price_range(pool, 1, start, timeout=t),
            lambda t: instruments.list_instruments(pool, timeout=t),
            lambda t: alerts.get_alert_rule(pool, rule.id, timeout=t),
            lambda t: trading.get_order(pool, order.id, timeout=t),
            lambda t: trading.open_orders(pool, timeout=t),
            lambda t: symbols_under(pool, t),
        ]
        for read in reads:
            assert await read(0.5) == await read(None)
        assert len(await ticks.tick_range(pool, 1, start, end, timeout=0.5)) == 50


async def symbols_under(pool: Pool, timeout: float | None) -> list[str]:
    rows = await run.query(pool, APP_SQL["instrument_symbols"], timeout=timeout)
    return [row["symbol"] for row in rows]


EVERY_READ: list[tuple[str, Callable[[Pool, float], Awaitable[Any]]]] = [
    ("latest_tick", lambda p, t: ticks.latest_tick(p, 1, timeout=t)),
    ("latest_ticks", lambda p, t: ticks.latest_ticks(p, [1], timeout=t)),
    ("tick_range", lambda p, t: ticks.tick_range(p, 1, NOW, NOW + timedelta(1), timeout=t)),
    ("ohlc_bars", lambda p, t: ticks.ohlc_bars(p, 1, NOW, NOW + timedelta(1), timeout=t)),
    ("price_range", lambda p, t: ticks.price_range(p, 1, NOW, timeout=t)),
    ("get_instrument", lambda p, t: instruments.get_instrument(p, 1, timeout=t)),
    ("by_symbol", lambda p, t: instruments.get_instrument_by_symbol(p, "ES", timeout=t)),
    ("list_instruments", lambda p, t: instruments.list_instruments(p, timeout=t)),
    ("get_alert_rule", lambda p, t: alerts.get_alert_rule(p, 1, timeout=t)),
    ("active_alert_rules", lambda p, t: alerts.active_alert_rules(p, timeout=t)),
    ("logs_by_rule", lambda p, t: alerts.alert_logs_by_rule(p, 1, timeout=t)),
    ("logs_by_instrument", lambda p, t: alerts.alert_logs_by_instrument(p, 1, timeout=t)),
    ("logs_by_status", lambda p, t: alerts.alert_logs_by_status(p, "fired", "pending", timeout=t)),
    ("get_order", lambda p, t: trading.get_order(p, 1, timeout=t)),
    ("by_client_id", lambda p, t: trading.get_order_by_client_id(p, "c", timeout=t)),
    ("open_orders", lambda p, t: trading.open_orders(p, timeout=t)),
    ("get_position", lambda p, t: trading.get_position(p, 7, "AAPL", timeout=t)),
    ("positions_of_user", lambda p, t: trading.positions_of_user(p, 7, timeout=t)),
    ("get_signal", lambda p, t: trading.get_signal(p, 1, timeout=t)),
    ("signals_above", lambda p, t: trading.signals_above(p, 0.5, NOW, timeout=t)),
    ("get_trade", lambda p, t: trading.get_trade(p, 1, timeout=t)),
    ("by_execution_id", lambda p, t: trading.get_trade_by_execution_id(p, "x", timeout=t)),
    ("trades_by_symbol", lambda p, t: trading.trades_by_symbol(p, "A", NOW, NOW, timeout=t)),
    ("trades_of_order", lambda p, t: trading.trades_of_order(p, 1, timeout=t)),
    ("query", lambda p, t: run.query(p, APP_SQL["instrument_symbols"], timeout=t)),
    ("query_one", lambda p, t: run.query_one(p, "get_instrument", (1,), timeout=t)),
]


async def test_every_public_read_takes_a_deadline(tmp_path: Path) -> None:
    """Each typed read passes timeout= to its reader: one already spent raises QueryTimeout
    before the first statement starts, and a generous one lets it through."""
    async with opened(tmp_path) as pool:
        for label, read in EVERY_READ:
            with pytest.raises(QueryTimeout, match="was not started") as caught:
                await read(pool, 1e-9)
            assert caught.value.timeout == 1e-9, label
            await read(pool, 5.0)


async def test_a_family_template_is_refused_by_the_generic_read(tmp_path: Path) -> None:
    """run.query refuses a statement written for a table family's period tables, which run as
    it stands would read the default table only; the typed function reads it."""
    async with opened(tmp_path) as pool:
        with pytest.raises(UsageError, match="'tick_range' is a template over a table family"):
            await run.query(pool, "tick_range", timeout=DEADLINE)


@pytest.mark.parametrize("value", [0, -1, -0.001, math.nan, math.inf, "soon"])
def test_a_bad_default_deadline_is_refused(value: object) -> None:
    """A zero, negative, infinite or non-numeric read_timeout_s is a ConfigError naming the
    setting and its variable."""
    with pytest.raises(ConfigError, match=r"Settings\.read_timeout_s \(RAWDB_READ_TIMEOUT_S\)"):
        Settings(read_timeout_s=value)


def test_the_default_deadline_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """RAWDB_READ_TIMEOUT_S takes seconds, and none/off/empty for no deadline; -1 is refused."""
    assert Settings.from_env({}).read_timeout_s is None
    assert Settings.from_env({"RAWDB_READ_TIMEOUT_S": "0.25"}).read_timeout_s == 0.25
    for unset in ("none", "OFF", ""):
        assert Settings.from_env({"RAWDB_READ_TIMEOUT_S": unset}).read_timeout_s is None
    monkeypatch.setenv("RAWDB_READ_TIMEOUT_S", "-1")
    with pytest.raises(ConfigError, match="must be greater than 0"):
        Settings()


async def test_a_bad_timeout_argument_is_refused_before_any_read(tmp_path: Path) -> None:
    """timeout= of 0, a negative, NaN, infinity, a bool or text is a ConfigError saying what to
    pass, raised before a connection is taken."""
    async with opened(tmp_path) as pool:
        before = pool.stats().acquisitions
        for bad in (0, -1.0, math.nan, math.inf, True, "0.05"):
            with pytest.raises(ConfigError, match="timeout must be a positive number of seconds"):
                await ticks.latest_tick(pool, 1, timeout=bad)  # type: ignore[arg-type]
            with pytest.raises(ConfigError):
                async with pool.read(timeout=bad):  # type: ignore[arg-type]
                    pass
        assert pool.stats().acquisitions == before
        assert read_timeout(2, pool.settings) == 2.0


async def test_one_reader_is_reused_after_timeouts_and_still_works(tmp_path: Path) -> None:
    """With a single reader, the connection that timed out (on either path, three times) is the
    one the next reads get: not reopened, no transaction open, no deadline left behind."""
    async with opened(tmp_path, readers=1) as pool:
        async with pool.read() as conn:
            first = conn.raw
        for call in (
            run.query(pool, SLOW, ENDLESS, timeout=DEADLINE),
            in_place(pool, ENDLESS, timeout=DEADLINE),
            run.query(pool, SLOW, ENDLESS, timeout=DEADLINE),
        ):
            _, took = await timed_out(call)
            assert took < 2 * DEADLINE
        async with pool.read() as conn:
            assert conn.raw is first and not conn.in_transaction
        # Reads longer than the old deadline run to their end: nothing of it stayed armed.
        assert (await run.query_one(pool, SLOW, {"rounds": LONG}, timeout=None) or [0])[0] == LONG
        assert (await in_place(pool, {"rounds": LONG}, timeout=None))[0][0] == LONG
        stats = pool.stats()
        assert (stats.recycled, stats.health_check_failures) == (0, 0)
        assert stats.circuit_state == "closed"


async def test_a_snapshot_past_its_deadline_is_ended(tmp_path: Path) -> None:
    """A snapshot read interrupted at its deadline leaves no read transaction: the reader sees
    a row committed afterwards."""
    async with opened(tmp_path, readers=1) as pool:

        async def snapshot() -> None:
            async with pool.read(snapshot=True, timeout=DEADLINE) as conn:
                await conn.fetchall(SLOW.sql, ENDLESS, name=SLOW.name)

        _, took = await timed_out(snapshot())
        assert took < 2 * DEADLINE
        await instruments.add_instrument(pool, {"symbol": "CL", "name": "Crude"})
        assert await symbols(pool) == ["CL", "ES"]


async def test_a_write_transaction_has_no_deadline(tmp_path: Path) -> None:
    """Deadlines are for reads: inside pool.write() the slow statement, read on the writer
    with the default and an explicit deadline in force, runs to its end, and the block
    commits."""
    async with opened(tmp_path, read_timeout_s=DEADLINE) as pool:
        started = time.perf_counter()
        async with pool.write():
            await instruments.add_instrument(pool, {"symbol": "GC", "name": "Gold"})
            row = await run.query_one(pool, SLOW, {"rounds": LONG}, timeout=DEADLINE)
            assert row is not None and row["pairs"] == 2 * LONG  # two instruments, one new
            assert len(await instruments.list_instruments(pool, timeout=DEADLINE)) == 2
        assert time.perf_counter() - started > DEADLINE
        assert await symbols(pool) == ["ES", "GC"]


async def test_the_wait_for_a_free_reader_is_not_part_of_the_deadline(tmp_path: Path) -> None:
    """The deadline starts when the reader is lent: a read queued 0.2 s behind another still
    gets its 50 ms (PoolConfig.acquire_timeout bounds the wait)."""
    async with opened(tmp_path, readers=1) as pool:
        held = asyncio.Event()

        async def holder() -> None:
            async with pool.read(timeout=None):
                held.set()
                await asyncio.sleep(0.2)

        task = asyncio.create_task(holder())
        await held.wait()
        started = time.perf_counter()
        assert await symbols_under(pool, DEADLINE) == ["ES"]
        assert time.perf_counter() - started >= 0.15
        await task


async def test_the_monitor_counts_a_timeout_as_an_error_of_its_statement(tmp_path: Path) -> None:
    """The statement's figures count the timeout among its errors and in timeouts; a refusal
    (the caller's constraint) it is not."""
    async with opened(tmp_path) as pool:
        metrics = Metrics()
        pool.observer = metrics
        await timed_out(run.query(pool, SLOW, ENDLESS, timeout=DEADLINE))
        await run.query(pool, SLOW, {"rounds": 10}, timeout=DEADLINE)
        figures = metrics.statement("slow_pair_count")
        assert figures is not None
        assert (figures.count, figures.errors, figures.timeouts, figures.refused) == (2, 1, 1, 0)


def test_the_benchmark_reports_the_deadline_figures(tmp_path: Path) -> None:
    """tools/bench_deadline.py, tiny, prints every figure docs/app.md cites."""
    out = subprocess.run(
        [
            sys.executable,
            "tools/bench_deadline.py",
            "--reads",
            "5",
            "--pairs",
            "2",
            "--rounds",
            "300",
            "--trials",
            "2",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    result = json.loads(out)
    assert set(result["point_reads"]) == {"latest_tick_in_place", "get_instrument_thread"}
    assert all(row["ratio"] > 0 for row in result["point_reads"].values())
    assert set(result["scan"]) == {"idle", "busy"}
    assert set(result["progress_interval"]) == {"100", "1000", "10000"}
    for row in result["overshoot_50ms"].values():
        assert 0 <= row["median_ms"] < 50
