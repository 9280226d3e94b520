"""rawdb partitions: status, maintain, move, archive, restore, purge, merge, and the bars.

    rawdb partitions [--db PATH] [--now TIME] [--wait SECONDS] [--json] COMMAND

The options may also follow the command. The database must exist and be migrated: a file,
or a postgresql:// URL (status, maintain, archive, restore and purge run there). The
policy comes from RAWDB_PARTITIONS_* (see rawdb.catalog.policy). --now sets the clock
(an ISO time with a zone), for replaying retention. --dry-run reports what would be done and
changes nothing. Long steps show progress on stderr when it is a terminal.

Exit codes: 0 done, 1 the database refused or a check failed, 2 usage error (a bad option,
period or setting); see docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rawdb import archive, cli_common
from rawdb.catalog import policy
from rawdb.catalog.periods import FAMILIES, Family, Period, check_family
from rawdb.cli_common import EXIT_FAILED, EXIT_OK, say
from rawdb.config import Settings
from rawdb.errors import RawdbError, UsageError
from rawdb.partitions import bars, maintain
from rawdb.partitions.status import status
from rawdb.pool import Pool
from rawdb.pool.schema import ensure_current

PROG = "rawdb partitions"
COMMON = cli_common.Common(database_alias=True)


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


def _own_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    parser.add_argument(
        "--now",
        default=None if top else argparse.SUPPRESS,
        metavar="TIME",
        help="the clock, e.g. 2026-11-01T00:00:00+00:00",
    )


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = cli_common.Parser(prog=prog, description=__doc__)
    COMMON.add(parser, top=True)
    _own_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text, description=text)
        COMMON.add(cmd)
        _own_options(cmd, top=False)
        return cmd

    command("status", "rows, bytes, bounds and state per table")
    command("maintain", "premake tables up to the policy's horizon; statistics for new tables")
    for name, text in (
        ("move", "default table rows into period tables"),
        ("merge", "period tables back into the default table"),
    ):
        cmd = command(name, text)
        cmd.add_argument("--family", choices=FAMILIES, action="append")
        cmd.add_argument("--batch", type=cli_common.positive_int, default=10_000)
        if name == "move":
            cmd.add_argument("--dry-run", action="store_true", help="report; change nothing")
    for name in ("archive", "restore"):
        cmd = command(name, f"{name} one period, e.g. --family market_data 2025-01")
        cmd.add_argument("--family", choices=FAMILIES, default="market_data")
        cmd.add_argument("period", nargs="?", help="2025-01 (months) or 2025-q1 (quarters)")
        cmd.add_argument("--dry-run", action="store_true", help="report; change nothing")
        if name == "archive":
            cmd.add_argument("--expired", action="store_true", help="every period past retention")
    purge = command("purge", "delete soft-deleted rows older than a cutoff")
    purge.add_argument("--older-than", required=True, help="ISO time with a zone")
    purge.add_argument("--family", choices=FAMILIES, action="append")
    fill = command("bars-backfill", "bars and latest prices of ticks stored before the rollups")
    fill.add_argument(
        "--step-hours", type=cli_common.positive_int, default=6, help="hours per transaction"
    )
    check = command("bars-check", "compute the 1m and 1h bars again from the ticks and compare")
    check.add_argument("--since", help="ISO time with a zone (default: the beginning)")
    check.add_argument("--until", help="ISO time with a zone (default: tomorrow)")
    check.add_argument("--instrument", type=cli_common.positive_int, action="append")
    check.add_argument("--repair", action="store_true", help="replace what differs")
    return parser


def _families(chosen: list[str] | None) -> list[Family]:
    return [check_family(f) for f in chosen] if chosen else list(FAMILIES)


async def _move(pool: Pool, args: argparse.Namespace) -> dict[str, Any]:
    action = "would move" if args.dry_run else "moved"
    found: dict[str, Any] = {}
    for family in _families(args.family):
        progress = cli_common.TtyProgress(f"move {family}")
        report = await maintain.move_default(
            pool, family, batch=args.batch, progress=progress, dry_run=args.dry_run
        )
        progress.close()
        found[family] = {"action": action, "rows": report.moved, "skipped": report.skipped}
    return found


async def _merge(pool: Pool, args: argparse.Namespace) -> dict[str, int]:
    merged: dict[str, int] = {}
    for family in _families(args.family):
        progress = cli_common.TtyProgress(f"merge {family}")
        merged[family] = await maintain.merge_into_default(
            pool, family, batch=args.batch, progress=progress
        )
        progress.close()
    return merged


async def _bars(pool: Pool, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "bars-backfill":
        progress = cli_common.TtyProgress("bars backfill")
        done = await bars.backfill(pool, step_hours=args.step_hours, progress=progress)
        progress.close()
        return vars(done)
    found = await bars.check(
        pool,
        since=None if args.since is None else _time(args.since, "--since"),
        until=None if args.until is None else _time(args.until, "--until"),
        instrument_ids=args.instrument,
        repair=args.repair,
    )
    return {
        "ok": found.ok,
        "instruments": found.instruments,
        "buckets": found.buckets,
        "skipped": found.skipped,
        "repaired": found.repaired,
        "differences": [vars(d) for d in found.differences],
    }


async def _with_pool(settings: Settings, args: argparse.Namespace) -> Any:
    async with Pool.open(settings) as pool:
        if args.command.startswith("bars-"):
            return await _bars(pool, args)
        if args.command == "maintain":
            created = await maintain.premake(pool)
            await maintain.bars_retention(pool)
            return {"created": created, "analyzed": await maintain.analyze_recent(pool)}
        if args.command == "move":
            return await _move(pool, args)
        if args.command == "merge":
            return await _merge(pool, args)
        cutoff = _time(args.older_than, "--older-than")
        return {
            family: await archive.purge_deleted(pool, family, cutoff)
            for family in _families(args.family)
        }


@contextmanager
def _busy_timeout(settings: Settings, args: argparse.Namespace) -> Iterator[None]:
    """--wait for the archive steps, which read their settings from the environment."""
    if args.wait is None:
        yield
        return
    key, before = "RAWDB_BUSY_TIMEOUT_MS", os.environ.get("RAWDB_BUSY_TIMEOUT_MS")
    os.environ[key] = str(settings.busy_timeout_ms)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _archive(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    database = settings.database
    if args.command == "archive" and args.expired:
        with _busy_timeout(settings, args):
            outcomes = archive.apply_retention(database, dry_run=args.dry_run)
        return [vars(o) for o in outcomes]
    if not args.period:
        raise UsageError(f"{args.command}: name a period (e.g. 2025-01), or use --expired")
    period = Period.parse(args.family, args.period)
    run_one = archive.archive_period if args.command == "archive" else archive.restore_period
    with _busy_timeout(settings, args):
        return [vars(run_one(database, period, dry_run=args.dry_run))]


def run(args: argparse.Namespace) -> Any:
    """Run one parsed command; returns what it reports (printed by :func:`main`)."""
    if args.now:
        moment = _time(args.now, "--now")
        policy.configure(clock=lambda: moment)
    settings = cli_common.settings_for(args)
    if settings.dialect != "sqlite":
        from rawdb.partitions import server_cli  # noqa: PLC0415 -- needs rawdb[postgresql]

        cutoff = _time(args.older_than, "--older-than") if args.command == "purge" else None
        return asyncio.run(server_cli.run(settings, args, cutoff))
    if args.command in {"status", "archive", "restore"}:
        # The pool checks this itself; these commands open the file without a pool.
        ensure_current(settings.database, settings)
    if args.command == "status":
        return [f.as_json() for f in status(settings.database)]
    if args.command in {"archive", "restore"}:
        return _archive(settings, args)
    return asyncio.run(_with_pool(settings, args))


# --- text output --------------------------------------------------------------------------


def _print_status(found: list[dict[str, Any]]) -> None:
    for family in found:
        say(f"{family['family']}:")
        for t in family["tables"]:
            size = "-" if t["bytes"] is None else f"{t['bytes'] / 1e6:.1f} MB"
            rows = "-" if t["rows"] is None else f"{t['rows']:,}"
            bounds = f"[{t['period_start']}, {t['period_end']})" if t["period_start"] else ""
            say(f"  {t['name']:<24} {t['state']:<10} {rows:>12} rows {size:>10}  {bounds}")
            for month, count in t["by_month"].items():
                say(f"    default holds {count:,} row(s) of {month}")


def _print_maintain(found: dict[str, list[str]]) -> None:
    for table in found["created"]:
        say(f"created {table}")
    for table in found["analyzed"]:
        say(f"analyzed {table}")
    if not found["created"] and not found["analyzed"]:
        say("nothing to do: every table up to the horizon exists")


def _print_move(found: dict[str, Any]) -> None:
    for family, done in found.items():
        say(f"{family}: {done['action']} {sum(done['rows'].values()):,} row(s)")
        for table, rows in done["rows"].items():
            say(f"  {table:<24} {rows:>12,}")
        for why, rows in done["skipped"].items():
            say(f"  left in the default table: {rows:,} ({why})")


def _print_outcomes(found: list[dict[str, Any]]) -> None:
    if not found:
        say("nothing to archive: no period is past retention")
    for outcome in found:
        rows = "" if outcome["rows"] is None else f", {outcome['rows']:,} rows"
        where = f" -> {outcome['archive_file']}" if outcome["archive_file"] else ""
        say(f"{outcome['table']}: {outcome['action']}{rows}{where}")


def _print_bars(command: str, found: dict[str, Any]) -> None:
    if command == "bars-backfill":
        say(
            f"bars: {found['steps']:,} step(s) over {found['instruments']} instrument(s), "
            f"{found['minute_bars']:,} 1-minute bars; complete: {found['complete']}"
        )
        return
    verdict = "the same" if found["ok"] else f"{len(found['differences'])} difference(s)"
    say(f"bars: {found['buckets']:,} bucket(s) of {found['instruments']} instrument(s): {verdict}")
    if found["skipped"]:
        say(f"  not checked: {found['skipped']}")
    if found["repaired"]:
        say(f"  repaired {found['repaired']:,} bucket(s) from the ticks")
    for d in found["differences"]:
        say(f"  instrument {d['instrument_id']}, {d['interval']} bar at {d['bucket']}:")
        say(f"    stored:     {d['stored']}")
        say(f"    from ticks: {d['computed']}")


def _print_text(command: str, result: Any) -> None:
    if command.startswith("bars-"):
        _print_bars(command, result)
    elif command == "status":
        _print_status(result)
    elif command == "maintain":
        _print_maintain(result)
    elif command == "move":
        _print_move(result)
    elif command in {"archive", "restore"}:
        _print_outcomes(result)
    elif command == "merge":
        for family, rows in result.items():
            say(f"{family}: merged {rows:,} row(s) into the default table")
    else:
        for family, tables in result.items():
            say(f"{family}: purged {sum(tables.values()):,} row(s)")
            for table, rows in tables.items():
                say(f"  {table:<24} {rows:>12,}")


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = cli_common.parse(_parser(prog), argv)
    try:
        result = run(args)
    except RawdbError as exc:
        return cli_common.fail(exc, prog)
    if args.json:
        cli_common.emit(json.dumps(result, indent=2, default=str) + "\n")
    else:
        _print_text(args.command, result)
    if args.command == "bars-check" and not result["ok"] and not result["repaired"]:
        return EXIT_FAILED
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``rawdb partitions``; returns the exit code (a usage error raises SystemExit(2))."""
    return cli_common.run(lambda given: _main(given, prog), argv)
