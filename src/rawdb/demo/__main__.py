"""rawdb demo: the main job on the demo's own database, in under a minute.

    rawdb demo [--db PATH] [--ticks N] [--days N] [--seed N] [--json]

The demo writes only into its own file: rawdb-demo.sqlite3 in the working directory unless
--db names another (RAWDB_DATABASE is not used). It refuses, without writing anything, a file
it did not make. Exit codes: 0 done, 1 failed or refused, 2 usage error; see docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from rawdb import cli_common
from rawdb.cli_common import EXIT_OK, say
from rawdb.demo.run import DEMO_DATABASE, DemoOptions, run_demo
from rawdb.errors import RawdbError
from rawdb.monitor import HealthReport
from rawdb.monitor.cli import render_table

PROG = "rawdb demo"
COMMON = cli_common.Common(
    db_help=f"the demo's database file (default: {DEMO_DATABASE} in this folder)"
)


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = cli_common.Parser(prog=prog, description=__doc__)
    COMMON.add(p, top=True)
    p.add_argument("--ticks", type=cli_common.positive_int, default=200_000, help="ticks to stream")
    p.add_argument(
        "--days", type=cli_common.positive_int, default=45, help="days of market time they span"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed of the feed")
    return p


def _print_report(report: dict[str, object]) -> None:
    health = HealthReport.model_validate(report.pop("health"))
    for key, value in report.items():
        say(f"{key}: {value}")
    say("")
    cli_common.emit(render_table(health, [], None))


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = cli_common.parse(parser(prog), argv)
    if args.db is None:
        args.db = DEMO_DATABASE
    try:
        settings = cli_common.settings_for(args)
        options = DemoOptions(args.ticks, args.days, args.seed, progress=not cli_common.json_logs())
        report = asyncio.run(run_demo(settings, options))
    except RawdbError as exc:
        return cli_common.fail(exc, prog)
    if args.json:
        cli_common.emit(json.dumps(report, indent=2, default=str) + "\n")
    else:
        _print_report(report)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``rawdb demo``; returns the exit code (a usage error raises SystemExit(2))."""
    return cli_common.run(lambda given: _main(given, prog), argv)


if __name__ == "__main__":
    sys.exit(main())
