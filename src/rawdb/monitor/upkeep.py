"""Statistics upkeep and the advisor over a live pool.

- :func:`optimize`: ``PRAGMA optimize`` on the writer (``analysis_limit`` keeps it short); the
  pool also runs it when it closes each connection. :class:`Upkeep` runs it on a schedule.
- :func:`refresh_statistics`: after a bulk load, ``ANALYZE`` the tables whose row count moved
  far from what the statistics say, and report which named statements' plans changed (measured
  in the issue: a range query went from 380 ms to 7 ms after ANALYZE).
- :func:`advise_pool`: the query advisor on the pool's current schema and statistics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from rawdb import log, tasks
from rawdb.backend.sqlite import pragmas
from rawdb.catalog.statistics import ANALYSIS_LIMIT, STAT1_EXISTS_SQL, STAT1_SQL
from rawdb.errors import RawdbError, UsageError
from rawdb.monitor.advisor import AdvisorReport, advise
from rawdb.monitor.schema_copy import (
    SCHEMA_SQL,
    PlannerCopy,
    Snapshot,
    row_counts,
)
from rawdb.monitor.sql import SQL
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS, Statement
from rawdb.sql_setup import SqlSetup


async def snapshot_pool(pool: Pool) -> Snapshot:
    """Schema, statistics and row counts read through a reader of ``pool``."""
    async with pool.read(timeout=None) as conn:  # counts every table: no read deadline
        schema = [tuple(r) for r in await conn.fetchall(SCHEMA_SQL, name="monitor_schema")]
        has_stats = await conn.fetchone(STAT1_EXISTS_SQL, name="monitor_stat1_exists")
        stats = (
            [tuple(r) for r in await conn.fetchall(STAT1_SQL, name="monitor_stat1")]
            if has_stats
            else []
        )
        rows = row_counts(stats)
        for kind, name, _, _ in schema:
            if kind == "table" and name not in rows:
                count = SQL["monitor_count"].render(table=name)
                row = await conn.fetchone(count, name="monitor_count")
                rows[name] = int(row[0]) if row is not None else 0
    return Snapshot(
        [(str(a), str(b), str(c), str(d)) for a, b, c, d in schema],
        [(str(t), None if i is None else str(i), str(s)) for t, i, s in stats],
        rows,
    )


async def advise_pool(
    pool: Pool,
    statements: Mapping[str, Statement] | None = None,
    *,
    big_rows: int | None = None,
    allow: Mapping[str, str] | None = None,
) -> AdvisorReport:
    """The advisor's report on ``statements`` (default: every named statement)."""
    snap = await snapshot_pool(pool)
    chosen = STATEMENTS if statements is None else statements
    extra = {} if big_rows is None else {"big_rows": big_rows}
    setup = pool.settings.sql_setup
    return await asyncio.to_thread(advise, snap, chosen, allow=allow, setup=setup, **extra)


async def optimize(pool: Pool) -> None:
    """``PRAGMA optimize`` on the writer: ANALYZE where SQLite thinks statistics went stale."""
    async with pool.write() as conn:
        await conn.execute(pragmas.setting("analysis_limit", ANALYSIS_LIMIT), name="monitor_limit")
        await conn.fetchall(SQL["monitor_optimize"].sql, name="monitor_optimize")
    log.get_logger("monitor").info(log.MONITOR_OPTIMIZED, database=str(pool.settings.database))


@dataclass
class RefreshReport:
    """What :func:`refresh_statistics` analyzed and which plans it changed."""

    analyzed: list[str] = field(default_factory=list)
    changed_plans: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    """Statement name: (plan before, plan after)."""


async def refresh_statistics(
    pool: Pool,
    *,
    factor: float = 2.0,
    statements: Mapping[str, Statement] | None = None,
) -> RefreshReport:
    """Refresh the statistics (ANALYZE) of every table whose row count is ``factor`` times off
    them, or that has none.

    Call after a bulk load. Plans of ``statements`` (default: all named) before and after are
    compared; the ones that changed are in the report.
    """
    if factor <= 1:
        raise UsageError(f"factor must be greater than 1 (got {factor}); pass e.g. 2.0")
    chosen = STATEMENTS if statements is None else statements
    before = await snapshot_pool(pool)
    recorded = row_counts(before.stats)
    stale = [
        table
        for table, rows in before.rows.items()
        if not table.startswith("sqlite_")
        and rows > 0
        and (
            table not in recorded
            or not recorded[table] / factor <= rows <= recorded[table] * factor
        )
    ]
    report = RefreshReport(analyzed=stale)
    if not stale:
        return report
    async with pool.write() as conn:
        # A full ANALYZE: after a bulk load the sampled one (analysis_limit) can misjudge a
        # column's selectivity badly enough to keep the old plan (seen in the tests).
        await conn.execute(SQL["monitor_no_analysis_limit"].sql, name="monitor_limit")
        for table in stale:
            analyze = SQL["monitor_analyze"].render(table=table)
            await conn.execute(analyze, name="monitor_analyze")
    after = await snapshot_pool(pool)
    setup = pool.settings.sql_setup
    old_plans, new_plans = await asyncio.gather(
        asyncio.to_thread(_plans, before, chosen, setup),
        asyncio.to_thread(_plans, after, chosen, setup),
    )
    report.changed_plans = {
        name: (old_plans[name], new_plans[name])
        for name in old_plans
        if old_plans[name] != new_plans[name]
    }
    log.get_logger("monitor").info(
        log.MONITOR_ANALYZED, tables=stale, changed_plans=sorted(report.changed_plans)
    )
    return report


def _plans(
    snap: Snapshot, statements: Mapping[str, Statement], setup: SqlSetup | str | None
) -> dict[str, list[str]]:
    copy = PlannerCopy(snap, setup)
    try:
        return {name: copy.plan(stmt.sql) for name, stmt in statements.items()}
    finally:
        copy.close()


class Upkeep:
    """Runs :func:`optimize` every ``every`` seconds while open (``async with Upkeep(pool)``).

    A failed run is logged and retried at the next tick; it never stops the schedule.
    """

    def __init__(self, pool: Pool, *, every: float = 3600.0) -> None:
        if every <= 0:
            raise UsageError(f"every must be greater than 0 seconds (got {every})")
        self.pool = pool
        self.every = every
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await tasks.cancel(task)

    async def __aenter__(self) -> Upkeep:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await optimize(self.pool)
                self.runs += 1
            except RawdbError as exc:
                log.get_logger("monitor").warning(log.MONITOR_UPKEEP_FAILED, error=str(exc))
