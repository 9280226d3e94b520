"""Bars and latest prices for ticks stored before the rollups: the backfill, and the check.

``backfill`` walks each instrument's ticks from its oldest to the moment migration 0011 turned
the rollups on, a few hours per write transaction (so a running feed waits for one step at a
time, not for the whole history), computing the 1-minute bars from the ticks, the hourly ones
from those, and at the end the latest tick. Each step records where the instrument stands, so
a stopped backfill goes on from there; a step replaces the buckets it covers, so doing one
twice changes nothing. When every instrument is done the rollups are marked complete and the
reads stop computing from the ticks.

``check`` computes the bars again from the ticks and compares them with the stored ones:
what an operator runs after an incident, or to trust an adopted database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rawdb.backend import Connection
from rawdb.catalog import reads, registry
from rawdb.errors import UsageError
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, rollups
from rawdb.queries.rows import Horizon
from rawdb.queries.run import fetch_all

Progress = Callable[[int, int], None]
"""Called with (steps done, steps in all) as the backfill goes."""
TOLERANCE = 1e-9
"""Prices compared within this (the sums of volume and counts exactly)."""


@dataclass
class BackfillReport:
    instruments: int = 0
    steps: int = 0
    minute_bars: int = 0
    complete: bool = False


@dataclass
class Difference:
    instrument_id: int
    bucket: str
    stored: dict[str, Any] | None
    computed: dict[str, Any] | None
    interval: str = "1m"


@dataclass
class CheckReport:
    instruments: int = 0
    buckets: int = 0
    differences: list[Difference] = field(default_factory=list)
    skipped: str = ""
    repaired: int = 0
    by_interval: dict[str, int] = field(default_factory=dict)
    """Buckets compared per interval (``buckets`` is their sum)."""

    @property
    def ok(self) -> bool:
        return not self.differences


def _hour_floor(stamp: str) -> str:
    return stamp[: rollups.HOUR] + ":00"


def _hour_after(stamp: str) -> str:
    """The hour bucket after the one holding ``stamp``: past every tick up to it."""
    start = rollups.bucket_start(_hour_floor(stamp)) + timedelta(hours=1)
    return start.strftime(rollups.BUCKET_FORMAT)


def _backfill_end(live_since: str, tolerance_s: float) -> str:
    """The hour bucket past every tick stored before the rollups began: those may lie up to
    the future tolerance after ``live_since``."""
    ahead = datetime.strptime(live_since[:19], "%Y-%m-%d %H:%M:%S") + timedelta(seconds=tolerance_s)
    return _hour_after(ahead.strftime(rollups.BUCKET_FORMAT))


async def _state(pool: Pool) -> tuple[bool, str | None]:
    """Whether the rollups are complete, and since when the writer keeps them (None before
    the backfill's first run)."""
    async with pool.read() as conn:
        rows = await fetch_all(conn, "rollup_state")
    if not rows:
        raise UsageError("the database has no rollups: run `rawdb migrate up` first")
    return bool(rows[0]["complete"]), rows[0]["live_since"]


async def _begin(pool: Pool) -> str:
    """Since when the rollups hold every tick written: set by the backfill's first run."""
    async with pool.write() as conn:
        begin = STATEMENTS["backfill_begin"]
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        await conn.execute(begin.sql, {"now": now}, name=begin.name)
        # A fresh start: progress left by a run before the rollups went stale is void.
        forget = STATEMENTS["backfill_forget"]
        await conn.execute(forget.sql, name=forget.name)
    _, live_since = await _state(pool)
    assert live_since is not None
    return live_since


async def backfill(
    pool: Pool, *, step_hours: int = 6, progress: Progress | None = None
) -> BackfillReport:
    """Compute the bars and latest prices of every tick stored before the rollups began."""
    if step_hours < 1:
        raise UsageError(f"step_hours must be >= 1, got {step_hours}")
    report = BackfillReport()
    complete, live_since = await _state(pool)
    if not complete:
        since = live_since if live_since is not None else await _begin(pool)
        await _before_the_rollups(pool, since, step_hours, report, progress)
    await _gaps(pool, step_hours, report)
    report.complete = True
    return report


async def _gaps(pool: Pool, step_hours: int, report: BackfillReport) -> None:
    """Fold restored months (gaps) in again, instrument by instrument, step by step."""
    async with pool.read() as conn:
        gaps = [(r["gap_start"], r["gap_end"]) for r in await fetch_all(conn, "rollup_gaps")]
        ids = [r[0] for r in await fetch_all(conn, "instrument_ids")]
        kept_from = (await fetch_all(conn, "rollup_state"))[0]["minutes_kept_from"]
    step = timedelta(hours=step_hours)
    for start, end in gaps:
        for instrument in ids:
            cursor = start
            while cursor < end:
                until = min(
                    (rollups.bucket_start(cursor) + step).strftime(rollups.BUCKET_FORMAT), end
                )
                async with pool.write() as conn:
                    old = cursor < kept_from  # past the minute bars' retention: hours only
                    if not old:
                        report.minute_bars += await rollups.recompute_minutes(
                            conn, instrument, cursor, until
                        )
                    await rollups.recompute_hours(conn, instrument, cursor, until, from_ticks=old)
                cursor = until
                report.steps += 1
        async with pool.write() as conn:
            gap = STATEMENTS["rollup_gap_done"]
            await conn.execute(gap.sql, {"start": start, "end": end}, name=gap.name)


async def _before_the_rollups(
    pool: Pool,
    live_since: str,
    step_hours: int,
    report: BackfillReport,
    progress: Progress | None,
) -> None:
    """Every instrument's ticks from its oldest to just past ``live_since``, resumable."""
    end = _backfill_end(live_since, pool.settings.future_tolerance_s)
    async with pool.read() as conn:
        ids = [r[0] for r in await fetch_all(conn, "instrument_ids")]
        plan: dict[int, str] = {}
        for instrument in ids:
            done = await fetch_all(conn, "backfill_cursor", (instrument,))
            if done:
                plan[instrument] = done[0][0]
                continue
            firsts = await reads.over_range(
                conn,
                rollups.FAMILY,
                STATEMENTS["oldest_tick_time"],
                {"instrument_id": instrument},
                reads.BEGINNING,
                end + ":00",
            )
            first = min((r["first_at"] for r in firsts if r["first_at"] is not None), default=None)
            plan[instrument] = _hour_floor(first) if first is not None else end
    step = timedelta(hours=step_hours)
    total = sum(_steps(start, end, step) for start in plan.values())
    before = 0  # steps planned for the instruments done: progress counts planned steps
    for instrument, start in plan.items():
        report.instruments += 1
        cursor = start
        while cursor < end:
            async with pool.write() as conn:
                until = await _step_end(conn, instrument, cursor, step, end)
                report.minute_bars += await rollups.recompute_minutes(
                    conn, instrument, cursor, until
                )
                await rollups.recompute_hours(conn, instrument, cursor, until)
                advance = {"instrument_id": instrument, "done_until": until}
                await conn.execute(
                    STATEMENTS["backfill_advance"].sql, advance, name="backfill_advance"
                )
            cursor = until
            report.steps += 1
            if progress is not None:
                progress(before + _steps(start, until, step), total)
        before += _steps(start, end, step)
        horizon = Horizon.now(pool.settings.future_tolerance_s).refused_from
        async with pool.write() as conn:
            await rollups.recompute_latest(conn, instrument, horizon)
            advance = {"instrument_id": instrument, "done_until": end}
            await conn.execute(STATEMENTS["backfill_advance"].sql, advance, name="backfill_advance")
    async with pool.write() as conn:
        await conn.execute(STATEMENTS["backfill_done"].sql, name="backfill_done")
        await conn.execute(STATEMENTS["backfill_forget"].sql, name="backfill_forget")


async def _step_end(
    conn: Connection, instrument: int, cursor: str, step: timedelta, end: str
) -> str:
    """Where a step from ``cursor`` ends: ``step`` on, or further when no tick lies there (a
    weekend, a quiet instrument): up to the hour of the next tick, so a stretch without ticks
    is one short transaction, not one per step."""
    until = min((rollups.bucket_start(cursor) + step).strftime(rollups.BUCKET_FORMAT), end)
    found = await reads.over_range(
        conn,
        rollups.FAMILY,
        STATEMENTS["oldest_tick_time"],
        {"instrument_id": instrument},
        cursor + ":00",
        end + ":00",
    )
    following = min((r["first_at"] for r in found if r["first_at"] is not None), default=None)
    if following is None:
        return end
    return min(max(until, _hour_floor(following)), end)


def _steps(start: str, end: str, step: timedelta) -> int:
    if start >= end:
        return 0
    span = rollups.bucket_start(end) - rollups.bucket_start(start)
    return -(-span // step)


async def check(
    pool: Pool,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    instrument_ids: list[int] | None = None,
    limit: int = 100,
    repair: bool = False,
) -> CheckReport:
    """1-minute and 1-hour bars computed again from the ticks, compared with the stored ones
    bucket by bucket; at most ``limit`` differences are listed. ``repair``: replace every
    differing bucket with what the ticks say (``report.repaired`` counts them)."""
    report = CheckReport()
    wrong: list[Difference] = []
    complete, live_since = await _state(pool)
    low = (since or datetime(1970, 1, 1, tzinfo=UTC)).strftime(rollups.BUCKET_FORMAT)
    high = (until or datetime.now(UTC) + timedelta(days=1)).strftime(rollups.BUCKET_FORMAT)
    if not complete and live_since is None:
        low = high
        report.skipped = "every bucket: not backfilled yet (rawdb partitions bars-backfill)"
    elif not complete and live_since is not None and low < live_since:
        low = _backfill_end(live_since, pool.settings.future_tolerance_s)
        report.skipped = f"before {low}: not backfilled yet (rawdb partitions bars-backfill)"
    async with pool.read(snapshot=True) as conn:
        state = await fetch_all(conn, "rollup_state")
        ids = instrument_ids or [r[0] for r in await fetch_all(conn, "instrument_ids")]
        away = await _not_comparable(conn, report)
        spans = {
            # Minute bars from where they are kept; hours for good, whole hours.
            "1m": (max(low, state[0]["minutes_kept_from"]), high),
            "1h": (_hour_floor(low), high),
        }
        for instrument in ids:
            report.instruments += 1
            for interval, (start, end) in spans.items():
                found = await _compare(conn, instrument, interval, start, end, away=away)
                report.buckets += found[0]
                report.by_interval[interval] = report.by_interval.get(interval, 0) + found[0]
                wrong += found[1]
    report.differences = wrong[:limit]
    if repair:
        for d in wrong:
            async with pool.write() as conn:
                if d.interval == "1m":
                    after = rollups.bucket_start(d.bucket) + timedelta(minutes=1)
                    minute_end = after.strftime(rollups.BUCKET_FORMAT)
                    await rollups.recompute_minutes(conn, d.instrument_id, d.bucket, minute_end)
                hour = _hour_floor(d.bucket)
                await rollups.recompute_hours(
                    conn, d.instrument_id, hour, _hour_after(d.bucket), from_ticks=True
                )
            report.repaired += 1
    return report


async def _not_comparable(conn: Connection, report: CheckReport) -> list[tuple[str, str]]:
    """Bucket ranges with nothing to compare: archived months (their bars outlive the ticks)
    and restored months not folded in yet (read from their ticks)."""
    parts = await registry.load(conn, rollups.FAMILY)
    away = [
        (p.start_text[: rollups.MINUTE], p.end_text[: rollups.MINUTE])
        for p, info in parts.periods.items()
        if info.state not in registry.WRITABLE
    ]
    gaps = [(r["gap_start"], r["gap_end"]) for r in await fetch_all(conn, "rollup_gaps")]
    if gaps:
        note = f"restored months read from their ticks until bars-backfill: {gaps}"
        report.skipped = f"{report.skipped}; {note}" if report.skipped else note
    return away + gaps


async def _compare(
    conn: Connection,
    instrument: int,
    interval: str,
    start: str,
    end: str,
    *,
    away: list[tuple[str, str]],
) -> tuple[int, list[Difference]]:
    """Buckets compared and those that differ, for one instrument and interval."""
    hourly = interval == "1h"
    span = {"instrument_id": instrument, "start": start, "end": end}
    name = "bars_1h_stored" if hourly else "bars_1m_stored"
    stored = {r["bucket"]: dict(r) for r in await fetch_all(conn, name, span)}
    params = {
        "instrument_id": instrument,
        "chars": rollups.HOUR if hourly else rollups.MINUTE,
        "pad": ":00" if hourly else "",
    }
    rows = await reads.over_range(
        conn, rollups.FAMILY, STATEMENTS["bars_from_ticks"], params, start + ":00", end + ":00"
    )
    computed = {r["bucket"]: dict(r) for r in rows}
    compared, differ = 0, []
    for bucket in sorted(stored.keys() | computed.keys()):
        if any(a <= bucket < b for a, b in away):
            continue
        compared += 1
        a, b = stored.get(bucket), computed.get(bucket)
        if not _same(a, b):
            differ.append(Difference(instrument, bucket, a, b, interval))
    return compared, differ


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is b
    prices = all(abs(a[k] - b[k]) <= TOLERANCE for k in ("open", "high", "low", "close"))
    return prices and a["volume"] == b["volume"] and a["ticks"] == b["ticks"]
