"""rawdb monitor: the health report as a readable table or JSON, once or watching.

    rawdb monitor [--db PATH] [--json | --prometheus] [--advise] [--wait SECONDS]
                  [--watch SECONDS [--count N]]

The report of a separate process has no statement timings of its own: the table shows the
samples the application stored in query_performance (see rawdb.monitor.persist), and the
reports the applications on this file publish (Monitor.start_publishing), with their age; the
status and exit code are the worst of this command's and theirs (stale ones aside). The
database must exist and be migrated.

Exit codes: 0 healthy, 3 degraded, 4 unhealthy, 1 the report could not be made (the database
is missing or refused), 2 usage error; see docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from rawdb import cli_common
from rawdb.cli_common import HEALTH_EXIT
from rawdb.config import Settings
from rawdb.errors import RawdbError, UsageError
from rawdb.monitor import prometheus, published
from rawdb.monitor.advisor import AdvisorReport
from rawdb.monitor.figures import TableSize
from rawdb.monitor.health import HealthReport, Monitor
from rawdb.monitor.persist import recent_summary
from rawdb.monitor.server import ServerFigures
from rawdb.monitor.thresholds import Status, worst
from rawdb.monitor.upkeep import advise_pool
from rawdb.pool import Pool

PROG = "rawdb monitor"
EXIT = HEALTH_EXIT
COMMON = cli_common.Common(database_alias=True, json=False)


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = cli_common.Parser(prog=prog, description=__doc__)
    COMMON.add(p, top=True)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the report as JSON")
    form.add_argument("--prometheus", action="store_true", help="print Prometheus text")
    p.add_argument("--advise", action="store_true", help="also run the query advisor")
    p.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS")
    p.add_argument(
        "--count", type=cli_common.positive_int, help="with --watch: stop after this many reports"
    )
    return p


def _main(argv: Sequence[str] | None, out: TextIO | None, prog: str) -> int:
    p = parser(prog)
    args = cli_common.parse(p, argv)
    if args.watch is not None and not args.watch > 0:  # also refuses NaN
        p.error("--watch needs a number of seconds greater than 0")
    try:
        settings = cli_common.settings_for(args)
        return asyncio.run(_run(settings, args, out))
    except RawdbError as exc:
        return cli_common.fail(exc, prog)
    except KeyboardInterrupt:  # the way to stop --watch
        return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, *, prog: str = PROG) -> int:
    """``rawdb monitor``; returns the health's exit code (a usage error raises SystemExit(2))."""
    return cli_common.run(lambda given: _main(given, out, prog), argv)


def _published(settings: Settings) -> list[published.Published]:
    """The reports other processes published beside the file (none on a server: see
    Monitor.start_publishing)."""
    if settings.dialect != "sqlite":
        return []
    return [p for p in published.read_all(Path(settings.database)) if p.pid != os.getpid()]


async def _run(settings: Settings, args: argparse.Namespace, out: TextIO | None) -> int:
    if args.advise and settings.dialect != "sqlite":
        raise UsageError(
            "--advise reads SQLite's query plans; on PostgreSQL the report's server section "
            "lists the slowest statements (pg_stat_statements), and EXPLAIN shows their plans"
        )
    async with Pool.open(settings) as pool, Monitor(pool) as monitor:
        await monitor.measure_sizes()  # the operator asked: the first report has them all
        shown = 0
        while True:
            report = await monitor.report()
            advice = await advise_pool(pool) if args.advise else None
            stored = await recent_summary(pool)
            apps = _published(settings)
            status = overall(report, apps)
            if args.json:
                data: dict[str, Any] = report.model_dump(mode="json")
                data["own_status"], data["status"] = report.status, status
                data["published"] = [p.as_json() for p in apps]
                data["stored_statements"] = stored
                if advice is not None:
                    data["advice"] = asdict(advice)
                text = json.dumps(data, indent=2) + "\n"
            elif args.prometheus:
                text = prometheus.render(report)
            else:
                text = render_table(report, stored, advice, apps)
            written = cli_common.emit(text, out)
            shown += 1
            done = args.count is not None and shown >= args.count
            if args.watch is None or done or not written:  # not written: the reader has gone
                return EXIT[status]
            await asyncio.sleep(args.watch)


def overall(report: HealthReport, apps: list[published.Published]) -> Status:
    """This command's status and that of every application whose report is fresh."""
    return worst([report.status, *(app.status for app in apps if not app.stale)])


