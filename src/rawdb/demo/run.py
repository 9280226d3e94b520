"""The demo: rawdb doing its job the way a trading application uses it.

Create the demo's own database (or reuse one an earlier run made), migrate it, register
instruments and alert rules, stream a simulated feed through the streaming writer, evaluate
the rules into alert logs, query latest prices and 1-minute bars, soft-delete and restore a
bad tick, archive the oldest month, and report.

The demo never writes into a database it did not make: it marks the file it creates (the
header's application_id) and refuses any existing file without that mark.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rawdb import backend
from rawdb.archive import archive_period
from rawdb.backend.sqlite import driver, pragmas
from rawdb.catalog.policy import Policy, using
from rawdb.config import Settings
from rawdb.demo.feed import CONTRACTS, simulate, spike
from rawdb.demo.progress import Progress
from rawdb.errors import CannotOpen, RawdbError
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.models import AlertLogIn, AlertRuleIn, InstrumentIn, from_db_time
from rawdb.monitor import Metrics, Monitor
from rawdb.partitions import Period, status
from rawdb.pool import Pool
from rawdb.queries import alerts, instruments, ticks

DEMO_DATABASE = Path("rawdb-demo.sqlite3")
"""The demo's file when no --db is given, in the working directory (never RAWDB_DATABASE)."""
DEMO_APPLICATION_ID = int.from_bytes(b"rdmo", "big")
"""The mark in the SQLite header (PRAGMA application_id) of a database the demo made."""
_HEADER = b"SQLite format 3\x00"


class NotADemoDatabase(RawdbError):
    """The file exists and the demo did not make it; the demo leaves it untouched."""


@dataclass
class DemoOptions:
    """Size and span of the simulated feed."""

    ticks: int = 200_000
    days: int = 45
    seed: int = 7
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    progress: bool = True
    """Draw the progress bar (it shows only when stderr is a terminal in any case)."""


def demo_mark(database: Path) -> int | None:
    """The header's application_id, read from the file's bytes (nothing is opened through
    SQLite, so nothing can be written); None when the file is not an SQLite database."""
    try:
        with database.open("rb") as file:
            header = file.read(100)
    except OSError as exc:
        raise CannotOpen(f"{database}: cannot read it ({exc.strerror}); nothing written") from exc
    if len(header) < 100 or not header.startswith(_HEADER):
        return None
    return int.from_bytes(header[68:72], "big")


def claim(database: Path) -> None:
    """Make a new, marked demo database, or accept one the demo made; refuse anything else
    before a byte is written."""
    backend.current().check_target(database)  # a directory, or a folder that does not exist
    if database.exists():
        if not database.is_file() or demo_mark(database) != DEMO_APPLICATION_ID:
            raise NotADemoDatabase(
                f"{database} exists and was not made by the demo; the demo writes only into "
                f"its own database. Pass --db with a new file name (or remove {database} if "
                "it is an old demo file). Nothing was written."
            )
        return
    conn = driver.open_plain(database)
    try:
        conn.execute(pragmas.setting("application_id", DEMO_APPLICATION_ID))
    finally:
        conn.close()


async def ensure_instruments(pool: Pool) -> dict[str, int]:
    """The demo's contracts, registered once (a second run reuses them)."""
    ids: dict[str, int] = {}
    for contract in CONTRACTS:
        found = await instruments.get_instrument_by_symbol(pool, contract.symbol)
        if found is None:
            found = await instruments.add_instrument(
                pool, InstrumentIn(symbol=contract.symbol, name=contract.name)
            )
        ids[contract.symbol] = found.id
    return ids


async def ensure_rules(pool: Pool, ids: dict[str, int]) -> int:
    """Two rules per contract: price 2% above and 2% below where it starts."""
    if await alerts.active_alert_rules(pool):
        return len(await alerts.active_alert_rules(pool))
    count = 0
    for contract in CONTRACTS:
        for condition, factor in (("above", 1.02), ("below", 0.98)):
            await alerts.add_alert_rule(
                pool,
                AlertRuleIn(
                    instrument_id=ids[contract.symbol],
                    condition=condition,
                    threshold=round(contract.price * factor, 2),
                    name=f"{contract.symbol} {condition} {factor:.0%}",
                ),
            )
            count += 1
    return count


def feed_start(settings: Settings, options: DemoOptions) -> datetime:
    """Where the feed begins: ``days`` before the end, but after any archived month (a run on
    a database an earlier run archived from must not write into the archive's period)."""
    start = options.end - timedelta(days=options.days)
    for family in status(Path(settings.database), sizes=False):
        for table in family.tables:
            if family.family == "market_data" and table.state == "archived" and table.period_end:
                ended = from_db_time(table.period_end)
                if ended is not None and ended > start:
                    start = ended
    return start


async def stream_feed(
    pool: Pool, ids: dict[str, int], options: DemoOptions, metrics: Metrics, start: datetime
) -> dict[str, Any]:
    """Put every simulated tick through the streaming writer, one at a time."""
    progress = Progress(options.ticks, "streaming ticks")
    progress.enabled = progress.enabled and options.progress
    config = StreamConfig(batch_size=5_000, max_delay=0.05)
    started = time.perf_counter()
    async with TickStream(pool, config, metrics=metrics) as stream:
        for n, tick in enumerate(
            simulate(ids, start, options.end - start, options.ticks, options.seed)
        ):
            await stream.put(tick)
            if n % 2_000 == 0:
                progress.update(n)
        await stream.flush()
    progress.finish(options.ticks)
    seconds = time.perf_counter() - started
    return {
        "ticks": options.ticks,
        "seconds": round(seconds, 2),
        "ticks_per_s": round(options.ticks / seconds),
    }


