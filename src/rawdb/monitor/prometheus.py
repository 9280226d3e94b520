"""The health report in Prometheus' text exposition format (version 0.0.4).

Serve ``render(await monitor.report())`` with content type :data:`CONTENT_TYPE` on ``/metrics``.
As Prometheus' users expect: latencies are histograms since the process started, with the same
buckets everywhere (so ``sum by (le)`` aggregates workers and ``histogram_quantile`` gives the
p95); rows, statements, errors and bytes are counters for ``rate()``, not pre-computed rates;
base units (seconds, bytes); the label values of a family sum to its whole (connections in use
and idle, never a "total" beside them). ``promtool check metrics`` passes on every output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rawdb.backend.sqlite.driver import SQLITE_VERSION
from rawdb.monitor.health import HealthReport
from rawdb.version import VERSION

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUS_VALUES = {"healthy": 0, "degraded": 1, "unhealthy": 2}
CIRCUIT_STATES = ("closed", "half_open", "open")

Sample = tuple[str, dict[str, str], float]


class _Out:
    def __init__(self, worker: str | None) -> None:
        self.lines: list[str] = []
        self.extra = {} if worker is None else {"worker": worker}

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")
        for sample_name, labels, value in samples:
            self.lines.append(f"{sample_name}{_labels({**labels, **self.extra})} {_number(value)}")


def render(report: HealthReport, *, worker: str | None = None) -> str:
    """Every figure of ``report`` as Prometheus text, ending with a newline.

    ``worker`` labels every sample (``worker="<pid>"``): an application serving ``/metrics``
    from several processes behind one port (uvicorn's workers) passes ``str(os.getpid())``, so
    each process's counters stay their own series; scraped without it, one worker's smaller
    count after another's would read as a counter reset.
    """
    out = _Out(worker)
    out.family(
        "rawdb_build_info",
        "gauge",
        "rawdb's version and the SQLite library it runs on (the value is always 1).",
        [("rawdb_build_info", {"version": VERSION, "sqlite_version": SQLITE_VERSION}, 1)],
    )
    out.family(
        "rawdb_health_status",
        "gauge",
        "Overall health: 0 healthy, 1 degraded, 2 unhealthy.",
        [("rawdb_health_status", {}, STATUS_VALUES[report.status])],
    )
    out.family(
        "rawdb_health_check_status",
        "gauge",
        "Each health check: 0 healthy, 1 degraded, 2 unhealthy.",
        [
            ("rawdb_health_check_status", {"check": c.name}, STATUS_VALUES[c.status])
            for c in report.checks
        ],
    )
    _statements(out, report)
    _writer(out, report)
    _pool(out, report)
    _file(out, report)
    out.family(
        "rawdb_alerts_active",
        "gauge",
        "Alerts currently raised.",
        [("rawdb_alerts_active", {}, len(report.alerts))],
    )
    return "\n".join(out.lines) + "\n"


def _statements(out: _Out, report: HealthReport) -> None:
    name = "rawdb_statement_duration_seconds"
    samples: list[Sample] = []
    for s in report.statements:
        samples += _histogram(name, {"statement": s.name}, s.buckets, s.total_seconds, s.count)
    out.family(name, "histogram", "Statement run time by name, since the process started.", samples)
    for metric, attr, help_text in (
        ("rawdb_statement_errors_total", "errors", "Statements the database failed, by name."),
        (
            "rawdb_statement_refused_total",
            "refused",
            "Statements refused for a constraint the caller broke (a duplicate key, a missing "
            "parent), by name.",
        ),
        (
            "rawdb_statement_timeouts_total",
            "timeouts",
            "Statements interrupted at their read deadline (also counted in errors), by name.",
        ),
        ("rawdb_statement_rows_total", "rows", "Rows returned or changed, by name."),
    ):
        out.family(
            metric,
            "counter",
            help_text,
            [(metric, {"statement": s.name}, getattr(s, attr)) for s in report.statements],
        )


def _writer(out: _Out, report: HealthReport) -> None:
    w = report.writer
    out.family(
        "rawdb_rows_inserted_total",
        "counter",
        "Rows inserted since the process started (rate() gives rows per second).",
        [("rawdb_rows_inserted_total", {}, w.rows_inserted_total)],
    )
    out.family(
        "rawdb_ticks_rejected_total",
        "counter",
        "Ticks the streaming writer set aside for good (later than the future tolerance, "
        "their instrument deleted, their period archived).",
        [("rawdb_ticks_rejected_total", {}, w.ticks_rejected_total)],
    )
    for name, help_text, buckets, total in (
        (
            "rawdb_commit_duration_seconds",
            "Time of COMMIT.",
            w.commit_buckets,
            w.commit_seconds_total,
        ),
        (
            "rawdb_write_lock_wait_seconds",
            "Wait for the write lock (BEGIN IMMEDIATE).",
            w.lock_wait_buckets,
            w.lock_wait_seconds_total,
        ),
        (
            "rawdb_writer_batch_duration_seconds",
            "Time of one streaming-writer batch.",
            w.batch_buckets,
            w.batch_seconds_total,
        ),
    ):
        count = buckets[-1][1] if buckets else 0
        out.family(name, "histogram", help_text, _histogram(name, {}, buckets, total, count))
    out.family(
        "rawdb_writer_queue_depth",
        "gauge",
        "Rows waiting in the streaming writer's queue.",
        [("rawdb_writer_queue_depth", {}, w.queue_depth)],
    )


def _pool(out: _Out, report: HealthReport) -> None:
    p = report.pool
    out.family(
        "rawdb_pool_connections",
        "gauge",
        "Pool connections by state (in use and idle add up to the pool's size).",
        [
            ("rawdb_pool_connections", {"state": "in_use"}, p.in_use),
            ("rawdb_pool_connections", {"state": "idle"}, max(0, p.size - p.in_use)),
        ],
    )
    out.family(
        "rawdb_pool_waiting",
        "gauge",
        "Callers waiting for a connection.",
        [("rawdb_pool_waiting", {}, p.waiting)],
    )
    for metric, help_text, value in (
        ("rawdb_pool_acquisitions_total", "Connections handed out.", p.acquisitions),
        ("rawdb_pool_timeouts_total", "Acquisitions that timed out.", p.timeouts),
        ("rawdb_pool_busy_retries_total", "Reads retried after SQLITE_BUSY.", p.busy_retries),
    ):
        out.family(metric, "counter", help_text, [(metric, {}, value)])
    for metric, help_text, seconds in (
        (
            "rawdb_pool_acquire_wait_p95_seconds",
            "Wait for a pool connection, p95 over the recent acquisitions.",
            p.wait_p95_ms / 1000,
        ),
        (
            "rawdb_pool_acquire_wait_p99_seconds",
            "Wait for a pool connection, p99 over the recent acquisitions.",
            p.wait_p99_ms / 1000,
        ),
    ):
        out.family(metric, "gauge", help_text, [(metric, {}, seconds)])
    out.family(
        "rawdb_pool_circuit_state",
        "gauge",
        "1 for the circuit breaker's current state.",
        [
            ("rawdb_pool_circuit_state", {"state": s}, int(p.circuit_state == s))
            for s in CIRCUIT_STATES
        ],
    )


def _file(out: _Out, report: HealthReport) -> None:
    f = report.file
    if f is None:
        return
    for metric, help_text, value in (
        ("rawdb_database_bytes", "Database file size.", f.database_bytes),
        ("rawdb_wal_bytes", "WAL file size.", f.wal_bytes),
        ("rawdb_freelist_pages", "Unused pages inside the database file.", f.freelist_pages),
    ):
        out.family(metric, "gauge", help_text, [(metric, {}, value)])
    states: dict[tuple[str, str], int] = {}
    for part in f.partitions:
        states[(part.base, part.state)] = states.get((part.base, part.state), 0) + 1
    out.family(
        "rawdb_partitions",
        "gauge",
        "Tables of the partition registry by family and state.",
        [
            ("rawdb_partitions", {"family": family, "state": state}, n)
            for (family, state), n in sorted(states.items())
        ],
    )
    out.family(
        "rawdb_partition_rows",
        "gauge",
        "Rows of each partition table as the last ANALYZE counted them.",
        [
            ("rawdb_partition_rows", {"table": p.name, "family": p.base}, p.rows)
            for p in f.partitions
            if p.rows is not None
        ],
    )
    out.family(
        "rawdb_schema_version",
        "gauge",
        "The newest applied migration of each set.",
        [("rawdb_schema_version", {"set": s}, v) for s, v in sorted(f.schema_versions.items())],
    )
    if f.tables:
        out.family(
            "rawdb_table_bytes",
            "gauge",
            "Bytes per table or index (dbstat).",
            [
                ("rawdb_table_bytes", {"name": t.name, "table": t.table, "kind": t.kind}, t.bytes)
                for t in f.tables
            ],
        )


def _histogram(
    name: str,
    labels: dict[str, str],
    buckets: Iterable[tuple[str, int]],
    total: float,
    count: int,
) -> list[Sample]:
    samples: list[Sample] = [(f"{name}_bucket", {**labels, "le": le}, n) for le, n in buckets]
    samples.append((f"{name}_sum", labels, total))
    samples.append((f"{name}_count", labels, count))
    return samples


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
