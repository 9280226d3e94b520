"""``python -m rawdb.demo``: the main job on the default database, in under a minute."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rawdb import log
from rawdb.config import Settings
from rawdb.demo.run import DemoOptions, run_demo
from rawdb.errors import RawdbError
from rawdb.monitor import HealthReport
from rawdb.monitor.cli import render_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rawdb.demo", description=__doc__)
    parser.add_argument("--db", type=Path, help="database file (default: $RAWDB_DATABASE)")
    parser.add_argument("--ticks", type=int, default=200_000, help="ticks to stream")
    parser.add_argument("--days", type=int, default=45, help="days of market time they span")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the feed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.ticks < 1 or args.days < 1:
        parser.error("--ticks and --days must be >= 1")
    log.configure(level="error")  # the report says what matters; warnings would cut the bar
    settings = Settings.from_env(database=args.db)
    try:
        report = asyncio.run(run_demo(settings, DemoOptions(args.ticks, args.days, args.seed)))
    except RawdbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        health = HealthReport.model_validate(report.pop("health"))
        for key, value in report.items():
            print(f"{key}: {value}")
        print()
        print(render_table(health, [], None), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
