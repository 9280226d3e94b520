"""rawdb migrate: apply, roll back, check and adopt the database's migrations.

    rawdb migrate [--db PATH] [--migrations NAME=FOLDER] [--no-backup] [--wait SECONDS]
                  [--json] COMMAND [--set NAME]
    rawdb migrate convert --from TOOL SOURCE_DIR DEST_DIR

rawdb's own migrations are the set "rawdb"; the application's sets (--migrations or
RAWDB_MIGRATIONS) apply after it, each with its own versions. --set NAME picks the set that
up, down, new and baseline act on. convert writes another tool's set (golang-migrate, dbmate,
goose, diesel, flyway, yoyo) as a rawdb set, saying what it changed and what needs a human.

The options may also follow the command. Exit codes: 0 done, 1 a migration failed or
validate found problems, 2 usage error (see docs/cli.md).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rawdb import cli_common
from rawdb.cli_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, say
from rawdb.config import Settings
from rawdb.errors import RawdbError, UsageError
from rawdb.migrate.convert import Report, convert
from rawdb.migrate.files import SLUG_PATTERN
from rawdb.migrate.runner import DEFAULT_WAIT_SECONDS, Migrator, RunResult, Status
from rawdb.migrate.upstream import TOOLS

if TYPE_CHECKING:
    from rawdb.migrate.postgresql import PostgresMigrator

    AnyMigrator = Migrator | PostgresMigrator

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run"]

PROG = "rawdb migrate"
COMMON = cli_common.Common(
    wait_default=DEFAULT_WAIT_SECONDS,
    wait_help=f"seconds to wait for another migrator's lock (default: {DEFAULT_WAIT_SECONDS:g})",
)


def _non_negative(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(f"expected a version number >= 0, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a number >= 1")
    return value


def _slug(text: str) -> str:
    if not SLUG_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"slug {text!r}: use lowercase letters, digits and underscores"
        )
    return text


def _own_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """migrate's own options, like the common ones accepted before or after the command."""
    parser.add_argument(
        "--dir",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        help="a folder holding migrations/ and rollback/ to use in place of rawdb's own set "
        "(for developing rawdb; an application adds its set with --migrations)",
    )
    parser.add_argument(
        "--no-backup",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="skip the backup before changes",
    )


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = cli_common.Parser(prog=prog, description=__doc__)
    COMMON.add(parser, top=True)
    _own_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        COMMON.add(sub)
        _own_options(sub, top=False)
        return sub

    up = command("up", "apply pending migrations of every set, in order")
    up.add_argument("--set", dest="set_name", metavar="NAME", help="only this set")
    up.add_argument("--to", type=_non_negative, help="stop after this version (of --set)")
    up.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")

    down = command("down", "roll back one set's applied migrations, newest first")
    down.add_argument(
        "--set",
        dest="set_name",
        metavar="NAME",
        help="the set to roll back (default: the last configured set with applied versions)",
    )
    target = down.add_mutually_exclusive_group()
    target.add_argument("--to", type=_non_negative, help="roll back until this version")
    target.add_argument("--steps", type=_positive, help="roll back this many (default 1)")
    down.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")

    command("status", "applied, pending and problems per set (the database must exist)")
    command("validate", "exit 1 on any problem with files or history")
    baseline = command("baseline", "adopt an existing database at version N of a set")
    baseline.add_argument("version", type=_positive)
    baseline.add_argument("--set", dest="set_name", metavar="NAME", default="rawdb")
    new = command("new", "create the next numbered migration and rollback of an app set")
    new.add_argument(
        "slug", type=_slug, help="lowercase words joined by underscores, e.g. add_trades"
    )
    new.add_argument(
        "--set", dest="set_name", metavar="NAME", help="the set (default: the last one)"
    )
    dump = command("dump-schema", "write the canonical schema")
    dump.add_argument("path", nargs="?", type=Path, help="file to write (default: stdout)")
    conv = command(
        "convert", "write another tool's migration set as a rawdb set (migrations/, rollback/)"
    )
    conv.add_argument(
        "--from",
        dest="tool",
        choices=[*TOOLS, "auto"],
        default="auto",
        help="the tool that wrote SOURCE_DIR (default: auto, told by the files)",
    )
    conv.add_argument("source", type=Path, metavar="SOURCE_DIR", help="the tool's migrations")
    conv.add_argument(
        "dest", type=Path, metavar="DEST_DIR", help="a new or empty folder for the rawdb set"
    )
    return parser


