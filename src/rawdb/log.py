"""structlog, configured once: key=value lines on a terminal, JSON lines when asked."""

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

_configured = False


def configure(
    fmt: Literal["console", "json"] = "console",
    level: str = "info",
    *,
    force: bool = False,
) -> None:
    """Set up structlog once for the process; later calls are no-ops unless ``force``."""
    global _configured  # noqa: PLW0603 -- logging is process-wide by nature
    if _configured and not force:
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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str) -> Any:
    """A bound logger tagged with the component name (logging to stderr unless configured)."""
    if not _configured:
        configure()
    return structlog.get_logger().bind(component=name)
