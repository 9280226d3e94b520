"""Logging belongs to the application: an app that logs JSON lines keeps doing so after it
opens a pool and runs rawdb's CLI entry points in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
import asyncio, sys
from datetime import UTC, datetime
import structlog
structlog.configure(
    processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
    logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
)
from rawdb import Pool, Settings, TickRow
from rawdb.migrate.cli import main as migrate_main
from rawdb.monitor.cli import main as monitor_main
from rawdb.partitions.cli import main as partitions_main
from rawdb.queries import instruments, ticks

async def feed(db):
    async with Pool.open(Settings(database=db), migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        await ticks.insert_ticks(pool, [TickRow(es.id, datetime.now(UTC), 1.0, 1)])

db = sys.argv[1]
structlog.get_logger().info("app.started")
asyncio.run(feed(db))
codes = [
    migrate_main(["--db", db, "status"]),
    partitions_main(["--db", db, "status"]),
    partitions_main(["--db", db, "maintain"]),
    monitor_main(["--database", db, "--json"]),
]
structlog.get_logger().info("app.done", codes=codes)
"""


def test_an_applications_json_logging_survives_rawdb(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    result = subprocess.run(
        [sys.executable, "-c", APP, str(db)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every stderr line is a JSON object
    names = [e["event"] for e in events]
    assert names[0] == "app.started" and names[-1] == "app.done", names
    assert "pool.opened" in names  # rawdb's own events, rendered by the app's configuration
    assert any(e.get("component") == "migrate" for e in events)
    assert events[-1]["codes"][:3] == [0, 0, 0], events[-1]


STDLIB_APP = """
import asyncio, logging, sys
from pathlib import Path
from rawdb import Pool, Settings
from rawdb.queries import instruments

async def main() -> None:
    async with Pool.open(Settings(database=Path(sys.argv[1])), migrate=True) as pool:
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    print("done")

if len(sys.argv) > 2:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s|%(message)s")
asyncio.run(main())
"""


@pytest.mark.parametrize("configured", [False, True])
def test_an_application_without_structlog_gets_stdlib_logging(
    tmp_path: Path, configured: bool
) -> None:
    """An app that never configures structlog: rawdb writes nothing to its stdout, and its
    info events reach the standard library's loggers named rawdb.<component>, shown once the
    app configures logging (and not before: a library's info lines are the app's choice)."""
    args = [sys.executable, "-c", STDLIB_APP, str(tmp_path / "app.sqlite3")]
    done = subprocess.run(
        args + (["log"] if configured else []),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    if configured:
        assert "rawdb.pool|pool.opened database=" in done.stderr
        assert "rawdb.migrate|migration.applied" in done.stderr
    else:
        assert done.stderr == ""
