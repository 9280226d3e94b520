"""The operator's `rawdb monitor` on the application's file reports what the application sees:
the application publishes its report beside the database, the command reads it with its age,
and a report whose process is gone no longer counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rawdb import Migrator, Settings
from rawdb.monitor import published

APP = """
import asyncio, sys
from pathlib import Path
from rawdb import Pool, Settings
from rawdb.monitor import Monitor, Thresholds


async def main(db):
    async with Pool.open(Settings(database=db)) as pool:
        # A limit the file is already past: this application's report is degraded.
        monitor = Monitor(pool, thresholds=Thresholds(database_mb=0.0001))
        monitor.start_publishing(every=0.3)
        await asyncio.sleep(0.5)
        print("publishing", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() == "stop":
            await monitor.stop_publishing()
            print("stopped", flush=True)


asyncio.run(main(Path(sys.argv[1])))
"""


def monitor_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawdb", "monitor", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_app(db: Path, tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "app.py"
    script.write_text(APP)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "publishing"
    return proc


def test_the_command_reports_the_applications_view(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    app = start_app(db, tmp_path)
    try:
        shown = monitor_cli(db, "--json")
        text = monitor_cli(db)
    finally:
        assert app.stdin is not None and app.stdout is not None
        app.stdin.write("stop\n")
        app.stdin.flush()
        assert app.stdout.readline().strip() == "stopped"
        app.wait(timeout=30)
    data = json.loads(shown.stdout)
    assert shown.returncode == 3, shown.stderr  # degraded: the application's view
    assert data["own_status"] == "healthy" and data["status"] == "degraded"
    (entry,) = data["published"]
    assert entry["pid"] == app.pid and not entry["stale"] and entry["age_s"] < 5
    assert entry["status"] == "degraded"
    assert text.returncode == 3
    assert f"pid {app.pid} on " in text.stdout and "database_size:" in text.stdout
    # Stopped cleanly: its report is withdrawn, and the command is back to its own view.
    assert published.read_all(db) == []
    assert monitor_cli(db).returncode == 0


def test_a_report_whose_process_is_gone_no_longer_counts(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    app = start_app(db, tmp_path)
    os.kill(app.pid, signal.SIGKILL)
    app.wait(timeout=30)
    time.sleep(0.1)
    (left,) = published.read_all(db)
    assert left.pid == app.pid and left.stale and "gone" in left.why_stale
    shown = monitor_cli(db)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"pid {app.pid}" in shown.stdout and "stale, process" in shown.stdout


def test_files_that_are_not_reports_are_ignored(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    folder = published.folder(db)
    folder.mkdir()
    (folder / "junk.json").write_text("{not json")
    (folder / "other.json").write_text(json.dumps({"pid": 1, "host": "h", "report": {}}))
    bogus = {"pid": 1, "host": "h", "written_at": 0, "every_s": 1, "report": {"status": "odd"}}
    (folder / "bogus.json").write_text(json.dumps(bogus))
    assert published.read_all(db) == []
