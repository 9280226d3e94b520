"""The health report: figures, checks against thresholds, alerts; JSON-ready.

``await Monitor(pool).report()`` is what the application's ``/api/health/database`` returns
(``report.model_dump(mode="json")``). Each check says healthy, degraded or unhealthy and why;
the report's status is the worst of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from rawdb import log, tasks
from rawdb.errors import RawdbError, UsageError
from rawdb.monitor import published
from rawdb.monitor.figures import (
    FileFigures,
    FileSurvey,
    FileWatch,
    PartitionFigure,
    collect,
)
from rawdb.monitor.metrics import RATE_WINDOWS, Metrics, StatementFigures
from rawdb.monitor.server import ServerFigures
from rawdb.monitor.server import collect as server_figures
from rawdb.monitor.thresholds import Alert, AlertManager, Check, Status, Thresholds, worst
from rawdb.pool import Pool, PoolStats

MB = 1_000_000
BUSY = "the database did not answer"


class PoolFigures(BaseModel):
    """The pool as ``pool.stats()`` sees it, with the share of connections in use."""

    size: int
    readers: int
    in_use: int
    use: float
    waiting: int
    acquisitions: int
    timeouts: int
    wait_p95_ms: float
    wait_p99_ms: float
    busy_retries: int
    circuit_state: str
    closed: bool

    @classmethod
    def of(cls, stats: PoolStats) -> PoolFigures:
        return cls(
            size=stats.size,
            readers=stats.readers,
            in_use=stats.in_use,
            use=stats.in_use / stats.size if stats.size else 0.0,
            waiting=stats.waiting,
            acquisitions=stats.acquisitions,
            timeouts=stats.timeouts,
            wait_p95_ms=stats.wait.p95_ms,
            wait_p99_ms=stats.wait.p99_ms,
            busy_retries=stats.busy_retries,
            circuit_state=stats.circuit_state,
            closed=stats.closed,
        )


class WriterFigures(BaseModel):
    """Insert rate, commits, lock waits and the streaming writer's batches and queue."""

    insert_rows_per_s: dict[str, float]
    commits: int
    commit_p50_ms: float
    commit_p95_ms: float
    lock_wait_p95_ms: float
    batches: int
    batch_rows: int
    batch_p95_ms: float
    queue_depth: int
    max_queue_depth: int
    rows_inserted_total: int = 0
    ticks_rejected_total: int = 0
    commit_buckets: list[tuple[str, int]] = Field(default_factory=list)
    """Times of COMMIT since start, cumulative (le, count): Prometheus' histogram."""
    commit_seconds_total: float = 0.0
    lock_wait_buckets: list[tuple[str, int]] = Field(default_factory=list)
    lock_wait_seconds_total: float = 0.0
    batch_buckets: list[tuple[str, int]] = Field(default_factory=list)
    batch_seconds_total: float = 0.0


class HealthReport(BaseModel):
    """What ``/api/health/database`` answers."""

    status: Status
    generated_at: datetime
    checks: list[Check]
    pool: PoolFigures
    file: FileFigures | None
    statements: list[StatementFigures]  # the metrics' own snapshot; pydantic validates it
    writer: WriterFigures
    partitions: list[PartitionFigure] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    server: ServerFigures | None = None
    """A database server's figures (PostgreSQL), where ``file`` has a SQLite file's."""


