"""The README's first command: the demo runs end to end on a fresh and on an existing database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def run_demo(db: Path, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "rawdb.demo", "--db", str(db), "--ticks", "20000", "--json", *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    return json.loads(out)


def test_demo_does_every_step(tmp_path: Path) -> None:
    """A fresh database is migrated, fed, evaluated, read, and the bad tick is hidden."""
    db = tmp_path / "demo.sqlite3"
    report = run_demo(db)
    assert report["instruments"] == 6
    assert report["rules"] == 12
    assert report["feed"]["ticks"] == 20000
    assert report["alerts"]["evaluated"] == 12
    assert set(report["reads"]["latest"]) == {"ES", "NQ", "YM", "RTY", "CL", "GC"}
    bad = report["bad_tick"]
    assert bad["hidden"] and bad["restored"]
    assert bad["latest_after_soft_delete"] != bad["bad_price"]
    archive = report["archive"]
    assert archive["action"] == "archived"
    assert archive["rows"] > 0
    assert report["health"]["status"] in {"healthy", "degraded"}
    states = {p["table"]: p["state"] for p in report["partitions"]}
    assert "archived" in states.values()
    assert "active" in states.values()
    with sqlite3.connect(db) as conn:
        live = conn.execute("SELECT count(*) FROM market_data WHERE deleted_at IS NULL")
        assert live.fetchone()[0] + archive["rows"] == 20000
        assert conn.execute("SELECT count(*) FROM alert_logs").fetchone()[0] == 12
    table = Path(archive["archive_file"]).stem
    with sqlite3.connect(archive["archive_file"]) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == archive["rows"]


def test_demo_runs_again_on_the_same_database(tmp_path: Path) -> None:
    """A second run reuses instruments and rules and adds its ticks."""
    db = tmp_path / "demo.sqlite3"
    first = run_demo(db, "--seed", "1")
    again = run_demo(db, "--seed", "2")
    assert again["instruments"] == 6
    assert again["rules"] == 12
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM instruments").fetchone()[0] == 6
        stored = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
    archived = first["archive"]["rows"] + (again["archive"].get("rows") or 0)
    assert stored + archived == 40002  # two runs' ticks and two bad prints, none lost
