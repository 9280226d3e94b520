"""How many named statements the advisor finds well planned, measured in the background.

Planning every statement on a copy of the schema takes a second or so on a big schema: it runs
once when the application starts, off the request path, and again every ``every`` seconds.
"""

from __future__ import annotations

import asyncio

from rawdb import log, tasks
from rawdb.errors import RawdbError
from rawdb.monitor.advisor import AdvisorReport
from rawdb.monitor.upkeep import advise_pool
from rawdb.pool import Pool


class PlanFigures:
    """The advisor's latest verdict: the share of statements that read no big table in full."""

    def __init__(self) -> None:
        self.efficiency: float | None = None
        self.planned = 0
        self.full_scans: list[str] = []
        self.problem = ""
        self.not_here = ""
        self._task: asyncio.Task[None] | None = None
        self._log = log.get_logger("web")

    def record(self, advice: AdvisorReport) -> None:
        scanning = sorted({f.statement for f in advice.errors()})
        self.planned = len(advice.plans)
        self.full_scans = scanning
        self.efficiency = (
            round((self.planned - len(scanning)) / self.planned, 4) if self.planned else None
        )

    def pending_reason(self) -> str:
        if self.not_here:
            return self.not_here
        if self.problem:
            return f"the advisor could not plan the statements: {self.problem}"
        return "the advisor is still planning the named statements (it runs at start-up)"

    def start(self, pool: Pool, every: float) -> None:
        if pool.settings.dialect != "sqlite":
            self.not_here = (
                "the advisor reads SQLite's query plans; on PostgreSQL the report's server "
                "section lists the slowest statements (pg_stat_statements)"
            )
            return
        self._task = asyncio.get_running_loop().create_task(self._run(pool, every))

    async def stop(self) -> None:
        task, self._task = self._task, None
        await tasks.cancel(task)

    async def _run(self, pool: Pool, every: float) -> None:
        while True:
            try:
                self.record(await advise_pool(pool))
                self.problem = ""
            except Exception as exc:  # the figure stays unknown, the report says why, and the
                # next run tries again (an advisor fault must not end the app's task quietly)
                self.problem = str(exc) if isinstance(exc, RawdbError) else repr(exc)
                self._log.warning(log.WEB_ADVISOR_FAILED, error=self.problem)
            await asyncio.sleep(every)