async def evaluate_rules(pool: Pool, since: datetime) -> dict[str, int]:
    """Check each active rule against the price range since ``since``; log what fired."""
    now = datetime.now(UTC)
    logs: list[AlertLogIn] = []
    for rule in await alerts.active_alert_rules(pool):
        started = time.perf_counter()
        window = await ticks.price_range(pool, rule.instrument_id, since)
        if window.ticks == 0 or window.high is None or window.low is None or rule.threshold is None:
            continue
        value = window.high if rule.condition == "above" else window.low
        fired = value > rule.threshold if rule.condition == "above" else value < rule.threshold
        logs.append(
            AlertLogIn(
                timestamp=now,
                rule_id=rule.id,
                instrument_id=rule.instrument_id,
                trigger_value=value,
                threshold_value=rule.threshold,
                fired_status="fired" if fired else "not_fired",
                delivery_status="pending" if fired else "skipped",
                evaluation_time_ms=round((time.perf_counter() - started) * 1000),
                rule_condition=rule.condition,
                alert_message=f"{rule.name}: {value} vs {rule.threshold}" if fired else None,
            )
        )
        if fired:
            await alerts.mark_rule_triggered(pool, rule.id, now)
    await alerts.write_alert_logs(pool, logs)
    return {"evaluated": len(logs), "fired": sum(1 for log in logs if log.fired_status == "fired")}


async def read_back(pool: Pool, ids: dict[str, int], options: DemoOptions) -> dict[str, Any]:
    """Latest prices of every contract and the last hour's 1-minute bars of the first one."""
    latest = await ticks.latest_ticks(pool, list(ids.values()))
    symbol_of = {v: k for k, v in ids.items()}
    first = ids[CONTRACTS[0].symbol]
    bars = await ticks.ohlc_bars(pool, first, options.end - timedelta(hours=1), options.end, "1m")
    return {
        "latest": {symbol_of[t.instrument_id]: t.model_dump(mode="json")["price"] for t in latest},
        "bars_1m_last_hour": len(bars),
        "last_bar": bars[-1].model_dump(mode="json") if bars else None,
    }


async def bad_tick_round_trip(
    pool: Pool, ids: dict[str, int], options: DemoOptions
) -> dict[str, Any]:
    """Write a bad print, hide it with a soft delete, then restore it and delete it again."""
    first = ids[CONTRACTS[0].symbol]
    good = await ticks.latest_tick(pool, first)
    assert good is not None
    bad_row = spike(
        next(simulate({CONTRACTS[0].symbol: first}, options.end, timedelta(seconds=1), 1))
    )
    await ticks.insert_ticks(pool, [bad_row])
    bad = await ticks.latest_tick(pool, first)
    assert bad is not None
    hidden = await ticks.soft_delete_tick(pool, bad.id)
    after = await ticks.latest_tick(pool, first)
    restored = await ticks.restore_tick(pool, bad.id)
    await ticks.soft_delete_tick(pool, bad.id)
    return {
        "bad_price": bad.price,
        "hidden": hidden,
        "latest_after_soft_delete": after.price if after else None,
        "restored": restored,
    }


async def archive_oldest_month(
    settings: Settings, start: datetime, end: datetime
) -> dict[str, Any]:
    """Archive the month the feed started in (copied, verified, then dropped from the file),
    unless that is the current month, which the feed is still writing."""
    period = Period.of_time("market_data", start)
    if period == Period.of_time("market_data", end):
        return {"period": period.label, "action": "skipped: the oldest month is the current one"}
    outcome = await asyncio.to_thread(archive_period, Path(settings.database), period)
    return {
        "period": period.label,
        "action": outcome.action,
        "rows": outcome.rows,
        "archive_file": outcome.archive_file,
    }


def partition_summary(settings: Settings) -> list[dict[str, Any]]:
    """Each market-data table: its state and rows."""
    families = status(Path(settings.database), sizes=False)
    return [
        {"table": t.name, "state": t.state, "rows": t.rows}
        for family in families
        if family.family == "market_data"
        for t in family.tables
    ]


async def run_demo(settings: Settings, options: DemoOptions) -> dict[str, Any]:
    """Every step in order, on the demo's own database; returns what each did.

    The partition policy is the default one, whatever RAWDB_PARTITIONS_* say: the archive
    goes beside the demo's file, never into an application's archive folder.
    """
    claim(Path(settings.database))
    with using(policy=Policy()):
        return await _run_steps(settings, options)


async def _run_steps(settings: Settings, options: DemoOptions) -> dict[str, Any]:
    report: dict[str, Any] = {"database": str(settings.database)}
    async with Pool.open(settings, migrate=True) as pool:
        monitor = Monitor(pool)
        ids = await ensure_instruments(pool)
        report["instruments"] = len(ids)
        report["rules"] = await ensure_rules(pool, ids)
        start = feed_start(settings, options)
        report["feed"] = await stream_feed(pool, ids, options, monitor.metrics, start)
        report["alerts"] = await evaluate_rules(pool, options.end - timedelta(days=1))
        report["reads"] = await read_back(pool, ids, options)
        report["bad_tick"] = await bad_tick_round_trip(pool, ids, options)
        report["archive"] = await archive_oldest_month(settings, start, options.end)
        report["partitions"] = partition_summary(settings)
        health = await monitor.report()
        await monitor.close()
        report["health"] = health.model_dump(mode="json")
    return report