class Monitor:
    """Metrics, thresholds and alerts for one pool; attaches its metrics as the pool's observer.

    ``sizes_every``: seconds between the background dbstat scans of per-table sizes (each
    reads every page of the file); ``figures_timeout``: seconds a report waits for the file's
    page counts (read on the monitor's own connection, never one of the pool's).
    """

    def __init__(
        self,
        pool: Pool,
        *,
        metrics: Metrics | None = None,
        thresholds: Thresholds | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sizes_every: float = 300.0,
        figures_timeout: float = 1.0,
        attach: bool = True,
    ) -> None:
        self.pool = pool
        self.metrics = metrics or Metrics(clock=clock)
        self.thresholds = thresholds or Thresholds()
        self.alerts = AlertManager(self.thresholds.cooldown_seconds, clock=clock, wall=wall)
        self.watch = FileWatch(clock)
        self.survey = FileSurvey(pool.settings, sizes_every, clock)
        self._clock = clock
        self._wall = wall
        self._figures_timeout = figures_timeout
        self._publisher: asyncio.Task[None] | None = None
        self._log = log.get_logger("monitor")
        if attach:
            pool.observer = self.metrics

    async def report(self) -> HealthReport:
        """Collect figures, judge them, raise alerts for what fails; never raises for the db."""
        server: ServerFigures | None = None
        if self.pool.dialect == "sqlite":
            files, problem = await self._files()
        else:  # a server: its catalogue's figures, there is no file to look at
            files, (server, problem) = None, await self._server()
        problem_status: Status = "unhealthy"
        if problem.startswith(BUSY):
            problem_status = "degraded"
        stats = self.pool.stats()
        statements = self.metrics.statements()
        writer = self.writer_figures()
        checks = judge(
            self.thresholds,
            stats=stats,
            files=files,
            statements=statements,
            writer=writer,
            metrics=self.metrics,
            server=server,
        )
        if problem:
            checks.insert(0, Check(name="database", status=problem_status, reason=problem))
        self.alerts.process(checks)
        return HealthReport(
            status=worst(c.status for c in checks),
            generated_at=datetime.fromtimestamp(self._wall(), UTC),
            checks=checks,
            pool=PoolFigures.of(stats),
            file=files,
            statements=list(statements),
            writer=writer,
            partitions=files.partitions if files else (server.partitions if server else []),
            alerts=self.alerts.active(),
            server=server,
        )

    def writer_figures(self) -> WriterFigures:
        m = self.metrics
        commits, lock_wait = m.commit_latency(), m.lock_wait()
        batch_times, batch_rows = m.batches()
        return WriterFigures(
            insert_rows_per_s={f"{w}s": round(r, 1) for w, r in m.insert_rates().items()},
            commits=commits.count,
            commit_p50_ms=_ms(commits.quantile(0.5)),
            commit_p95_ms=_ms(commits.quantile(0.95)),
            lock_wait_p95_ms=_ms(lock_wait.quantile(0.95)),
            batches=batch_times.count,
            batch_rows=batch_rows,
            batch_p95_ms=_ms(batch_times.quantile(0.95)),
            queue_depth=m.queue_depth,
            max_queue_depth=m.max_queue_depth,
            rows_inserted_total=m.rows_inserted,
            ticks_rejected_total=m.ticks_rejected,
            commit_buckets=m.commit_buckets.cumulative(),
            commit_seconds_total=m.commit_buckets.total,
            lock_wait_buckets=m.lock_wait_buckets.cumulative(),
            lock_wait_seconds_total=m.lock_wait_buckets.total,
            batch_buckets=m.batch_buckets.cumulative(),
            batch_seconds_total=m.batch_buckets.total,
        )

    def start_publishing(self, every: float = 5.0) -> None:
        """Publish a report every ``every`` seconds beside the database
        (:mod:`rawdb.monitor.published`), so ``rawdb monitor`` run by an operator on the same
        file reports what this application sees. Stopped by :meth:`stop_publishing`."""
        if not every > 0:
            raise UsageError(f"every must be a number of seconds above 0, got {every!r}")
        if self.pool.settings.dialect != "sqlite":
            raise UsageError(
                "start_publishing: reports are published beside a database file; on PostgreSQL "
                "the applications may run on several machines, so let Prometheus scrape each "
                "one's /metrics instead (see docs/postgresql.md, Monitoring)"
            )
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(self._publish(every))

    async def stop_publishing(self) -> None:
        """Stop publishing and withdraw this process's report."""
        task, self._publisher = self._publisher, None
        await tasks.cancel(task)
        await asyncio.to_thread(published.withdraw, Path(self.pool.settings.database))

    async def _publish(self, every: float) -> None:
        database = Path(self.pool.settings.database)
        while True:
            report = await self.report()
            try:
                await asyncio.to_thread(
                    published.write, database, report.model_dump(mode="json"), every
                )
            except OSError as exc:  # a full or read-only disk: the report still goes on
                self._log.warning(log.MONITOR_PUBLISH_FAILED, error=str(exc))
            await asyncio.sleep(every)

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop publishing and close the monitor's own connection (a size scan under way is
        interrupted). Call it before the pool closes, as ``open_database`` does: the last
        connection to close is the one that checkpoints the WAL and removes it."""
        if self._publisher is not None:
            await self.stop_publishing()
        self.survey.close()

    async def measure_sizes(self) -> None:
        """Measure per-table sizes now (a dbstat scan of the whole file), so the next report
        carries them: for a command that reports once, or a test. A long-running application
        needs nothing: reports start the scan in the background when the sizes are stale.
        On PostgreSQL each report reads its sizes from the server's catalogue: nothing to do."""
        if self.pool.settings.dialect == "sqlite":
            await self.survey.refresh(paced=False)

    async def _server(self) -> tuple[ServerFigures | None, str]:
        try:
            async with asyncio.timeout(self._figures_timeout):
                return await server_figures(self.pool), ""
        except TimeoutError:
            return None, f"{BUSY} within {self._figures_timeout:g} s to read the server figures"
        except RawdbError as exc:
            return None, f"cannot read the database figures: {exc}"

    async def _files(self) -> tuple[FileFigures | None, str]:
        try:
            async with asyncio.timeout(self._figures_timeout):
                files = await collect(self.survey, self.watch)
        except TimeoutError:
            return None, f"{BUSY} within {self._figures_timeout:g} s to read the file figures"
        except RawdbError as exc:
            return None, f"cannot read the database figures: {exc}"
        return files, ""


