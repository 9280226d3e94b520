"""What every rawdb command shares: exit codes, common options, error reporting, output.

Only rawdb's programs use this module; it imports nothing of rawdb but the settings, the
errors and the logging set-up, so every command-line module can import it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from rawdb import log
from rawdb.config import Settings
from rawdb.errors import RawdbError, SchemaOutOfDate, UsageError
from rawdb.version import VERSION

# --- exit codes (docs/cli.md lists them; no two outcomes share one) --------------------------

EXIT_OK = 0
EXIT_FAILED = 1
"""The command failed (rawdb refused or the database did), or ``validate`` found problems."""
EXIT_USAGE = 2
"""A bad option, argument or setting; argparse uses 2 for the same."""
EXIT_DEGRADED = 3
EXIT_UNHEALTHY = 4
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as a shell reports it)."""
HEALTH_EXIT = {"healthy": EXIT_OK, "degraded": EXIT_DEGRADED, "unhealthy": EXIT_UNHEALTHY}

"""The event a failing command logs in JSON mode, in place of its ``error:`` line."""
MAX_WAIT_SECONDS = 86_400.0
QUIET = "critical"
"""Console level unless RAWDB_LOG_LEVEL asks for more: the commands print what matters, and an
error logged by the library as well would show twice."""

# Whether this command logs JSON lines (errors included): decided from the command line and
# the environment before parsing (for usage errors), then from the settings.
_json_logs = False
_logging_set = False  # by this command, through configure_logging
_stdout_closed = False


def version_text() -> str:
    """``rawdb <version>`` (``0+unknown`` when the package is not installed)."""
    return f"rawdb {VERSION}"


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str | None) -> str | None:
    """Help text without reStructuredText markup (``x`` and :mod:`x` become x)."""
    if text is None:
        return None
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text)).strip()


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds from 0 to a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value <= MAX_WAIT_SECONDS:  # also refuses NaN
        raise argparse.ArgumentTypeError(
            f"expected seconds from 0 to {MAX_WAIT_SECONDS:g}, got {text!r}"
        )
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


