"""``python -m rawdb.partitions``: status, maintain, move, archive, restore, purge, merge.

The database is ``--database`` or ``RAWDB_DATABASE``; the policy comes from
``RAWDB_PARTITIONS_*`` (see ``rawdb.partitions.policy``). ``--now`` sets the clock (ISO time
with a zone), for replaying retention. Long work shows progress on stderr; ``--dry-run``
reports what would be done and changes nothing.

Exit codes: 0 done, 1 the database refused or a check failed, 2 usage error (a bad option,
period or setting).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rawdb import archive, log
from rawdb.config import Settings
from rawdb.errors import RawdbError, UsageError
from rawdb.partitions import maintain, policy
from rawdb.partitions.periods import FAMILIES, Family, Period, check_family
from rawdb.partitions.status import status
from rawdb.pool import Pool
from rawdb.pool.schema import ensure_current


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rawdb.partitions", description=__doc__)
    parser.add_argument(
        "--db", "--database", dest="database", type=Path, help="database file (RAWDB_DATABASE)"
    )
    parser.add_argument("--now", help="the clock, e.g. 2026-11-01T00:00:00+00:00")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="rows, bytes, bounds and state per table")
    sub.add_parser(
        "maintain",
        help="premake tables up to the policy's horizon; sampled statistics for new tables",
    )
    for name, text in (("move", "default table rows into period tables"), ("merge", "")):
        cmd = sub.add_parser(name, help=text or "period tables back into the default table")
        cmd.add_argument("--family", choices=FAMILIES, action="append")
        cmd.add_argument("--batch", type=int, default=10_000)
        if name == "move":
            cmd.add_argument("--dry-run", action="store_true")
    for name in ("archive", "restore"):
        cmd = sub.add_parser(name, help=f"{name} one period, e.g. --family market_data 2025-01")
        cmd.add_argument("--family", choices=FAMILIES, default="market_data")
        cmd.add_argument("period", nargs="?", help="2025-01 (months) or 2025-q1 (quarters)")
        cmd.add_argument("--dry-run", action="store_true")
        if name == "archive":
            cmd.add_argument("--expired", action="store_true", help="every period past retention")
    purge = sub.add_parser("purge", help="delete soft-deleted rows older than a cutoff")
    purge.add_argument("--older-than", required=True, help="ISO time with a zone")
    purge.add_argument("--family", choices=FAMILIES, action="append")
    return parser


def _time(text: str, flag: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"{flag} {text!r}: write an ISO time like 2026-11-01T00:00:00+00:00"
        ) from exc
    if moment.tzinfo is None:
        raise UsageError(f"{flag} {text!r}: add a zone, e.g. +00:00")
    return moment


def _progress(label: str) -> maintain.Progress:
    def show(done: int, total: int) -> None:
        share = f" ({100 * done // total}%)" if total else ""
        print(f"\r{label}: {done}/{total} rows{share}", end="", file=sys.stderr, flush=True)

    return show


def _families(chosen: list[str] | None) -> list[Family]:
    return [check_family(f) for f in chosen] if chosen else list(FAMILIES)


async def _with_pool(database: Path, args: argparse.Namespace) -> Any:
    async with Pool.open(Settings.from_env(database=database)) as pool:
        if args.command == "maintain":
            created = await maintain.premake(pool)
            return {"created": created, "analyzed": await maintain.analyze_recent(pool)}
        if args.command == "move":
            moved = {}
            for family in _families(args.family):
                report = await maintain.move_default(
                    pool,
                    family,
                    batch=args.batch,
                    progress=_progress(f"move {family}"),
                    dry_run=args.dry_run,
                )
                print(file=sys.stderr)
                moved[family] = {"moved": report.moved, "skipped": report.skipped}
            return moved
        if args.command == "merge":
            return {
                family: await maintain.merge_into_default(
                    pool, family, batch=args.batch, progress=_progress(f"merge {family}")
                )
                for family in _families(args.family)
            }
        cutoff = _time(args.older_than, "--older-than")
        return {
            family: await archive.purge_deleted(pool, family, cutoff)
            for family in _families(args.family)
        }


def _archive(database: Path, args: argparse.Namespace) -> Any:
    if args.command == "archive" and args.expired:
        outcomes = archive.apply_retention(database, dry_run=args.dry_run)
    else:
        if not args.period:
            raise UsageError(f"{args.command}: name a period (e.g. 2025-01), or use --expired")
        period = Period.parse(args.family, args.period)
        run = archive.archive_period if args.command == "archive" else archive.restore_period
        outcomes = [run(database, period, dry_run=args.dry_run)]
    return [vars(o) for o in outcomes]


def run(argv: Sequence[str] | None = None) -> Any:
    """Run one command; returns what it reports (printed by :func:`main`)."""
    args = _parser().parse_args(argv)
    database = args.database or Settings.from_env().database
    if args.now:
        moment = _time(args.now, "--now")
        policy.configure(clock=lambda: moment)
    if args.command in {"status", "archive", "restore"}:
        # The pool checks this itself; these commands open the file without a pool.
        ensure_current(database, Settings.from_env(database=database))
    if args.command == "status":
        return [f.as_json() for f in status(database)]
    if args.command in {"archive", "restore"}:
        return _archive(database, args)
    return asyncio.run(_with_pool(database, args))


def _print_status(found: list[dict[str, Any]]) -> None:
    for family in found:
        print(f"{family['family']}:")
        for t in family["tables"]:
            size = "-" if t["bytes"] is None else f"{t['bytes'] / 1e6:.1f} MB"
            rows = "-" if t["rows"] is None else f"{t['rows']:,}"
            bounds = f"[{t['period_start']}, {t['period_end']})" if t["period_start"] else ""
            print(f"  {t['name']:<24} {t['state']:<10} {rows:>12} rows {size:>10}  {bounds}")
            for month, count in t["by_month"].items():
                print(f"    default holds {count:,} row(s) of {month}")


def main(argv: Sequence[str] | None = None) -> int:
    log.configure(level="warning")
    try:
        result = run(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RawdbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if "--json" in (argv if argv is not None else sys.argv[1:]):
        print(json.dumps(result, indent=2, default=str))
    elif isinstance(result, list) and result and "tables" in result[0]:
        _print_status(result)
    else:
        print(json.dumps(result, indent=2, default=str))
    return 0
