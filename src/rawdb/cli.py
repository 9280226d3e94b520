"""rawdb: one command for the database's upkeep.

    rawdb migrate ...      apply, roll back, check and adopt migrations
    rawdb partitions ...   status, maintain, move, archive, restore, purge, merge
    rawdb monitor ...      the health report, once or watching
    rawdb demo ...         the main job on the demo's own database
    rawdb copy ...         move the database from SQLite to PostgreSQL, verified

Every command takes --db PATH, --json, --log-json, --wait SECONDS and --version, before or
after its verb. 'rawdb COMMAND --help' shows a command's options; docs/cli.md has them all,
with the exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from rawdb import cli_common

Main = Callable[..., int]

# Each command is its module's own program, imported on use (`rawdb migrate` loads no monitor).
MODULES = {
    "migrate": "rawdb.migrate.cli",
    "partitions": "rawdb.partitions.cli",
    "monitor": "rawdb.monitor.cli",
    "demo": "rawdb.demo.__main__",
    "copy": "rawdb.transfer.cli",
}
COMMANDS = tuple(MODULES)


def _command_main(name: str) -> Main:
    return cast(Main, importlib.import_module(MODULES[name]).main)


def parser() -> argparse.ArgumentParser:
    p = cli_common.Parser(prog="rawdb", description=__doc__, allow_abbrev=False)
    # Given before the command, the common options are passed on to it.
    for flag in ("--db", "--wait"):
        p.add_argument(flag, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--database", dest="db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for flag in ("--json", "--log-json"):
        p.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument(
        "--version", action="version", version=cli_common.version_text(), help="print the version"
    )
    p.add_argument("command", choices=COMMANDS, metavar="COMMAND", help=", ".join(COMMANDS))
    p.add_argument("args", nargs=argparse.REMAINDER, help="the command's options and verb")
    return p


def _passed_on(args: argparse.Namespace) -> list[str]:
    """The common options given before the command, as the command's own arguments."""
    given: list[str] = []
    for name in ("db", "wait"):
        if hasattr(args, name):
            given += [f"--{name}", str(getattr(args, name))]
    for name in ("json", "log_json"):
        if getattr(args, name, False):
            given.append("--" + name.replace("_", "-"))
    return given


def _main(argv: Sequence[str] | None) -> int:
    args = cli_common.parse(parser(), argv)
    command: str = args.command
    return _command_main(command)([*_passed_on(args), *args.args], prog=f"rawdb {command}")


def main(argv: Sequence[str] | None = None) -> int:
    """``rawdb COMMAND ...``: runs the command's own program; returns its exit code."""
    return cli_common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