# --- parsing ----------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse with plain-text descriptions and usage errors that exit 2 (as a JSON log line
    when logs are JSON, so stderr stays parsable)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs["description"] = plain(kwargs.get("description"))
        kwargs["epilog"] = plain(kwargs.get("epilog"))
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if _json_logs:
            _log_failure(message, EXIT_USAGE, self.prog)
        else:
            self.print_usage(sys.stderr)
            _write_stderr(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


class Common:
    """The options every command takes, before or after its verb.

    The top-level parser holds the defaults; each verb's parser gets the same options with
    ``default=SUPPRESS``, so a value given after the verb wins and an absent one does not
    overwrite a value given before it.
    """

    def __init__(
        self,
        *,
        database_alias: bool = False,
        json: bool = True,
        wait_default: float | None = None,
        wait_help: str = "seconds to wait for the write lock (default: RAWDB_BUSY_TIMEOUT_MS)",
        db_help: str = "database file (default: RAWDB_DATABASE, else rawdb.sqlite3)",
    ) -> None:
        self.database_alias = database_alias
        self.db_help = db_help
        self.json = json
        self.wait_default = wait_default
        self.wait_help = wait_help

    def add(self, parser: argparse.ArgumentParser, *, top: bool = False) -> None:
        def default(value: object) -> object:
            return value if top else argparse.SUPPRESS

        parser.add_argument(
            "--db",
            type=database_arg,
            default=default(None),
            metavar="PATH",
            help=self.db_help,
        )
        if self.database_alias:  # the older spelling keeps working, unlisted
            parser.add_argument(
                "--database",
                dest="db",
                type=database_arg,
                default=default(None),
                help=argparse.SUPPRESS,
            )
        if self.json:
            parser.add_argument(
                "--json", action="store_true", default=default(False), help="print one JSON value"
            )
        parser.add_argument(
            "--log-json",
            action="store_true",
            default=default(False),
            help="log JSON lines on stderr (also RAWDB_LOG_FORMAT=json)",
        )
        parser.add_argument(
            "--wait",
            type=seconds,
            default=default(self.wait_default),
            metavar="SECONDS",
            help=self.wait_help,
        )
        parser.add_argument(
            "--migrations",
            action="append",
            default=default(None),
            metavar="NAME=FOLDER",
            help="the application's migration set, applied after rawdb's (repeat for more; "
            "default: RAWDB_MIGRATIONS)",
        )
        parser.add_argument(
            "--version", action="version", version=version_text(), help="print the version"
        )


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; a usage error exits 2 (as JSON when logs will be JSON)."""
    global _json_logs, _logging_set  # noqa: PLW0603 -- one command per process, like logging
    args = list(sys.argv[1:] if argv is None else argv)
    given = args[: args.index("--")] if "--" in args else args
    from_env = os.environ.get("RAWDB_LOG_FORMAT", "").strip().lower() == "json"
    _json_logs = "--log-json" in given or from_env
    _logging_set = False
    return parser.parse_args(args)


def database_arg(text: str) -> Path | str:
    """``--db``: a SQLite file's path, or a PostgreSQL URL kept as written (a Path would fold
    its ``//``)."""
    scheme, sep, _ = text.partition("://")
    return text if sep and scheme in ("postgresql", "postgres") else Path(text)


def settings_for(
    args: argparse.Namespace, *, wait_is_busy_timeout: bool = True, **overrides: Any
) -> Settings:
    """The settings of one run: the environment, then ``--db``, ``--wait`` (as busy_timeout_ms
    unless told otherwise) and ``overrides``; logging is set up from them."""
    wait = getattr(args, "wait", None) if wait_is_busy_timeout else None
    db = getattr(args, "db", None)
    url = db if isinstance(db, str) else None
    settings = Settings.from_env(
        database=None if url else db,
        database_url=url,
        busy_timeout_ms=None if wait is None else round(wait * 1000),
        migrations=getattr(args, "migrations", None),
        **overrides,
    )
    configure_logging(settings, log_json=bool(getattr(args, "log_json", False)))
    return settings


def configure_logging(settings: Settings, *, log_json: bool) -> None:
    """JSON lines with ``--log-json`` or RAWDB_LOG_FORMAT=json; the level is RAWDB_LOG_LEVEL
    when set, else info for JSON and quiet for the console."""
    global _json_logs, _logging_set  # noqa: PLW0603 -- one command per process, like logging
    fmt = "json" if log_json else settings.log_format
    level: str
    if "log_level" in settings.model_fields_set:
        level = settings.log_level
    else:
        level = "info" if fmt == "json" else QUIET
    log.configure(fmt, level, force=True)  # a host's own configuration still stands
    _json_logs = fmt == "json"
    _logging_set = True
    # With warnings hidden, what a person must know while waiting is still said, once.
    quiet = fmt == "console" and level in {"error", QUIET}
    log.listen((lambda sentence: _write_stderr(f"{sentence}\n")) if quiet else None)


# --- errors ----------------------------------------------------------------------------------


def exit_code(exc: BaseException) -> int:
    """2 for a bad option, argument or setting; 1 for every other failure."""
    if isinstance(exc, UsageError) and not isinstance(exc, SchemaOutOfDate):
        return EXIT_USAGE
    return EXIT_FAILED


def fail(exc: RawdbError, command: str) -> int:
    """Report a failed command once: an ``error:`` line, or one JSON log line; its exit code."""
    code = exit_code(exc)
    if _json_logs:
        _log_failure(str(exc), code, command)
    else:
        _write_stderr(f"error: {exc}\n")
    return code


def _log_failure(message: str, code: int, command: str) -> None:
    if not _logging_set:  # failed before the settings were read (a usage error)
        log.configure("json", "info", force=True)
    log.get_logger("cli").error(log.CLI_FAILED, command=command, error=message, exit_code=code)


def _write_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except BrokenPipeError:
        _silence(sys.stderr)


# --- output ----------------------------------------------------------------------------------


def emit(text: str, stream: TextIO | None = None) -> bool:
    """Write ``text`` and flush it; False once the reader has gone (``| head``), after which
    output is dropped and the command carries on to its end."""
    global _stdout_closed  # noqa: PLW0603 -- stdout is process-wide
    target = sys.stdout if stream is None else stream
    if _stdout_closed and target is sys.stdout:
        return False
    try:
        target.write(text)
        target.flush()
    except BrokenPipeError:
        _silence(target)
        _stdout_closed = _stdout_closed or target is sys.stdout
        return False
    return True


def say(line: str) -> None:
    """One line on stdout (see :func:`emit`)."""
    emit(line + "\n")


def json_logs() -> bool:
    """Whether this command logs JSON lines (then nothing else may go to stderr)."""
    return _json_logs


def _silence(stream: TextIO) -> None:
    # What the Python docs advise for SIGPIPE: point the descriptor at devnull, so the
    # buffered rest (flushed at exit) goes nowhere instead of raising again.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def run(body: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run one command: a closed stdout ends it quietly, never with a traceback."""
    global _stdout_closed  # noqa: PLW0603 -- stdout is process-wide
    _stdout_closed = False
    try:
        code = body(argv)
    except SystemExit:
        _flush_stdout()  # help and --version text
        raise
    except BrokenPipeError:  # written past emit(), so the command stopped there: not done
        _silence(sys.stdout)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C: the terminal shows it; a traceback would add nothing
        return EXIT_INTERRUPTED
    _flush_stdout()
    return code


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence(sys.stdout)


# --- progress --------------------------------------------------------------------------------


class TtyProgress:
    """``label: done/total rows (NN%)`` redrawn on stderr, for steps that last: only when stderr
    is a terminal, and only after the first half second."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty() and not _json_logs
        self.started = time.monotonic()
        self.shown = False
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < 0.5 or now - self._last < 0.1:
            return
        self._last = now
        share = f" ({100 * done // total}%)" if total else ""
        self.stream.write(f"\r{self.label}: {done:,}/{total:,} rows{share}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
