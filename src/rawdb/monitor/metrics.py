"""Statement metrics collected inside rawdb: what the pool's observer hook feeds.

Every statement the pool runs calls :meth:`Metrics.observe` with its name, duration, rows and
error. Per name it keeps a count, errors, rows, total time (for Prometheus ``_sum`` and
``_count``) and a sliding window (for p50/p95/p99 and the error rate thresholds look at).
Statements slower than ``slow_after`` are logged once per name with the parameters' shape,
never their values. Memory is bounded: fixed-size histograms, at most ``max_names`` names.

The streaming writer reports its batches and queue through :meth:`record_batch` and
:meth:`set_queue_depth`; inserts feed the insert-rate windows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rawdb import log
from rawdb.backend import BEGIN_WRITE, COMMIT
from rawdb.errors import ConstraintViolation, QueryTimeout
from rawdb.monitor.histogram import Buckets, Histogram, Window

SLOW_STATEMENT = log.MONITOR_SLOW_STATEMENT
OTHER = "(other)"
"""Where statements go once ``max_names`` distinct names were seen (ad-hoc SQL)."""
OWN_PREFIX = "monitor_"
BEGIN = BEGIN_WRITE
"""The name the pool's observer gives the wait for the write lock (``COMMIT``: the commit)."""
INSERT_VERBS = ("insert", "replace")
MAINTENANCE_PREFIXES = (
    "partitions_create",
    "partitions_drop",
    "partitions_register",
    "partitions_audit",
    "partitions_analy",
    "partitions_move",
    "partitions_merge",
    "partitions_raise",
    "partitions_forget",
    "archive_",
    "restore_",
)
"""Statements that make or change the schema or move data in bulk, now and then: judged by
their own limit, not a query's (the partition registry's read, partitions_list, is a query)."""
"""How a statement that adds rows starts (compared in lower case)."""
RATE_WINDOWS = (1, 10, 60)
"""Seconds over which the insert rate is reported."""


@dataclass(slots=True)
class StatementMetrics:
    """Running figures of one named statement."""

    name: str
    is_insert: bool
    window: Window
    is_maintenance: bool = False
    buckets: Buckets = field(default_factory=Buckets)
    count: int = 0
    errors: int = 0
    refused: int = 0
    slow: int = 0
    timeouts: int = 0
    rows: int = 0
    total_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class StatementFigures:
    """A snapshot of one statement: totals since start, percentiles over the window."""

    name: str
    is_insert: bool
    count: int
    errors: int
    rows: int
    total_seconds: float
    window_count: int
    window_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    is_maintenance: bool = False
    """One-off DDL or maintenance (see MAINTENANCE_PREFIXES), judged by its own limit."""
    buckets: tuple[tuple[str, int], ...] = ()
    """Run times since start as cumulative (le, count) pairs: Prometheus' histogram."""
    refused: int = 0
    """Calls refused because the caller broke a constraint (a duplicate, a missing parent):
    the caller's mistake, counted apart from the database's faults in ``errors``."""
    slow: int = 0
    """Calls that took ``slow_after`` seconds or more, since start."""
    timeouts: int = 0
    """Calls interrupted at their read deadline (:class:`~rawdb.errors.QueryTimeout`); each
    is also one of ``errors``: the statement did not deliver, whoever set the deadline."""

    @property
    def window_error_rate(self) -> float:
        return self.window_errors / self.window_count if self.window_count else 0.0


