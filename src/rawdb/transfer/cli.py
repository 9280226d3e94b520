"""rawdb copy: move a rawdb database from a SQLite file to PostgreSQL, verified.

    rawdb copy --from SQLITE_FILE --to postgresql://USER@HOST/DB [--json]

The target is migrated to the source's version first (both must be at rawdb's newest). The
copy can run while the application writes to the file; run it again after stopping the
writers, and only what changed is copied again. Every unit (a table, or one period of
market_data, alert_logs and the bars) is counted and checksummed on both sides. Exit codes:
0 everything matches, 1 a unit differs or the copy was refused, 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from rawdb import cli_common
from rawdb.cli_common import EXIT_FAILED, EXIT_OK, say
from rawdb.errors import RawdbError, UsageError

PROG = "rawdb copy"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = cli_common.Parser(prog=prog, description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="SQLITE_FILE")
    parser.add_argument("--to", dest="target", required=True, metavar="POSTGRESQL_URL")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines on stderr")
    parser.add_argument(
        "--version", action="version", version=cli_common.version_text(), help="print the version"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    target = cli_common.database_arg(args.target)
    if not isinstance(target, str):
        raise UsageError(f"--to {args.target}: give a PostgreSQL URL (postgresql://USER@HOST/DB)")
    cli_common.settings_for(args)  # logging, as every rawdb command sets it up
    from rawdb.transfer import copy_database  # noqa: PLC0415 -- needs the PostgreSQL extra

    report = asyncio.run(copy_database(args.source, target, report=None if args.json else say))
    if args.json:
        cli_common.emit(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        for line in report.skipped:
            say(f"not copied: {line}")
        bad = [u.name for u in report.units if not u.matches]
        copied = sum(u.source_rows for u in report.units if u.copied)
        say(
            f"{len(report.units)} units, {copied:,} rows copied in this run; "
            + ("every unit matches" if not bad else f"DIFFERENT: {', '.join(bad)}")
        )
    return EXIT_OK if report.ok else EXIT_FAILED


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = cli_common.parse(build_parser(prog), argv)
    try:
        return run(args)
    except RawdbError as exc:
        return cli_common.fail(exc, prog)


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``rawdb copy``; returns the exit code (a usage error raises SystemExit(2))."""
    return cli_common.run(lambda given: _main(given, prog), argv)