def _print_json(value: Any) -> None:
    cli_common.emit(json.dumps(value, indent=2, default=str) + "\n")


def _show_status(status: Status) -> None:
    for found in status.sets:
        where = "not configured here" if found.folder is None else str(found.folder)
        say(f"{found.name}: version {found.current:04d} (newest: {found.newest:04d}) — {where}")
        for row in found.applied:
            mark = " baselined" if row.baselined else ""
            say(
                f"  applied  {row.name:<40} {row.applied_at}  {row.duration_ms:9.1f} ms  "
                f"{row.checksum[:12]}{mark}"
            )
        for migration in found.pending:
            say(f"  pending  {migration.name}")
    if status.backup:
        say(f"last backup: {status.backup}")
    for problem in status.problems:
        say(f"problem: {problem}")


def _new(migrator: Migrator, args: argparse.Namespace) -> int:
    up_path, down_path = migrator.new(args.slug, args.set_name)
    if args.json:
        _print_json({"created": [str(up_path), str(down_path)]})
    else:
        say(f"created {up_path}\ncreated {down_path}")
    return EXIT_OK


def _run_json(
    migrator: AnyMigrator, args: argparse.Namespace, result: RunResult, lines: list[str]
) -> None:
    """What up or down did, as one JSON object."""
    done: dict[str, Any] = {"command": args.command, "dry_run": args.dry_run}
    done |= result.as_json()  # done (set, version, name of each), backup, baselined
    if args.dry_run:
        done["sql"] = "\n".join(lines)
    else:
        done["current"] = migrator.current()
        done["versions"] = _versions(migrator)
    _print_json(done)


def _versions(migrator: AnyMigrator) -> dict[str, int]:
    """Each configured set's applied version."""
    by_set = migrator.applied_by_set()
    return {found.name: max(by_set.get(found.name, {}), default=0) for found in migrator.stack.sets}


def _versions_text(migrator: AnyMigrator) -> str:
    versions = _versions(migrator)
    if len(versions) == 1:
        return f"version {versions['rawdb']:04d}"
    return ", ".join(f"{name} {version:04d}" for name, version in versions.items())


def _up(migrator: AnyMigrator, args: argparse.Namespace, lines: list[str]) -> int:
    result = migrator.up(to=args.to, set_name=args.set_name, dry_run=args.dry_run)
    if args.json:
        _run_json(migrator, args, result, lines)
    elif not args.dry_run and not result.done:
        say(f"nothing to apply; at {_versions_text(migrator)}")
    return EXIT_OK


def _down(migrator: AnyMigrator, args: argparse.Namespace, lines: list[str]) -> int:
    result = migrator.down(
        to=args.to, steps=args.steps, set_name=args.set_name, dry_run=args.dry_run
    )
    if args.json:
        _run_json(migrator, args, result, lines)
    elif not args.dry_run and not result.done:
        say(f"nothing to roll back; at {_versions_text(migrator)}")
    return EXIT_OK


def _status(migrator: AnyMigrator, args: argparse.Namespace) -> int:
    # A mistyped path is named as missing, not reported as an empty database at version 0.
    migrator.check_exists()
    status = migrator.status()
    if args.json:
        _print_json(status.as_json())
    else:
        _show_status(status)
    return EXIT_OK


def _validate(migrator: AnyMigrator, args: argparse.Namespace) -> int:
    problems = migrator.problems()
    count = sum(len(found.migrations) for found in migrator.stack.sets)
    if args.json:
        _print_json({"ok": not problems, "migrations": count, "problems": problems})
    else:
        for problem in problems:
            say(f"problem: {problem}")
        if not problems:
            say(f"ok: {count} migrations, no problems")
    return EXIT_FAILED if problems else EXIT_OK


