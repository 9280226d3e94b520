"""The health report as Prometheus metric families, exposed by ``prometheus_client``.

Two ways in. ``render(await monitor.report())`` is the text for ``/metrics``, served with
content type :data:`CONTENT_TYPE`. Or an application that already has its own
``prometheus_client`` registry registers a :class:`ReportCollector` in it, calls
``collector.update(report)`` as reports come, and its ``/metrics`` carries rawdb's families
beside its own. Both go through :meth:`ReportCollector.collect`.

As Prometheus' users expect: latencies are histograms since the process started, with the same
buckets everywhere (so ``sum by (le)`` aggregates workers and ``histogram_quantile`` gives the
p95); rows, statements, errors and bytes are counters for ``rate()``, not pre-computed rates;
base units (seconds, bytes); the label values of a family sum to its whole (connections in use
and idle, never a "total" beside them). ``promtool check metrics`` passes on every output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from rawdb.backend.sqlite.driver import SQLITE_VERSION
from rawdb.monitor.figures import PartitionFigure, TableSize
from rawdb.monitor.health import HealthReport
from rawdb.version import VERSION

# generate_latest writes the 0.0.4 text format (legacy names); the library's own HTTP handlers
# pair it with this type, not with CONTENT_TYPE_LATEST (1.0.0, which allows UTF-8 names).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
STATUS_VALUES = {"healthy": 0, "degraded": 1, "unhealthy": 2}
CIRCUIT_STATES = ("closed", "half_open", "open")

Rows = Iterable[tuple[Sequence[str], float]]
"""(label values, value) for each sample of a family, in the order of its label names."""

Buckets = Sequence[tuple[str, float]]


def render(report: HealthReport, *, worker: str | None = None) -> str:
    """Every figure of ``report`` as Prometheus text, ending with a newline.

    ``worker`` labels every sample (``worker="<pid>"``): an application serving ``/metrics``
    from several processes behind one port (uvicorn's workers) passes ``str(os.getpid())``, so
    each process's counters stay their own series; scraped without it, one worker's smaller
    count after another's would read as a counter reset.
    """
    collector = ReportCollector(worker=worker)
    collector.update(report)
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode("utf-8")


class ReportCollector:
    """rawdb's families from the latest report, for an application's own registry.

    ``registry.register(collector)`` once; ``collector.update(report)`` with each new report
    (a background task every few seconds, say). A scrape reads the report it last got: nothing
    before the first update, never a half-updated one.
    """

    def __init__(self, *, worker: str | None = None) -> None:
        self._worker = worker
        self._report: HealthReport | None = None

    def update(self, report: HealthReport) -> None:
        # One reference swap: a scrape thread (start_http_server's) sees the old or the new.
        self._report = report

    def collect(self) -> Iterator[Metric]:
        report = self._report
        if report is None:
            return
        yield from _Families(report, self._worker).build()


def _one(value: float) -> Rows:
    return [((), value)]


class _Families:
    """The families of one report; every one ends with the ``worker`` label when given."""

    def __init__(self, report: HealthReport, worker: str | None) -> None:
        self.report = report
        self.extra_names: tuple[str, ...] = () if worker is None else ("worker",)
        self.extra_values: tuple[str, ...] = () if worker is None else (worker,)
        self.out: list[Metric] = []

    def build(self) -> list[Metric]:
        info = InfoMetricFamily(  # exposed as rawdb_build_info, a gauge of 1
            "rawdb_build",
            "rawdb's version and the SQLite library it runs on (the value is always 1).",
            labels=self.extra_names,
        )
        info.add_metric(self.extra_values, {"version": VERSION, "sqlite_version": SQLITE_VERSION})
        self.out.append(info)
        report = self.report
        self.gauge(
            "rawdb_health_status",
            "Overall health: 0 healthy, 1 degraded, 2 unhealthy.",
            _one(STATUS_VALUES[report.status]),
        )
        self.gauge(
            "rawdb_health_check_status",
            "Each health check: 0 healthy, 1 degraded, 2 unhealthy.",
            [((c.name,), STATUS_VALUES[c.status]) for c in report.checks],
            ("check",),
        )
        self.statements()
        self.writer()
        self.pool()
        self.file()
        self.server()
        self.gauge("rawdb_alerts_active", "Alerts currently raised.", _one(len(report.alerts)))
        return self.out

    def gauge(self, name: str, help_text: str, rows: Rows, labels: Sequence[str] = ()) -> None:
        family = GaugeMetricFamily(name, help_text, labels=[*labels, *self.extra_names])
        for values, value in rows:
            family.add_metric([*values, *self.extra_values], value)
        self.out.append(family)

    def counter(self, name: str, help_text: str, rows: Rows, labels: Sequence[str] = ()) -> None:
        family = CounterMetricFamily(name, help_text, labels=[*labels, *self.extra_names])
        for values, value in rows:
            # No created time: the figures start with the process, not at a moment we know,
            # and a _created sample would be a series of its own on every scrape.
            family.add_metric([*values, *self.extra_values], value)
        self.out.append(family)

    def histogram(
        self,
        name: str,
        help_text: str,
        rows: Iterable[tuple[Sequence[str], Buckets, float]],
        labels: Sequence[str] = (),
    ) -> None:
        family = HistogramMetricFamily(name, help_text, labels=[*labels, *self.extra_names])
        for values, buckets, total in rows:
            # The library takes _count from the +Inf bucket; a report without buckets (JSON
            # from before they existed) has seen nothing, which +Inf = 0 says.
            family.add_metric([*values, *self.extra_values], buckets or [("+Inf", 0)], total)
        self.out.append(family)

    def statements(self) -> None:
        statements = self.report.statements
        self.histogram(
            "rawdb_statement_duration_seconds",
            "Statement run time by name, since the process started.",
            [((s.name,), s.buckets, s.total_seconds) for s in statements],
            ("statement",),
        )
        self.counter(
            "rawdb_statement_errors_total",
            "Statements the database failed, by name.",
            [((s.name,), s.errors) for s in statements],
            ("statement",),
        )
        self.counter(
            "rawdb_statement_refused_total",
            "Statements refused for a constraint the caller broke (a duplicate key, a missing "
            "parent), by name.",
            [((s.name,), s.refused) for s in statements],
            ("statement",),
        )
        self.counter(
            "rawdb_statement_timeouts_total",
            "Statements interrupted at their read deadline (also counted in errors), by name.",
            [((s.name,), s.timeouts) for s in statements],
            ("statement",),
        )
        self.counter(
            "rawdb_statement_rows_total",
            "Rows returned or changed, by name.",
            [((s.name,), s.rows) for s in statements],
            ("statement",),
        )

    def writer(self) -> None:
        w = self.report.writer
        self.counter(
            "rawdb_rows_inserted_total",
            "Rows inserted since the process started (rate() gives rows per second).",
            _one(w.rows_inserted_total),
        )
        self.counter(
            "rawdb_ticks_rejected_total",
            "Ticks the streaming writer set aside for good (later than the future tolerance, "
            "their instrument deleted, their period archived).",
            _one(w.ticks_rejected_total),
        )
        self.histogram(
            "rawdb_commit_duration_seconds",
            "Time of COMMIT.",
            [((), w.commit_buckets, w.commit_seconds_total)],
        )
        self.histogram(
            "rawdb_write_lock_wait_seconds",
            "Wait for the write lock (BEGIN IMMEDIATE).",
            [((), w.lock_wait_buckets, w.lock_wait_seconds_total)],
        )
        self.histogram(
            "rawdb_writer_batch_duration_seconds",
            "Time of one streaming-writer batch.",
            [((), w.batch_buckets, w.batch_seconds_total)],
        )
        self.gauge(
            "rawdb_writer_queue_depth",
            "Rows waiting in the streaming writer's queue.",
            _one(w.queue_depth),
        )

    def pool(self) -> None:
        p = self.report.pool
        self.gauge(
            "rawdb_pool_connections",
            "Pool connections by state (in use and idle add up to the pool's size).",
            [(("in_use",), p.in_use), (("idle",), max(0, p.size - p.in_use))],
            ("state",),
        )
        self.gauge("rawdb_pool_waiting", "Callers waiting for a connection.", _one(p.waiting))
        self.counter(
            "rawdb_pool_acquisitions_total", "Connections handed out.", _one(p.acquisitions)
        )
        self.counter("rawdb_pool_timeouts_total", "Acquisitions that timed out.", _one(p.timeouts))
        self.counter(
            "rawdb_pool_busy_retries_total",
            "Reads retried after SQLITE_BUSY.",
            _one(p.busy_retries),
        )
        self.gauge(
            "rawdb_pool_acquire_wait_p95_seconds",
            "Wait for a pool connection, p95 over the recent acquisitions.",
            _one(p.wait_p95_ms / 1000),
        )
        self.gauge(
            "rawdb_pool_acquire_wait_p99_seconds",
            "Wait for a pool connection, p99 over the recent acquisitions.",
            _one(p.wait_p99_ms / 1000),
        )
        self.gauge(
            "rawdb_pool_circuit_state",
            "1 for the circuit breaker's current state.",
            [((s,), int(p.circuit_state == s)) for s in CIRCUIT_STATES],
            ("state",),
        )

    def file(self) -> None:
        f = self.report.file
        if f is None:
            return
        self.gauge("rawdb_database_bytes", "Database file size.", _one(f.database_bytes))
        self.gauge("rawdb_wal_bytes", "WAL file size.", _one(f.wal_bytes))
        self.gauge(
            "rawdb_freelist_pages",
            "Unused pages inside the database file.",
            _one(f.freelist_pages),
        )
        self.catalogue(f.partitions, f.schema_versions, f.tables)

    def server(self) -> None:
        """A database server's figures: the families a file has where they mean the same
        (size, partitions, schema, table bytes), and the server's own."""
        s = self.report.server
        if s is None:
            return
        self.gauge("rawdb_database_bytes", "Database size.", _one(s.database_bytes))
        self.catalogue(s.partitions, s.schema_versions, s.tables)
        self.gauge("rawdb_server_sessions", "Sessions connected to the database.", _one(s.sessions))
        self.gauge("rawdb_server_rawdb_sessions", "Of which rawdb's own.", _one(s.rawdb_sessions))
        self.gauge(
            "rawdb_server_waiting_locks", "Lock requests waiting right now.", _one(s.waiting_locks)
        )
        if s.oldest_transaction_s is not None:
            self.gauge(
                "rawdb_server_oldest_transaction_seconds",
                "Age of the oldest open transaction of another session.",
                _one(s.oldest_transaction_s),
            )
        if s.cache_hit_ratio is not None:
            self.gauge(
                "rawdb_server_cache_hit_ratio",
                "Shared buffer hits over all block reads.",
                _one(s.cache_hit_ratio),
            )

    def catalogue(
        self,
        partitions: list[PartitionFigure],
        versions: dict[str, int],
        tables: list[TableSize],
    ) -> None:
        states: dict[tuple[str, str], int] = {}
        for part in partitions:
            states[(part.base, part.state)] = states.get((part.base, part.state), 0) + 1
        self.gauge(
            "rawdb_partitions",
            "Tables of the partition registry by family and state.",
            [((family, state), n) for (family, state), n in sorted(states.items())],
            ("family", "state"),
        )
        self.gauge(
            "rawdb_partition_rows",
            "Rows of each partition table as the last ANALYZE counted them.",
            [((p.name, p.base), p.rows) for p in partitions if p.rows is not None],
            ("table", "family"),
        )
        self.gauge(
            "rawdb_schema_version",
            "The newest applied migration of each set.",
            [((s,), v) for s, v in sorted(versions.items())],
            ("set",),
        )
        if tables:
            self.gauge(
                "rawdb_table_bytes",
                "Bytes per table or index (dbstat).",
                [((t.name, t.table, t.kind), t.bytes) for t in tables],
                ("name", "table", "kind"),
            )
