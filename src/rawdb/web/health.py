"""The seed application's ``/api/health/database`` shape, built from a real health report.

Every field is a figure rawdb measures, or ``None`` with the reason in ``not_applicable``:
nothing is invented to fill the shape.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from rawdb.monitor import Alert, Check, HealthReport
from rawdb.monitor.figures import PartitionFigure
from rawdb.web.plans import PlanFigures

INSERT_RATE_WINDOW = "60s"
OVERFLOW_NOT_APPLICABLE = (
    "the pool has a fixed size (one writer, settings.readers readers) and never opens "
    "connections beyond it; callers past it wait, counted in `waiting`"
)
IMPACT_NOT_APPLICABLE = (
    "rawdb changes no plans while running, so there is no before/after to report; "
    "`rawdb monitor --advise` lists indexes that would serve the named statements, each "
    "tried on a copy of the schema"
)
UNITS = {
    "performance.insert_rate": "rows per second over the last 60 s",
    "performance.avg_query_time": "milliseconds, mean of every query since the process started",
    "performance.slow_queries": "queries that took performance.slow_query_ms or more, since start",
    "performance.index_efficiency": (
        "share of the named statements whose plan reads no big table in full (the advisor's "
        "judgement of every plan on a copy of the schema)"
    ),
}


class ConnectionPool(BaseModel):
    size: int = Field(description="connections the pool owns: one writer and the readers")
    active: int = Field(description="connections handed out now")
    idle: int = Field(description="connections ready to be handed out")
    waiting: int = Field(description="callers waiting for a connection now")
    overflow: int | None = Field(default=None, description="not applicable: see not_applicable")


class Performance(BaseModel):
    insert_rate: float
    avg_query_time: float | None = Field(description="None before the first query")
    slow_queries: int
    slow_query_ms: float
    index_efficiency: float | None = Field(description="None until the advisor has run")


class DatabaseHealth(BaseModel):
    """What ``GET /api/health/database`` answers."""

    status: str
    timestamp: datetime
    connection_pool: ConnectionPool
    performance: Performance
    partitions: list[PartitionFigure]
    optimization_impact: None = None
    not_applicable: dict[str, str]
    units: dict[str, str]
    checks: list[Check]
    alerts: list[Alert]


def database_health(report: HealthReport, plans: PlanFigures, slow_after: float) -> DatabaseHealth:
    """The seed's shape of ``report``; ``plans`` gives the index efficiency once measured."""
    queries = [s for s in report.statements if not s.is_insert and not s.is_maintenance]
    count = sum(s.count for s in queries)
    seconds = sum(s.total_seconds for s in queries)
    pool = report.pool
    not_applicable = {
        "connection_pool.overflow": OVERFLOW_NOT_APPLICABLE,
        "optimization_impact": IMPACT_NOT_APPLICABLE,
    }
    if plans.efficiency is None:
        not_applicable["performance.index_efficiency"] = plans.pending_reason()
    return DatabaseHealth(
        status=report.status,
        timestamp=report.generated_at,
        connection_pool=ConnectionPool(
            size=pool.size,
            active=pool.in_use,
            idle=max(0, pool.size - pool.in_use),
            waiting=pool.waiting,
        ),
        performance=Performance(
            insert_rate=report.writer.insert_rows_per_s.get(INSERT_RATE_WINDOW, 0.0),
            avg_query_time=round(seconds / count * 1000, 3) if count else None,
            slow_queries=sum(s.slow for s in queries),
            slow_query_ms=slow_after * 1000,
            index_efficiency=plans.efficiency,
        ),
        partitions=report.partitions,
        not_applicable=not_applicable,
        units=UNITS,
        checks=report.checks,
        alerts=report.alerts,
    )