def _baseline(migrator: Migrator, args: argparse.Namespace) -> int:
    migrator.baseline(args.version, set_name=args.set_name)
    if args.json:
        _print_json({"baselined": args.version, "set": args.set_name})
    return EXIT_OK


def _dump(migrator: Migrator, args: argparse.Namespace) -> int:
    text = migrator.dump_schema()
    if args.path is not None:
        args.path.write_text(text)
    if args.json:
        _print_json({"schema": text} if args.path is None else {"written": str(args.path)})
    elif args.path is None:
        cli_common.emit(text)
    return EXIT_OK


def _show_conversion(report: Report) -> None:
    say(
        f"converted {len(report.migrations)} {report.tool} migrations from {report.source} "
        f"into {report.dest}"
    )
    for item in report.migrations:
        rollback = "" if item.rollback is not None else " (no rollback)"
        say(f"  {item.name}{rollback}  <- {', '.join(item.source)}")
        for change in item.changes:
            say(f"      changed: {change}")
        for need in item.needs_human:
            say(f"      needs a human: {need}")
    for skipped in report.skipped:
        say(f"  not converted (needs a human): {skipped}")
    if report.needs_human:
        say(f"{report.needs_human} item(s) need a human (listed above)")
    else:
        say("nothing needs a human; check the set with `rawdb migrate validate`")


def _convert(args: argparse.Namespace) -> int:
    settings = cli_common.settings_for(args, wait_is_busy_timeout=False)
    report = convert(args.source, args.dest, args.tool, settings.sql_setup)
    if args.json:
        _print_json(report.as_json())
    else:
        _show_conversion(report)
    return EXIT_FAILED if report.needs_human else EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; rawdb's errors propagate (``main`` reports them)."""
    if args.command == "convert":  # files only: no database, no migrator
        return _convert(args)
    # --wait goes to the migrator, which waits for another migrator as well as for the lock.
    settings = cli_common.settings_for(args, wait_is_busy_timeout=False)
    lines: list[str] = []
    report = lines.append if args.json else say  # JSON mode: one object on stdout, no lines
    if settings.database_url is not None:
        return _run_on(_postgresql(settings, args, report), args, lines)
    migrator = Migrator(
        settings.database,
        args.dir,
        backup=not args.no_backup,
        settings=settings,
        wait_seconds=args.wait,
        report=report,
    )
    if args.command in ("up", "down", "status", "validate"):
        return _run_on(migrator, args, lines)
    commands = {"baseline": _baseline, "new": _new, "dump-schema": _dump}
    return commands[args.command](migrator, args)


def _run_on(migrator: AnyMigrator, args: argparse.Namespace, lines: list[str]) -> int:
    """The commands both engines' migrators answer."""
    if args.command == "up":
        return _up(migrator, args, lines)
    if args.command == "down":
        return _down(migrator, args, lines)
    return _status(migrator, args) if args.command == "status" else _validate(migrator, args)


POSTGRESQL_COMMANDS = ("up", "down", "status", "validate")


def _postgresql(
    settings: Settings, args: argparse.Namespace, report: Callable[[str], None]
) -> PostgresMigrator:
    """The migrator of a PostgreSQL database (imported only then: it needs psycopg)."""
    if args.command not in POSTGRESQL_COMMANDS:
        raise UsageError(
            f"`{args.command}` works on SQLite databases; on PostgreSQL rawdb migrate runs "
            f"{', '.join(POSTGRESQL_COMMANDS)} (write a new migration's files by hand, in "
            "both dialect folders, with the same number and slug)"
        )
    from rawdb.migrate.postgresql import PostgresMigrator  # noqa: PLC0415 -- optional extra

    assert settings.database_url is not None  # the caller chose PostgreSQL by it
    return PostgresMigrator(
        settings.database_url, args.dir, settings=settings, wait_seconds=args.wait, report=report
    )


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = cli_common.parse(build_parser(prog), argv)
    try:
        return run(args)
    except RawdbError as exc:
        return cli_common.fail(exc, prog)


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``rawdb migrate``; returns the exit code (a usage error raises SystemExit(2))."""
    return cli_common.run(lambda given: _main(given, prog), argv)
