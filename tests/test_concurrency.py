"""Several processes on one database at once: ingest, readers, migrators, maintenance.
Nothing fails with 'database is locked', and the totals add up."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rawdb import Migrator, Pool, Settings, TickRow
from rawdb.partitions import move_default
from rawdb.queries import ticks
from reliability import record

CHILD = Path(__file__).with_name("concurrency_child.py")


def seed(db: Path) -> None:
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO instruments (id, symbol, name, type, status, created_at, updated_at) "
            "VALUES (?, ?, 'x', 'future', 'active', '2026-01-01', '2026-01-01')",
            [(1, "ES"), (2, "NQ"), (3, "CL")],
        )


@pytest.mark.slow
def test_ingest_readers_and_migrators_at_once(tmp_path: Path) -> None:
    """Two ingesters, three readers, two migrators and a partition maintenance process run
    together without lock errors."""
    db = tmp_path / "busy.sqlite3"
    seed(db)
    commands = [["ingest", "40"]] * 2 + [["read", "4"]] * 3 + [["migrate", "15"]] * 2
    commands += [["maintain", "20"]]
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), str(db), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    fatal = [r["fatal"] for r in results if "fatal" in r]
    errors = [e for r in results for e in r.get("errors", [])]
    written = sum(r.get("written", 0) for r in results)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM market_data").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    reads = sum(r.get("reads", 0) for r in results)
    ok = not fatal and not errors and stored == written == 80_000 and integrity == "ok"
    ok = ok and all(r.get("monotonic", True) for r in results) and reads > 0
    record(
        "2 ingest + 3 reader + 2 migrator + 1 partition-maintenance processes at once",
        "no 'database is locked' or other error anywhere; 80,000 ticks stored; readers saw "
        "only growth; integrity_check ok",
        ok=ok,
    )
    assert ok, (fatal, errors[:3], stored, written)


ROUNDS = 20
FEED_BATCHES = 5
OLD_MONTH = datetime(2025, 12, 10, tzinfo=UTC)
OLD_TICKS = 3_000


def _cli(db: Path, module: str, *args: str) -> list[str]:
    flag = "--database" if module == "rawdb.monitor" else "--db"
    return [sys.executable, "-m", module, flag, str(db), *args]


def seed_old_month(db: Path) -> None:
    """December 2025 in its own month table: what the rounds archive and restore in turn."""

    async def write() -> None:
        async with Pool.open(Settings(database=db)) as pool:
            rows = [
                TickRow(1 + n % 3, OLD_MONTH + timedelta(seconds=n), 90.0, n)
                for n in range(OLD_TICKS)
            ]
            await ticks.insert_ticks(pool, rows)
            await move_default(pool, "market_data")  # a past month goes to the default table

    asyncio.run(write())


@pytest.mark.slow
def test_rounds_of_every_process_beside_an_ingest(tmp_path: Path) -> None:
    """Each round, while one process ingests (its first round crosses a month boundary):
    programs that open, read and close the file, `rawdb.monitor`, `partitions maintain`,
    `migrate status`, and `partitions archive` or `restore` of an old month. After each round
    every acknowledged tick is stored, the old month is where the last command put it,
    integrity_check is ok, and no process printed a traceback."""
    db = tmp_path / "rounds.sqlite3"
    seed(db)
    seed_old_month(db)
    acknowledged = 0
    failures: list[str] = []
    for round_ in range(ROUNDS):
        archive_step = "archive" if round_ % 2 == 0 else "restore"
        commands = [
            [sys.executable, str(CHILD), str(db), "feed", str(acknowledged), str(FEED_BATCHES)],
            [sys.executable, str(CHILD), str(db), "peek", "1.5"],
            [sys.executable, str(CHILD), str(db), "peek", "1.5"],
            _cli(db, "rawdb.monitor", "--json"),
            _cli(db, "rawdb.partitions", "maintain"),
            _cli(db, "rawdb.migrate", "status"),
            _cli(db, "rawdb.partitions", archive_step, "--family", "market_data", "2025-12"),
        ]
        procs = [
            subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in commands
        ]
        outputs = [proc.communicate(timeout=300) for proc in procs]
        for command, proc, (_out, err) in zip(commands, procs, outputs, strict=True):
            name = " ".join(command[2:5])
            allowed = (0, 3) if "rawdb.monitor" in command else (0,)  # 3: degraded
            if proc.returncode not in allowed or "Traceback" in err:
                failures.append(f"round {round_} {name}: exit {proc.returncode}: {err[-800:]}")
        acks = [line for line in outputs[0][0].splitlines() if line.startswith("ack ")]
        acknowledged += int(acks[-1].split()[1]) if acks else 0
        with sqlite3.connect(db) as conn:
            fed = conn.execute(
                "SELECT count(*) FROM market_data WHERE timestamp >= '2026-01-01'"
            ).fetchone()[0]
            old = conn.execute(
                "SELECT count(*) FROM market_data WHERE timestamp < '2026-01-01'"
            ).fetchone()[0]
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        expected_old = 0 if archive_step == "archive" else OLD_TICKS
        ok = (
            fed == acknowledged == (round_ + 1) * FEED_BATCHES * 1_000
            and old == expected_old
            and integrity == "ok"
        )
        if not ok:
            failures.append(f"round {round_}: {fed=} {acknowledged=} {old=} {integrity=}")
        record(
            "a round of ingest + 2 open-read-close programs + monitor + partitions maintain + "
            "migrate status + archive or restore, all at once",
            "every acknowledged tick stored; the archived month gone or back as the command "
            "said; integrity_check ok; every command exits cleanly with no traceback",
            ok=ok and not failures,
        )
    assert not failures, "\n".join(failures)
