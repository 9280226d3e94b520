"""Keeping the layout ahead of the clock, and moving rows between the default and period tables.

- ``premake``: tables for the current period and the policy's periods ahead, from the clock
  (not from the newest data), each created with its view rebuild in one transaction. Safe to
  run any number of times; ``run_daily`` runs it in an asyncio task.
- ``analyze_recent``: a sampled ``ANALYZE`` of the tables still filling (this period and the
  last) and of any holding rows without statistics (an adopted default table), so SQLite can
  skip-scan ``(instrument_id, timestamp)`` for a time window over every instrument (month
  tables have no index led by time). ``run_daily`` runs it after ``premake``.
- ``move_default``: rows of the default table into their period tables, in short batches
  (one write transaction each, so readers read and ingest writes in between). Each batch is
  atomic: a row is in exactly one table at every commit, and an interrupted move resumes by
  running again. This is how an adopted database's rows reach the partitioned layout.
- ``merge_into_default``: the reverse, before rolling back migration 0009.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rawdb import log
from rawdb.backend import Connection
from rawdb.backend.sqlite import pragmas
from rawdb.catalog import registry, templates
from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.catalog.policy import current
from rawdb.catalog.statistics import ANALYSIS_LIMIT, STAT1_EXISTS_SQL, STAT1_SQL
from rawdb.errors import RawdbError, UsageError
from rawdb.partitions.sql import SQL
from rawdb.pool import Pool
from rawdb.queries import rollups

Progress = Callable[[int, int], None]
"""Called after each batch with (rows done so far, rows in all)."""
DAY = 86_400.0


async def premake(pool: Pool, *, now: datetime | None = None) -> list[str]:
    """Create the missing tables from the current period to the policy's horizon."""
    if pool.dialect != "sqlite":  # the engine's own lifecycle: rawdb.partitions.<dialect>
        engine = importlib.import_module(f"rawdb.partitions.{pool.dialect}")
        attached: list[str] = await engine.premake(pool, now=now)
        return attached
    setup = current()
    moment = now or setup.clock()
    made: list[str] = []
    async with pool.write() as conn:
        for family in FAMILIES:
            parts = await registry.load(conn, family)
            this = Period.of_time(family, moment)
            for period in (this.shifted(i) for i in range(setup.policy.ahead(family) + 1)):
                if period not in parts.periods:
                    await _create(conn, parts, period, registry.now_text(moment), "premake")
                    made.append(period.table)
    if made:
        log.get_logger("partitions").info(log.PARTITIONS_CREATED, tables=made)
    return made


async def _create(
    conn: Connection, parts: registry.Partitions, period: Period, at: str, why: str
) -> None:
    await registry.run_plan(conn, registry.create_plan(parts, period, at, why))
    parts.periods[period] = registry.PartitionInfo(
        period.table, period.family, "active", period, period.id_floor, created_at=at
    )


async def bars_retention(pool: Pool, *, now: datetime | None = None) -> None:
    """Delete 1-minute bars older than ``Settings.bars_1m_keep_days`` (hourly ones stay)."""
    moment = now or datetime.now(UTC)
    async with pool.write() as conn:
        await rollups.apply_retention(conn, pool.settings.bars_1m_keep_days, moment)


async def analyze_recent(pool: Pool, *, now: datetime | None = None) -> list[str]:
    """A sampled ``ANALYZE`` (:data:`ANALYSIS_LIMIT`) of every table holding rows that is of
    the current or the previous period, or has no statistics yet; the tables it measured.

    Milliseconds on any size. Tables still filling are measured again each run, so a month
    first measured on its first morning does not keep that day's figures (too few rows per
    instrument for the skip-scan); ``rawdb.monitor.upkeep.refresh_statistics`` measures fully.
    """
    moment = now or current().clock()
    analyzed: list[str] = []
    async with pool.write() as conn:
        await conn.execute(
            pragmas.setting("analysis_limit", ANALYSIS_LIMIT), name="partitions_analysis_limit"
        )
        measured: set[str] = set()
        if await conn.fetchone(STAT1_EXISTS_SQL, name="partitions_stats_exist"):
            rows = await conn.fetchall(STAT1_SQL, name="partitions_measured")
            measured = {str(r[0]) for r in rows}
        for family in FAMILIES:
            parts = await registry.load(conn, family)
            this = Period.of_time(family, moment)
            filling = {this.table, this.shifted(-1).table}
            for table in parts.present_tables():
                if table in measured and table not in filling:
                    continue
                name = templates.check_table(table)
                has_rows = SQL["partitions_has_rows"].render(table=name)
                if not await conn.fetchone(has_rows, name="partitions_has_rows"):
                    continue
                analyze = SQL["partitions_analyze"].render(table=name)
                await conn.execute(analyze, name="partitions_analyze")
                analyzed.append(table)
    if analyzed:
        log.get_logger("partitions").info(log.PARTITIONS_ANALYZED, tables=analyzed)
    return analyzed


def run_daily(pool: Pool, *, every: float = DAY) -> asyncio.Task[None]:
    """Run ``premake`` and ``analyze_recent`` now and then every ``every`` seconds until the
    task is cancelled."""
    if every <= 0:
        raise UsageError(f"every must be > 0 seconds, got {every}")

    async def loop() -> None:
        while True:
            try:
                await premake(pool)
                await analyze_recent(pool)
                await bars_retention(pool)
            except RawdbError as exc:  # logged; the next run tries again
                log.get_logger("partitions").error(log.PARTITIONS_MAINTAIN_FAILED, error=str(exc))
            await asyncio.sleep(every)

    return asyncio.create_task(loop(), name="rawdb-partitions-maintain")


