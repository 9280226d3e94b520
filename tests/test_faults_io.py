"""I/O errors during commit, injected below SQLite: a clear error, nothing committed lost,
and the writer recovers once the device works again without dropping what was queued."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reliability import record

HERE = Path(__file__).parent
ROUNDS = 30


@pytest.mark.slow
def test_io_errors_during_commit_then_recovery(fault_library: Path, tmp_path: Path) -> None:
    """While writes fail with EIO, flush raises a rawdb error; afterwards every tick is stored
    exactly once and the file is intact."""
    db = tmp_path / "eio.sqlite3"
    trigger = tmp_path / "fail-now"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "eio_child.py"), str(db), str(ROUNDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LD_PRELOAD": str(fault_library), "RAWDB_EIO_TRIGGER": str(trigger)},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.strip())
        oks = sum(1 for seen in lines if seen.startswith("ok"))
        if oks == 5 and not trigger.exists() and not any(s.startswith("error") for s in lines):
            trigger.touch()  # the device starts failing
            failing_since = time.monotonic()
        if trigger.exists() and time.monotonic() - failing_since > 1.0:
            trigger.unlink()  # and works again a second later
        if line.startswith("done"):
            break
    proc.wait(timeout=120)
    errors = [seen for seen in lines if seen.startswith("error")]
    _, committed, rejected = lines[-1].split()
    with sqlite3.connect(db) as conn:
        volumes = [r[0] for r in conn.execute("SELECT volume FROM market_data ORDER BY volume")]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    total = ROUNDS * 2_000
    ok = (
        bool(errors)
        # the disk I/O error itself, then the breaker refusing at once while the device fails
        and {e.split()[1] for e in errors} <= {"DiskIOError", "CircuitOpen"}
        and int(committed) == total
        and rejected == "0"
        and volumes == list(range(total))
        and integrity == "ok"
    )
    record(
        "I/O errors (EIO on write and fsync, injected under SQLite) during commits, then recovery",
        "flush raises a rawdb error while the device fails; afterwards every tick stored once, "
        "none rejected, integrity_check ok",
        ok=ok,
    )
    assert ok, (
        sorted({e.split()[1] for e in errors}),
        committed,
        rejected,
        len(volumes),
        integrity,
        proc.stderr.read()[-2000:] if proc.stderr else "",
    )


READ_ONLY_CYCLES = 5
RECOVERY_LIMIT_S = 5.0


@pytest.mark.slow
def test_file_system_read_only_then_back(fault_library: Path, tmp_path: Path) -> None:
    """Five times, the file system turns read-only under the streaming writer (writes and
    read-write opens fail with EROFS, so SQLite reopens the writer read-only) and comes back
    a second later: ingest resumes within seconds each time, nothing lost or doubled."""
    db = tmp_path / "erofs.sqlite3"
    trigger = tmp_path / "read-only-now"
    rounds = 80
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "eio_child.py"), str(db), str(rounds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LD_PRELOAD": str(fault_library), "RAWDB_EROFS_TRIGGER": str(trigger)},
    )
    assert proc.stdout is not None
    watchdog = threading.Timer(120, proc.kill)  # a writer that never recovers fails the test
    watchdog.start()
    lines: list[str] = []
    recoveries: list[float] = []
    oks_since = 0
    read_only_since: float | None = None
    back_since: float | None = None
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith("done"):
            break
        now = time.monotonic()
        if line.startswith("ok"):
            oks_since += 1
            if back_since is not None:
                recoveries.append(now - back_since)
                back_since = None
        if (
            read_only_since is None
            and back_since is None
            and oks_since >= 3
            and len(recoveries) < READ_ONLY_CYCLES
        ):
            trigger.touch()  # the file system turns read-only
            read_only_since, oks_since = now, 0
        if read_only_since is not None and now - read_only_since > 1.0:
            trigger.unlink()  # and writable again
            read_only_since, back_since = None, now
    proc.wait(timeout=120)
    watchdog.cancel()
    assert lines and lines[-1].startswith("done"), ("the writer never finished", lines[-5:])
    errors = [seen for seen in lines if seen.startswith("error")]
    _, committed, rejected = lines[-1].split()
    with sqlite3.connect(db) as conn:
        volumes = [r[0] for r in conn.execute("SELECT volume FROM market_data ORDER BY volume")]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    total = rounds * 2_000
    kinds = {e.split()[1] for e in errors}
    for seconds in recoveries:
        record(
            "file system read-only for a second under the streaming writer, then writable again",
            f"writes fail with a rawdb error meanwhile; ingest resumes within "
            f"{RECOVERY_LIMIT_S:g} s of the file system returning; at the end every tick "
            "stored once, none rejected, integrity_check ok",
            ok=seconds <= RECOVERY_LIMIT_S
            and int(committed) == total
            and volumes == list(range(total))
            and integrity == "ok",
        )
    assert len(recoveries) == READ_ONLY_CYCLES, (recoveries, lines[-5:])
    assert max(recoveries) <= RECOVERY_LIMIT_S, recoveries
    assert kinds <= {"DiskIOError", "ReadOnlyDatabase", "CircuitOpen"}, kinds
    assert errors, "no write failed while the file system was read-only"
    assert int(committed) == total and rejected == "0", (committed, rejected)
    assert volumes == list(range(total)) and integrity == "ok", (len(volumes), integrity)