class Metrics:
    """Collects statement, insert, commit and writer figures; cheap enough to stay on.

    ``clock`` is injectable (tests pass a fake); ``window`` is the span in seconds of the
    percentiles and error rates; ``slow_after`` the duration in seconds logged as slow.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: float = 60.0,
        slots: int = 6,
        slow_after: float = 0.1,
        max_names: int = 500,
        insert_names: frozenset[str] | None = None,
    ) -> None:
        self.clock = clock
        self.window = window
        self.slow_after = slow_after
        self._slots = slots
        self._max_names = max_names
        self._inserts = _insert_statement_names() if insert_names is None else insert_names
        self._statements: dict[str, StatementMetrics] = {}
        self._slow_logged: set[str] = set()
        self._rows_in = Window(max(RATE_WINDOWS) + 1, max(RATE_WINDOWS) + 1, clock)
        self._commits = Window(window, slots, clock)
        self._lock_waits = Window(window, slots, clock)
        self._batches = Window(window, slots, clock)
        self.commit_buckets = Buckets()
        """Durations of COMMIT since start, for Prometheus (the windows above are for p95)."""
        self.lock_wait_buckets = Buckets()
        self.batch_buckets = Buckets()
        self.rows_inserted = 0
        self.ticks_rejected = 0
        """Ticks the streaming writer set aside (too far in the future, instrument gone...)."""
        """Rows inserted since start (a counter: Prometheus' rate() gives the rate)."""
        self.queue_depth = 0
        self.max_queue_depth = 0
        self._log = log.get_logger("monitor")
        self.on_sample: Callable[[str, float, int | None, str | None], None] | None = None
        """Called for every observed statement (the persistence sampler hooks in here)."""

    # --- the pool's observer hook ---------------------------------------------------------------

    def __call__(
        self,
        name: str,
        seconds: float,
        rows: int | None,
        error: BaseException | None,
        params: object = (),
    ) -> None:
        self.observe(name, seconds, rows, error, params)

    def observe(
        self,
        name: str,
        seconds: float,
        rows: int | None,
        error: BaseException | None = None,
        params: object = (),
    ) -> None:
        """Record one statement run: how long, rows returned or changed, error if it failed.

        The monitor's own statements (``monitor_*``) are left out of the figures.
        """
        if name.startswith(OWN_PREFIX):
            return
        if name == COMMIT:
            self._commits.current().histogram.add(seconds)
            self.commit_buckets.add(seconds)
            return
        if name == BEGIN:
            self._lock_waits.current().histogram.add(seconds)
            self.lock_wait_buckets.add(seconds)
            return
        stats = self._statements.get(name) or self._new(name)
        count_rows = rows if rows is not None and rows > 0 else 0
        stats.count += 1
        stats.rows += count_rows
        stats.total_seconds += seconds
        stats.buckets.add(seconds)
        slot = stats.window.current()
        slot.histogram.add(seconds)
        slot.rows += count_rows
        if isinstance(error, ConstraintViolation):
            stats.refused += 1
            slot.refused += 1
        elif error is not None:
            stats.errors += 1
            slot.errors += 1
            if isinstance(error, QueryTimeout):
                stats.timeouts += 1
        elif stats.is_insert and count_rows:
            self._rows_in.current().rows += count_rows
            self.rows_inserted += count_rows
        if seconds >= self.slow_after:
            stats.slow += 1
            if name not in self._slow_logged:  # logged once per name: a slow query repeats
                self._slow_logged.add(name)
                self._log.warning(
                    SLOW_STATEMENT,
                    statement=name,
                    duration_ms=round(seconds * 1000, 3),
                    rows=rows,
                    params=param_shape(params),
                    failed=error is not None,
                )
        if self.on_sample is not None:
            self.on_sample(name, seconds, rows, None if error is None else type(error).__name__)

    # --- the streaming writer's API -------------------------------------------------------------

    def record_batch(self, size: int, seconds: float) -> None:
        """A streaming-writer batch of ``size`` rows was written (and committed) in ``seconds``."""
        slot = self._batches.current()
        self.batch_buckets.add(seconds)
        slot.histogram.add(seconds)
        slot.rows += size

    def set_queue_depth(self, depth: int) -> None:
        """How many rows wait in the streaming writer's queue right now."""
        self.queue_depth = depth
        self.max_queue_depth = max(self.max_queue_depth, depth)

    def record_rejected(self, rows: int) -> None:
        """Ticks the streaming writer set aside for good (stream.rejected)."""
        self.ticks_rejected += rows

    def record_inserted(self, rows: int) -> None:
        """Count rows inserted by a path the observer does not see as an insert statement."""
        self._rows_in.current().rows += rows
        self.rows_inserted += rows

    # --- figures --------------------------------------------------------------------------------

    def statements(self) -> list[StatementFigures]:
        """A snapshot of every statement seen, by name."""
        return [self._figures(s) for _, s in sorted(self._statements.items())]

    def statement(self, name: str) -> StatementFigures | None:
        stats = self._statements.get(name)
        return None if stats is None else self._figures(stats)

    def insert_rates(self) -> dict[int, float]:
        """Rows inserted per second over the last 1, 10 and 60 seconds, the current second
        included (so a burst that just ended is seen at once, not one second later)."""
        slots = self._rows_in.live()
        now = math.floor(self.clock())  # the rate window's slots are one second wide
        return {w: sum(s.rows for s in slots if now - w < s.epoch <= now) / w for w in RATE_WINDOWS}

    def commit_latency(self) -> Histogram:
        """Durations of COMMIT over the window."""
        return self._commits.merged().histogram

    def lock_wait(self) -> Histogram:
        """Durations of BEGIN IMMEDIATE (waiting for SQLite's write lock) over the window."""
        return self._lock_waits.merged().histogram

    def batches(self) -> tuple[Histogram, int]:
        """Streaming-writer batch durations over the window, and the rows they carried."""
        merged = self._batches.merged()
        return merged.histogram, merged.rows

    def window_totals(self) -> tuple[int, int]:
        """Statements and errors over the window, all names together."""
        count = errors = 0
        for stats in self._statements.values():
            merged = stats.window.merged()
            count += merged.histogram.count
            errors += merged.errors
        return count, errors

    # --- internals ------------------------------------------------------------------------------

    def _new(self, name: str) -> StatementMetrics:
        if len(self._statements) >= self._max_names:
            existing = self._statements.get(OTHER)
            if existing is not None:
                return existing
            name = OTHER
        is_insert = name in self._inserts or name.lower().startswith(INSERT_VERBS)
        window = Window(self.window, self._slots, self.clock)
        stats = StatementMetrics(name, is_insert, window, name.startswith(MAINTENANCE_PREFIXES))
        self._statements[name] = stats
        return stats

    def _figures(self, stats: StatementMetrics) -> StatementFigures:
        merged = stats.window.merged()
        p50, p95, p99 = merged.histogram.quantiles((0.5, 0.95, 0.99))
        return StatementFigures(
            name=stats.name,
            is_insert=stats.is_insert,
            is_maintenance=stats.is_maintenance,
            buckets=tuple(stats.buckets.cumulative()),
            count=stats.count,
            errors=stats.errors,
            refused=stats.refused,
            slow=stats.slow,
            timeouts=stats.timeouts,
            rows=stats.rows,
            total_seconds=stats.total_seconds,
            window_count=merged.histogram.count,
            window_errors=merged.errors,
            p50_ms=_ms(p50),
            p95_ms=_ms(p95),
            p99_ms=_ms(p99),
            max_ms=_ms(merged.histogram.maximum),
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def param_shape(params: object) -> Any:
    """The shape of statement parameters, never their values: types, keys and counts."""
    if isinstance(params, Mapping):
        return {str(k): type(v).__name__ for k, v in params.items()}
    if isinstance(params, list | tuple):
        if params and all(isinstance(p, list | tuple | Mapping) for p in params[:1]):
            return {"rows": len(params), "row": param_shape(params[0])}
        return [type(p).__name__ for p in params]
    if isinstance(params, Sequence | str | bytes):
        return type(params).__name__
    return {"rows": "iterator"} if params is not None else None


def _insert_statement_names() -> frozenset[str]:
    """Names of the registry's INSERT statements (their rows feed the insert rate)."""
    from rawdb.queries import STATEMENTS  # noqa: PLC0415 -- keeps the registry load lazy

    return frozenset(
        name
        for name, stmt in STATEMENTS.items()
        if stmt.sql.split("*/", 1)[-1].lstrip().lower().startswith(INSERT_VERBS)
    )
