"""Crash tests of ingest: a real process killed with SIGKILL at random points, many times."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crash_child import BATCH
from reliability import record

CHILD = Path(__file__).with_name("crash_child.py")
REPETITIONS = 8


def run_and_kill(db: Path, mode: str, rng: random.Random) -> int:
    """Start the child, kill it after a random number of acknowledgements; the last ack seen."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    wanted = rng.randint(1, 12)
    last = -1
    for _ in range(wanted):
        line = proc.stdout.readline()
        if not line:
            break
        last = int(line.split()[1])
    time.sleep(rng.uniform(0, 0.05))  # land somewhere inside the next write
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return last


def stored(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [r[0] for r in conn.execute("SELECT volume FROM market_data ORDER BY volume")]


def month_tables(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        names = "SELECT count(*) FROM sqlite_schema WHERE name GLOB 'market_data_2???_*'"
        return int(conn.execute(names).fetchone()[0])


@pytest.mark.slow
def test_bulk_insert_survives_sigkill(tmp_path: Path) -> None:
    """Every acknowledged batch is present after a kill, no batch is partial, integrity is ok."""
    rng = random.Random(11)
    crossed = 0
    for repetition in range(REPETITIONS):
        db = tmp_path / f"bulk{repetition}.sqlite3"
        last = run_and_kill(db, "bulk", rng)
        volumes = stored(db)
        batches = len(volumes) // BATCH
        ok = (
            len(volumes) % BATCH == 0
            and volumes == list(range(len(volumes)))
            and batches >= last + 1
        )
        record(
            "SIGKILL during bulk insert (batches crossing month boundaries)",
            "acknowledged batches all present, no partial batch, integrity_check ok",
            ok=ok,
        )
        assert ok, (repetition, last, len(volumes))
        crossed += month_tables(db) > 1
    assert crossed, "no run wrote past a month boundary"


@pytest.mark.slow
def test_streaming_writer_survives_sigkill(tmp_path: Path) -> None:
    """Every flushed tick is present after a kill and what is stored is a gap-free prefix."""
    rng = random.Random(12)
    crossed = 0
    for repetition in range(REPETITIONS):
        db = tmp_path / f"stream{repetition}.sqlite3"
        last = run_and_kill(db, "stream", rng)
        volumes = stored(db)
        ok = volumes == list(range(len(volumes))) and len(volumes) >= max(0, last)
        record(
            "SIGKILL during streaming ingest (flushes crossing month boundaries)",
            "every flushed tick present, stored ticks a gap-free prefix, integrity_check ok",
            ok=ok,
        )
        assert ok, (repetition, last, len(volumes))
        crossed += month_tables(db) > 1
    assert crossed, "no run wrote past a month boundary"
