"""Loggers for rawdb's modules, and the logging set-up of rawdb's own programs.

rawdb is a guest in an application: library code only gets loggers, and never configures
structlog (the application's configuration, JSON lines or not, stays as it is). The loggers
are lazy, so a configuration the application makes after importing rawdb still applies. An
application that does not use structlog gets rawdb's events through the standard library's
``logging`` (loggers ``rawdb.<component>``), silent below warnings until it configures them.
Only rawdb's programs (the CLIs, the demo, the tools) call :func:`configure`, and even they
leave a structlog the host process configured itself alone.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Literal

import structlog

# Event names are stable strings kept in one place so dashboards can rely on them.
MIGRATION_APPLIED = "migration.applied"
MIGRATION_ROLLED_BACK = "migration.rolled_back"
MIGRATION_FAILED = "migration.failed"
MIGRATION_BASELINED = "migration.baselined"
BACKUP_WRITTEN = "backup.written"
MONITOR_SLOW_STATEMENT = "monitor.slow_statement"
MONITOR_ALERT = "monitor.alert"
MONITOR_ALERT_CLEARED = "monitor.alert_cleared"
MONITOR_ALERT_CALLBACK_FAILED = "monitor.alert_callback_failed"
MONITOR_OPTIMIZED = "monitor.optimized"
MONITOR_ANALYZED = "monitor.analyzed"
MONITOR_SAMPLES_WRITTEN = "monitor.samples_written"
MONITOR_UPKEEP_FAILED = "monitor.upkeep_failed"
MONITOR_PUBLISH_FAILED = "monitor.publish_failed"
POOL_OPENED = "pool.opened"
POOL_CLOSED = "pool.closed"
POOL_CLOSE_FORCED = "pool.close_forced"
POOL_CONNECTION_RECYCLED = "pool.connection_recycled"
POOL_HEALTH_CHECK_FAILED = "pool.health_check_failed"
POOL_ACQUIRE_TIMEOUT = "pool.acquire_timeout"
POOL_CIRCUIT_CHANGED = "pool.circuit_changed"
POOL_CLEANUP_FAILED = "pool.cleanup_failed"
STREAM_BATCH_COMMITTED = "stream.batch_committed"
STREAM_BATCH_FAILED = "stream.batch_failed"
STREAM_TICKS_SET_ASIDE = "stream.ticks_set_aside"
CLI_FAILED = "cli.failed"
PARTITIONS_CREATED = "partitions.created"
PARTITIONS_ARCHIVED = "partitions.archived"
PARTITIONS_RESTORED = "partitions.restored"
PARTITIONS_MOVED = "partitions.moved"
PARTITIONS_MAINTAIN_FAILED = "partitions.maintain_failed"
PARTITIONS_ANALYZED = "partitions.analyzed"
WEB_ADVISOR_FAILED = "web.advisor_failed"
WEB_PUSH_FAILED = "web.push_failed"
WRITE_LOCK_WAITING = "database.write_lock_waiting"
"""Warned once per wait when another connection holds the write lock (then DatabaseBusy
if it is not released within the busy timeout)."""

_configured = False  # by rawdb's programs, through configure()
_listener: Callable[[str], None] | None = None


def listen(listener: Callable[[str], None] | None) -> None:
    """Have ``listener`` told the sentences meant for a person at a terminal (e.g. that a
    command is waiting for a lock); None stops it. Set by rawdb's programs only."""
    global _listener  # noqa: PLW0603 -- one terminal per process
    _listener = listener


def tell(sentence: str) -> None:
    """A sentence for the person running a command, when a program listens (see
    :func:`listen`); library code logs the same event for the application as well."""
    if _listener is not None:
        _listener(sentence)


def configure(
    fmt: Literal["console", "json"] = "console",
    level: str = "info",
    *,
    force: bool = False,
) -> None:
    """Set up structlog for one of rawdb's programs: key=value lines or JSON lines on stderr.

    A no-op when the host process configured structlog itself (a CLI entry point called
    in-process by an application), and after the first call unless ``force``.
    """
    global _configured  # noqa: PLW0603 -- logging is process-wide by nature
    if (_configured and not force) or (structlog.is_configured() and not _configured):
        return
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _configured = True


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # sys.stderr as it is when a line is logged, not when logging was set up: a host (or a
    # test harness) may replace it, and the one set up earlier may be closed by then.
    return structlog.PrintLogger(file=sys.stderr)


class Logger:
    """rawdb's logger for one component: through structlog when the process configured it
    (the application's setup, or a rawdb program's), else through the standard library's
    ``logging`` under the same name, where an application that never heard of structlog
    controls it like any library's (by default: warnings and errors on stderr, nothing else)."""

    def __init__(self, name: str) -> None:
        self.component = name
        self.name = f"rawdb.{name}"

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if structlog.is_configured():
            bound = structlog.get_logger(self.name, component=self.component)
            getattr(bound, logging.getLevelName(level).lower())(event, **fields)
            return
        logger = logging.getLogger(self.name)
        if logger.isEnabledFor(level):
            shown = " ".join(f"{key}={value!r}" for key, value in fields.items())
            logger.log(
                level,
                "%s %s",
                event,
                shown,
                extra={"rawdb_event": event, "rawdb_fields": fields},
            )

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)


def get_logger(name: str) -> Logger:
    """The logger named ``rawdb.<name>``, tagged with the component; it decides at each call
    where the event goes (see :class:`Logger`), so a configuration the application makes
    after importing rawdb applies."""
    return Logger(name)


def reset() -> None:
    """Undo :func:`configure` and structlog's configuration: the process logs as a fresh one
    would (for harnesses that run several of rawdb's programs in one process, such as tests)."""
    global _configured  # noqa: PLW0603 -- logging is process-wide by nature
    global _listener  # noqa: PLW0603
    structlog.reset_defaults()
    _configured = False
    _listener = None
