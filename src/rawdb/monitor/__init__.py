"""Monitoring: statement metrics, pool and file figures, health report, alerts, query advisor.

    monitor = Monitor(pool)                  # attaches its Metrics as the pool's observer
    monitor.alerts.register(broadcast)       # called with each Alert (sync or async)
    report = await monitor.report()          # HealthReport; report.model_dump(mode="json")
    text = prometheus.render(report)         # Prometheus text exposition
    prometheus.ReportCollector()             # the same families, in an app's own registry
    advice = await advise_pool(pool)         # plans of every named statement, judged
    await monitor.close()                    # before the pool's; or `async with Monitor(pool)`

``python -m rawdb.monitor`` prints the report as a table or JSON, once or every N seconds.
"""

from rawdb.monitor.advisor import AdvisorReport, Finding, Suggestion, UnusedIndex, advise
from rawdb.monitor.health import HealthReport, Monitor
from rawdb.monitor.metrics import Metrics
from rawdb.monitor.thresholds import Alert, AlertManager, Check, Thresholds

__all__ = [
    "AdvisorReport",
    "Alert",
    "AlertManager",
    "Check",
    "Finding",
    "HealthReport",
    "Metrics",
    "Monitor",
    "Suggestion",
    "Thresholds",
    "UnusedIndex",
    "advise",
]
