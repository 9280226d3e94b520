"""Loggers for rawdb's modules, and the logging set-up of rawdb's own programs.

rawdb is a guest in an application: library code only gets loggers, and never configures
structlog (the application's configuration, JSON lines or not, stays as it is). The loggers
are lazy, so a configuration the application makes after importing rawdb still applies.
Only rawdb's programs (the CLIs, the demo, the tools) call :func:`configure`, and even they
leave a structlog the host process configured itself alone.
"""

from __future__ import annotations

import logging
import sys
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
WRITE_LOCK_WAITING = "database.write_lock_waiting"
"""Warned once per wait when another connection holds the write lock (then DatabaseBusy
if it is not released within the busy timeout)."""

_configured = False  # by rawdb's programs, through configure()


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


def get_logger(name: str) -> Any:
    """A lazy logger named ``rawdb.<name>`` and tagged with the component: it follows whatever
    structlog configuration is in force when it logs (the application's, or structlog's
    defaults when nobody configured it)."""
    return structlog.get_logger(f"rawdb.{name}", component=name)


def reset() -> None:
    """Undo :func:`configure` and structlog's configuration: the process logs as a fresh one
    would (for harnesses that run several of rawdb's programs in one process, such as tests)."""
    global _configured  # noqa: PLW0603 -- logging is process-wide by nature
    structlog.reset_defaults()
    _configured = False