@dataclass
class MoveReport:
    """What a move did: rows moved per table, rows left where they were and why."""

    moved: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.moved.values())


def _copy_sql(family: Family, source: str, target: str) -> str:
    return templates.with_columns(
        SQL["partitions_move"],
        family,
        source=templates.check_table(source),
        target=templates.check_table(target),
    )


def _delete_sql(table: str) -> str:
    return SQL["partitions_move_delete"].render(table=templates.check_table(table))


async def move_default(
    pool: Pool,
    family: Family,
    *,
    batch: int = 10_000,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> MoveReport:
    """Move the default table's rows into their period tables, ``batch`` rows per transaction.

    Rows of an archived period, or of a period past the policy's horizon, stay (and are
    reported). Period tables are made as needed, for any past period.
    """
    if batch < 1:
        raise UsageError(f"batch must be >= 1, got {batch}")
    setup = current()
    horizon = setup.policy.window(family, setup.clock())[1]
    report = MoveReport()
    source = registry.default_table(family)
    async with pool.read(timeout=None) as conn:  # a count over a table: no read deadline
        count = SQL["partitions_count_rows"].render(table=source)
        row = await conn.fetchone(count, name="partitions_move_count")
    total = int(row[0]) if row else 0
    after, seen = 0, 0
    select = SQL["partitions_move_batch"].render(table=source)
    while True:
        async with pool.write() as conn:
            rows = await conn.fetchall(select, (after, batch), name="partitions_move_batch")
            if not rows:
                break
            after = rows[-1][0]
            seen += len(rows)
            parts = await registry.load(conn, family)
            groups = _by_period(family, rows, parts, horizon, report)
            if not dry_run and groups:
                await _move_batch(conn, parts, groups, after, source)
            for period, ids in groups.items():
                report.moved[period.table] = report.moved.get(period.table, 0) + len(ids)
        if progress is not None:
            progress(seen, total)
    if report.moved and not dry_run:
        log.get_logger("partitions").info(log.PARTITIONS_MOVED, family=family, rows=report.total)
    return report


def _by_period(
    family: Family,
    rows: Sequence[Sequence[Any]],
    parts: registry.Partitions,
    horizon: Period,
    report: MoveReport,
) -> dict[Period, list[int]]:
    groups: dict[Period, list[int]] = {}
    for row_id, stamp in rows:
        try:
            period = Period.of_text(family, stamp)
        except UsageError:
            period = None
        info = parts.periods.get(period) if period is not None else None
        if period is None or period > horizon or (info is not None and info.state != "active"):
            why = "beyond horizon" if period is not None and period > horizon else "not writable"
            report.skipped[why] = report.skipped.get(why, 0) + 1
            continue
        groups.setdefault(period, []).append(row_id)
    return groups


async def _move_batch(
    conn: Connection,
    parts: registry.Partitions,
    groups: dict[Period, list[int]],
    last_id: int,
    source: str,
) -> None:
    at = registry.now_text(current().clock())
    # Raise the default table's id floor first, so no id leaving it is ever handed out again.
    await conn.execute(
        SQL["partitions_raise_floor"].sql, (last_id, source), name="partitions_raise_floor"
    )
    for period, ids in sorted(groups.items()):
        if period not in parts.periods:
            await _create(conn, parts, period, at, "move from default")
        payload = json.dumps(ids)
        copy = _copy_sql(parts.family, source, period.table)
        await conn.execute(copy, (payload,), name="partitions_move")
        await conn.execute(_delete_sql(source), (payload,), name="partitions_move_delete")
        await registry.run_plan(
            conn, [registry.audit_step(at, "move", period.table, rows=len(ids), detail=source)]
        )


async def merge_into_default(
    pool: Pool, family: Family, *, batch: int = 10_000, progress: Progress | None = None
) -> int:
    """Move every period table's rows back into the default table and drop the period tables
    (before rolling back migration 0009). Refused while a period is archived."""
    async with pool.read() as conn:
        parts = await registry.load(conn, family)
    held = [p.label for p, info in parts.periods.items() if info.state != "active"]
    if held:
        raise UsageError(
            f"{family}: periods {', '.join(sorted(held))} are archived or being archived; "
            "restore them first (python -m rawdb.partitions restore), then merge"
        )
    target = parts.default.name
    moved = 0
    for period in sorted(parts.periods):
        while True:
            async with pool.write() as conn:
                select = SQL["partitions_merge_batch"].render(
                    table=templates.check_table(period.table)
                )
                rows = await conn.fetchall(select, (batch,), name="partitions_merge_batch")
                if not rows:
                    await _drop_empty(conn, family, period)
                    break
                payload = json.dumps([r[0] for r in rows])
                copy = _copy_sql(family, period.table, target)
                await conn.execute(copy, (payload,), name="partitions_merge")
                await conn.execute(_delete_sql(period.table), (payload,), name="partitions_merge")
                moved += len(rows)
            if progress is not None:
                progress(moved, moved)
    return moved


async def _drop_empty(conn: Connection, family: Family, period: Period) -> None:
    drop = SQL["partitions_drop"].render(table=templates.check_table(period.table))
    await conn.execute(drop, name="partitions_drop")
    await conn.execute(SQL["partitions_forget"].sql, (period.table,), name="partitions_forget")
    parts = await registry.load(conn, family)
    await registry.run_plan(conn, registry.view_plan(family, parts.present_tables()))
