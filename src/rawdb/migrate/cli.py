"""``python -m rawdb.migrate [--db PATH] [--dir DIR] COMMAND``.

Exit codes: 0 done, 1 a migration failed or validation found problems, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from rawdb import log
from rawdb.config import Settings
from rawdb.errors import MigrationFileError, RawdbError, UsageError
from rawdb.migrate.files import SLUG_PATTERN
from rawdb.migrate.runner import DEFAULT_WAIT_SECONDS, Migrator, Status

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _non_negative(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(f"expected a version number >= 0, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a number >= 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rawdb.migrate", description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="database file (default: $RAWDB_DATABASE)")
    parser.add_argument("--dir", type=Path, help="folder holding migrations/ and rollback/")
    parser.add_argument("--no-backup", action="store_true", help="skip the backup before changes")
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        help="seconds to wait for another migrator's lock (default: %(default)s)",
    )
    parser.add_argument(
        "--log-json", action="store_true", help="also log each event as a JSON line on stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="apply pending migrations")
    up.add_argument("--to", type=_non_negative, help="stop after this version")
    up.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")

    down = commands.add_parser("down", help="roll back applied migrations, newest first")
    target = down.add_mutually_exclusive_group()
    target.add_argument("--to", type=_non_negative, help="roll back until this version")
    target.add_argument("--steps", type=_positive, help="roll back this many (default 1)")
    down.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")

    status = commands.add_parser("status", help="applied, pending and problems")
    status.add_argument("--json", action="store_true", help="one JSON object")

    commands.add_parser("validate", help="exit 1 on any problem with files or history")

    baseline = commands.add_parser("baseline", help="adopt an existing database at version N")
    baseline.add_argument("version", type=_positive)

    new = commands.add_parser("new", help="create the next numbered migration and rollback")
    new.add_argument("slug", help="lowercase words joined by underscores, e.g. add_trades")

    dump = commands.add_parser("dump-schema", help="write the canonical schema")
    dump.add_argument("path", nargs="?", type=Path, help="file to write (default: stdout)")
    return parser


def _print(line: str) -> None:
    print(line, flush=True)


def _show_status(status: Status, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.as_json(), indent=2))
        return
    print(f"current version: {status.current:04d} (newest: {status.newest:04d})")
    for row in status.applied:
        mark = " baselined" if row.baselined else ""
        print(
            f"  applied  {row.name:<40} {row.applied_at}  {row.duration_ms:9.1f} ms  "
            f"{row.checksum[:12]}{mark}"
        )
    for migration in status.pending:
        print(f"  pending  {migration.name}")
    if status.backup:
        print(f"last backup: {status.backup}")
    for problem in status.problems:
        print(f"problem: {problem}")


def _new(migrator: Migrator, slug: str) -> int:
    if not SLUG_PATTERN.match(slug):
        raise UsageError(f"slug {slug!r}: use lowercase letters, digits and underscores")
    version = migrator.migrations.newest + 1
    name = f"{version:04d}_{slug}.sql"
    up_path = migrator.root / "migrations" / name
    down_path = migrator.root / "rollback" / name
    down_path.parent.mkdir(parents=True, exist_ok=True)
    up_path.write_text(
        f"-- {slug.replace('_', ' ')}: describe the change in one line\n"
        "-- Why: the reason, with the measurement when it is about speed.\n"
        "-- Add '-- rawdb: foreign_keys=off' here for a table rebuild.\n\n"
    )
    down_path.write_text(f"-- undo {version:04d}_{slug}\n\n")
    _print(f"created {up_path}\ncreated {down_path}")
    return EXIT_OK


def _up(migrator: Migrator, args: argparse.Namespace) -> int:
    result = migrator.up(to=args.to, dry_run=args.dry_run)
    if not args.dry_run and not result.done:
        _print(f"nothing to apply; at version {migrator.current():04d}")
    return EXIT_OK


def _down(migrator: Migrator, args: argparse.Namespace) -> int:
    result = migrator.down(to=args.to, steps=args.steps, dry_run=args.dry_run)
    if not args.dry_run and not result.done:
        _print(f"nothing to roll back; at version {migrator.current():04d}")
    return EXIT_OK


def _status(migrator: Migrator, args: argparse.Namespace) -> int:
    _show_status(migrator.status(), args.json)
    return EXIT_OK


def _validate(migrator: Migrator, _args: argparse.Namespace) -> int:
    problems = migrator.problems()
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return EXIT_FAILED
    _print(f"ok: {len(migrator.migrations.migrations)} migrations, no problems")
    return EXIT_OK


def _baseline(migrator: Migrator, args: argparse.Namespace) -> int:
    migrator.baseline(args.version)
    return EXIT_OK


def _dump(migrator: Migrator, args: argparse.Namespace) -> int:
    text = migrator.dump_schema()
    if args.path is None:
        sys.stdout.write(text)
    else:
        args.path.write_text(text)
    return EXIT_OK


COMMANDS = {
    "up": _up,
    "down": _down,
    "status": _status,
    "validate": _validate,
    "baseline": _baseline,
    "new": lambda migrator, args: _new(migrator, args.slug),
    "dump-schema": _dump,
}


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database=args.db)
    # The CLI prints its own readable lines; structured events go to stderr when asked for.
    log.configure(
        "json" if args.log_json else settings.log_format,
        settings.log_level if args.log_json else "warning",
    )
    migrator = Migrator(
        settings.database,
        args.dir,
        backup=not args.no_backup,
        settings=settings,
        wait_seconds=args.wait,
        report=_print,
    )
    return COMMANDS[args.command](migrator, args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (RawdbError, MigrationFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