def _largest(tables: list[TableSize]) -> list[str]:
    top = sorted(tables, key=lambda t: -t.bytes)[:10]
    if not top:
        return []
    rows = [[t.name, t.table, t.kind, _mb(t.bytes)] for t in top]
    return ["", *_table(["largest", "table", "kind", "size"], rows)]


def _server_lines(s: ServerFigures) -> list[str]:
    oldest = "none" if s.oldest_transaction_s is None else f"{s.oldest_transaction_s:.1f} s"
    hits = "n/a" if s.cache_hit_ratio is None else f"{s.cache_hit_ratio:.1%}"
    lines = [
        f"server: {s.database}: {_mb(s.database_bytes)}, {s.sessions} sessions "
        f"({s.rawdb_sessions} rawdb), {s.waiting_locks} waiting locks, oldest transaction "
        f"{oldest}, cache hits {hits}",
    ]
    lines += _largest(s.tables)
    if s.statements:
        lines.append("")
        lines += _table(
            ["statement (pg_stat_statements)", "calls", "mean ms", "total s"],
            [
                [
                    " ".join(q.query.split())[:60],
                    str(q.calls),
                    f"{q.mean_ms:.3g}",
                    f"{q.total_seconds:.3g}",
                ]
                for q in s.statements
            ],
        )
    elif s.statements_note:
        lines.append(f"statements: {s.statements_note}")
    return lines


def render_table(
    report: HealthReport,
    stored: list[dict[str, Any]],
    advice: AdvisorReport | None,
    apps: list[published.Published] | None = None,
) -> str:
    """The report as aligned text for a terminal (with the applications' published ones)."""
    apps = apps or []
    status = overall(report, apps)
    lines = [f"rawdb health: {status.upper()}  ({report.generated_at:%Y-%m-%d %H:%M:%S} UTC)"]
    if apps:
        lines += ["", "applications on this file (their own reports):"]
        for app in apps:
            said = f"stale, {app.why_stale}" if app.stale else f"{app.age_s:.1f} s ago"
            lines.append(f"  pid {app.pid} on {app.host}: {app.status.upper()} ({said})")
            for check in app.report.get("checks", []):
                if check.get("status") != "healthy":
                    lines.append(f"    {check.get('name')}: {check.get('reason')}")
        lines += ["", f"this command's own view: {report.status.upper()}"]
    lines.append("")
    lines += _table(
        ["check", "status", "reason"], [[c.name, c.status, c.reason] for c in report.checks]
    )
    p = report.pool
    lines += [
        "",
        f"pool: {p.in_use}/{p.size} in use, {p.waiting} waiting, "
        f"wait p95 {p.wait_p95_ms:g} ms, timeouts {p.timeouts}, circuit {p.circuit_state}",
    ]
    f = report.file
    if f is not None:
        growth = "n/a" if f.growth_bytes_per_hour is None else _mb(f.growth_bytes_per_hour) + "/h"
        lines.append(
            f"file: {_mb(f.database_bytes)} (on disk {_mb(f.file_bytes)}), WAL {_mb(f.wal_bytes)}, "
            f"free pages {f.freelist_pages}, growth {growth}"
        )
        lines += _largest(f.tables)
    if report.server is not None:
        lines += _server_lines(report.server)
    if stored:
        lines.append("")
        lines += _table(
            ["statement (stored samples, last hour)", "samples", "errors", "p95 ms"],
            [[s["name"], str(s["samples"]), str(s["errors"]), f"{s['p95_ms']:g}"] for s in stored],
        )
    if report.alerts:
        lines += ["", "alerts:"] + [
            f"  {a.status}: {a.check} {a.subject} {a.message}" for a in report.alerts
        ]
    if advice is not None:
        lines += ["", "advisor:"]
        lines += [f"  {finding}" for finding in advice.findings if finding.severity != "info"]
        lines += [
            f"  suggest{' (verified)' if s.verified else ''}: {s.ddl}" for s in advice.suggestions
        ]
        lines += [f"  note: {note}" for note in advice.notes]
        if not advice.findings and not advice.suggestions:
            lines.append("  every named statement seeks")
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*row) for row in rows
    ]


def _mb(value: float) -> str:
    return f"{value / 1_000_000:.2f} MB"
