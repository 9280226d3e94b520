"""``rawdb partitions`` on a PostgreSQL database: the commands that mean something there.

A server has no default table (rows outside the partition window are refused, not parked), so
``move`` and ``merge`` have nothing to do; bars kept as ticks are written are SQLite-only, so
the ``bars-*`` commands are too. Each says so and exits 2.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import datetime
from typing import Any

from rawdb.catalog import policy
from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.config import Settings
from rawdb.errors import UsageError
from rawdb.partitions import postgresql as server
from rawdb.pool import Pool

NOT_HERE = {
    "move": "there is no default table on PostgreSQL: a row outside the partition window is "
    "refused when it is written, so there is nothing to move",
    "merge": "there is no default table on PostgreSQL to merge the periods into",
    "bars-backfill": "bars kept as ticks are written are SQLite-only so far; on PostgreSQL "
    "ohlc_bars computes them from the ticks",
    "bars-check": "bars kept as ticks are written are SQLite-only so far; on PostgreSQL "
    "ohlc_bars computes them from the ticks",
}


async def run(settings: Settings, args: argparse.Namespace, cutoff: datetime | None) -> Any:
    """One parsed command on the server; what it reports, shaped as on SQLite."""
    if args.command in NOT_HERE:
        raise UsageError(f"{args.command}: {NOT_HERE[args.command]}")
    async with Pool.open(settings) as pool:
        if args.command == "status":
            return [family.as_json() for family in await server.status(pool)]
        if args.command == "maintain":
            return {"created": await server.premake(pool), "analyzed": []}
        if args.command == "purge":
            assert cutoff is not None  # the parser requires --older-than
            return {f: await server.purge_deleted(pool, f, cutoff) for f in _families(args)}
        return [asdict(outcome) for outcome in await _lifecycle(pool, args)]


async def _lifecycle(pool: Pool, args: argparse.Namespace) -> list[server.Archived]:
    if args.command == "archive" and args.expired:
        return await server.apply_retention(pool, dry_run=args.dry_run)
    if not args.period:
        raise UsageError(f"{args.command}: name a period (e.g. 2025-01), or use --expired")
    period = Period.parse(args.family, args.period)
    if args.command == "restore":
        return [await server.restore_period(pool, period, dry_run=args.dry_run)]
    folder = policy.current().policy.archive_dir
    if folder is None:
        raise UsageError(
            "archive on PostgreSQL needs an archive folder: set RAWDB_PARTITIONS_ARCHIVE_DIR "
            "(there is no database file to put it beside)"
        )
    return [await server.archive_period(pool, period, folder=folder, dry_run=args.dry_run)]


def _families(args: argparse.Namespace) -> list[Family]:
    chosen: list[Family] | None = args.family
    return list(chosen) if chosen else list(FAMILIES)