def judge(
    limits: Thresholds,
    *,
    stats: PoolStats,
    files: FileFigures | None,
    statements: list[StatementFigures],
    writer: WriterFigures,
    metrics: Metrics,
    server: ServerFigures | None = None,
) -> list[Check]:
    """Every check's verdict on the figures (pure: no I/O)."""
    checks = [_pool_check(limits, stats)]
    # Bulk inserts are judged by the insert rate and the lock wait, not by per-call latency:
    # a 10,000-row batch rightly takes longer than a point query.
    queries = [s for s in statements if not s.is_insert and not s.is_maintenance]
    checks.append(
        _latency_check("query_latency", queries, limits.query_p95_ms, "every query's p95 is within")
    )
    checks.append(
        _latency_check(
            "maintenance_latency",
            [s for s in statements if s.is_maintenance],
            limits.maintenance_p95_ms,
            "DDL and maintenance p95 within",
        )
    )
    count, errors = metrics.window_totals()
    rate = errors / count if count else 0.0
    judged = count >= limits.error_rate_min_statements
    checks.append(
        Check(
            name="error_rate",
            status="degraded" if judged and rate > limits.error_rate else "healthy",
            reason=f"{errors} of {count} statements failed in the last {metrics.window:g} s"
            + ("" if judged else " (too few to judge)"),
            value=round(rate, 6),
            limit=limits.error_rate,
        )
    )
    wait = max(writer.lock_wait_p95_ms, stats.wait.p95_ms)
    checks.append(
        Check(
            name="lock_wait",
            status="degraded" if wait > limits.lock_wait_ms else "healthy",
            reason=f"p95 wait for the write lock {writer.lock_wait_p95_ms:g} ms, "
            f"for a pool connection {stats.wait.p95_ms:g} ms",
            value=wait,
            limit=limits.lock_wait_ms,
        )
    )
    if files is not None:
        checks.extend(_file_checks(limits, files))
    if server is not None:
        checks.append(_size_check(limits, server.database_bytes / MB, "database on the server"))
    return checks


def _size_check(limits: Thresholds, size_mb: float, what: str) -> Check:
    return Check(
        name="database_size",
        status="degraded" if size_mb > limits.database_mb else "healthy",
        reason=f"{what} {size_mb:.1f} MB (limit {limits.database_mb:g} MB)",
        value=round(size_mb, 3),
        limit=limits.database_mb,
    )


def _latency_check(
    name: str, statements: list[StatementFigures], limit_ms: float, within: str
) -> Check:
    slow = [s for s in statements if s.p95_ms > limit_ms]
    return Check(
        name=name,
        status="degraded" if slow else "healthy",
        reason=(
            "p95 over the limit: " + ", ".join(f"{s.name} {s.p95_ms:g} ms" for s in slow)
            if slow
            else f"{within} {limit_ms:g} ms"
        ),
        value=max((s.p95_ms for s in statements), default=0.0),
        limit=limit_ms,
        subjects=[s.name for s in slow],
    )


def _pool_check(limits: Thresholds, stats: PoolStats) -> Check:
    use = stats.in_use / stats.size if stats.size else 0.0
    status: Status = "healthy"
    if stats.closed or stats.circuit_state == "open":
        status, reason = "unhealthy", f"pool closed={stats.closed}, circuit {stats.circuit_state}"
    elif stats.waiting and stats.in_use >= stats.size:
        status = "degraded"
        reason = f"pool exhausted: all {stats.size} connections in use, {stats.waiting} waiting"
    elif use >= limits.pool_use or stats.circuit_state == "half_open":
        status = "degraded"
        reason = f"{stats.in_use} of {stats.size} connections in use, circuit " + (
            stats.circuit_state
        )
    else:
        reason = f"{stats.in_use} of {stats.size} connections in use, {stats.waiting} waiting"
    return Check(
        name="pool", status=status, reason=reason, value=round(use, 4), limit=limits.pool_use
    )


def _file_checks(limits: Thresholds, files: FileFigures) -> list[Check]:
    size_mb, wal_mb = files.database_bytes / MB, files.wal_bytes / MB
    return [
        _size_check(limits, size_mb, "database file"),
        Check(
            name="wal_size",
            status="degraded" if wal_mb > limits.wal_mb else "healthy",
            reason=f"WAL file {wal_mb:.1f} MB (limit {limits.wal_mb:g} MB)"
            + ("; checkpoints are not keeping up" if wal_mb > limits.wal_mb else ""),
            value=round(wal_mb, 3),
            limit=limits.wal_mb,
        ),
    ]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


__all__ = ["RATE_WINDOWS", "HealthReport", "Monitor", "judge"]
