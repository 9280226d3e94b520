"""Retention per family (periods kept online, by the clock) and purging soft-deleted rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rawdb import backend
from rawdb.archive.archiver import Outcome, archive_period
from rawdb.catalog import reads, registry
from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.catalog.policy import Policy, current
from rawdb.errors import InvalidInput
from rawdb.models import to_db_time
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS

PURGE_STATEMENTS: dict[Family, str] = {
    "market_data": "purge_deleted_ticks",
    "alert_logs": "purge_deleted_alert_logs",
}


def expired(
    database: Path, *, policy: Policy | None = None, now: datetime | None = None
) -> list[Period]:
    """Periods still online (or half archived) that the policy no longer keeps, oldest first."""
    setup = current()
    chosen = policy or setup.policy
    moment = now or setup.clock()
    conn = backend.current().connect(
        database, role="reader", create=False
    )  # reads only: no write probe
    try:
        found: list[Period] = []
        for family in FAMILIES:
            parts = registry.load_sync(conn, family)
            limit = chosen.expired(family, moment)
            found += [p for p, info in parts.periods.items() if info.present and p < limit]
        return sorted(found, key=lambda p: (p.family, p))
    finally:
        conn.close()


def apply_retention(
    database: Path,
    *,
    policy: Policy | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[Outcome]:
    """Archive every expired period (each in its own, crash-safe, run)."""
    return [
        archive_period(database, period, policy=policy, now=now, dry_run=dry_run)
        for period in expired(database, policy=policy, now=now)
    ]


async def purge_deleted(
    pool: Pool, family: Family, older_than: datetime, *, now: datetime | None = None
) -> dict[str, int]:
    """Delete for good the rows soft-deleted before ``older_than``, table by table, in one
    transaction with an audit row per table that lost rows; rows deleted per table."""
    if older_than.tzinfo is None:
        raise InvalidInput("older_than must be a timezone-aware datetime")
    stmt = STATEMENTS[PURGE_STATEMENTS[family]]
    cutoff = to_db_time(older_than)
    at = registry.now_text(now or current().clock())
    async with pool.write() as conn:
        changed = await reads.every_table(conn, family, stmt, (cutoff,))
        audit = [
            registry.audit_step(at, "purge", table, rows=rows, detail=f"deleted_at < {cutoff}")
            for table, rows in changed.items()
            if rows
        ]
        await registry.run_plan(conn, audit)
    return changed
