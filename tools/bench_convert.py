"""Benchmark: convert a 1M-tick TradeAssist database through every migration while readers read.

Builds (once, cached under ``.bench-cache/``) a legacy database with ``tools/legacy_fixture.py``,
copies it, switches the copy to WAL (what rawdb's first connection does), starts reader threads
that keep reading ticks and alert logs, and times ``python -m rawdb.migrate --db COPY
--no-backup up`` (or the Python API with ``--api``). Then it checks that every row is still
there (count and order-independent checksum of every table), ``integrity_check`` and
``foreign_key_check``, and prints one table, or one JSON object with ``--json``.

``--index-check`` also measures what migration 0007 is about on the converted copy, at version
7 and rolled back to 6: the latest tick of an instrument, and appending ticks in 10k-row commits.

    python tools/bench_convert.py [--ticks 1000000] [--months 6] [--readers 2] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import legacy_fixture
from rawdb import log
from rawdb.migrate import Migrator

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"
SQL = ROOT / "sql"
LATEST_TICK = (
    "SELECT id, timestamp, price FROM market_data WHERE instrument_id = ? "
    "ORDER BY timestamp DESC LIMIT 1"
)


@dataclass
class ReaderStats:
    """What one reader thread saw while the migrations ran."""

    reads: int = 0
    errors: int = 0
    max_ms: float = 0.0
    p99_ms: float = 0.0
    first_error: str | None = None
    latencies: list[float] = field(default_factory=list, repr=False)


def cached_fixture(ticks: int, months: int, seed: int) -> tuple[Path, float | None]:
    """The cached legacy database for these parameters; built when missing (seconds returned)."""
    fingerprint = hashlib.sha256(
        legacy_fixture.BASELINE.read_bytes() + Path(legacy_fixture.__file__).read_bytes()
    ).hexdigest()[:10]
    path = CACHE / f"legacy-{ticks}-{months}-{seed}-{fingerprint}.sqlite3"
    if path.exists():
        return path, None
    CACHE.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    summary = legacy_fixture.build(partial, ticks=ticks, months=months, seed=seed)
    partial.rename(path)
    return path, summary.seconds


def fresh_copy(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def reader(path: Path, stop: threading.Event, stats: ReaderStats, seed: int) -> None:
    """Point reads of ticks and a count of a rule's alert logs, as fast as the thread can."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    max_tick = conn.execute("SELECT max(id) FROM market_data").fetchone()[0] or 1
    max_rule = conn.execute("SELECT max(id) FROM alert_rules").fetchone()[0] or 1
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.execute(
                "SELECT timestamp, price, bid, ask FROM market_data WHERE id = ?",
                (rng.randint(1, max_tick),),
            ).fetchall()
            conn.execute(
                "SELECT count(*) FROM alert_logs WHERE rule_id = ?", (rng.randint(1, max_rule),)
            ).fetchall()
        except sqlite3.Error as exc:
            stats.errors += 1
            stats.first_error = stats.first_error or str(exc)
            continue
        stats.latencies.append((time.perf_counter() - started) * 1000)
        stats.reads += 1
    conn.close()
    if stats.latencies:
        stats.max_ms = max(stats.latencies)
        ordered = sorted(stats.latencies)
        stats.p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def migrate(path: Path, *, api: bool) -> float:
    """Bring ``path`` to the newest version; wall seconds."""
    started = time.perf_counter()
    if api:
        Migrator(path, SQL, backup=False).up()
    else:
        env = {**os.environ, "RAWDB_LOG_LEVEL": "warning"}
        subprocess.run(
            [sys.executable, "-m", "rawdb.migrate", "--db", str(path), "--no-backup", "up"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
    return time.perf_counter() - started


def checks(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(path)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        violations = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    return integrity, "ok" if not violations else f"{len(violations)} violations"


def checksums(path: Path, names: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """Checksums of every table, or of ``names`` (after 0009 some are views over partitions)."""
    conn = sqlite3.connect(path)
    try:
        if names is None:
            return legacy_fixture.table_checksums(conn)
        return {name: legacy_fixture.table_checksum(conn, name) for name in names}
    finally:
        conn.close()


def latest_tick_ms(path: Path, repeats: int = 50) -> float:
    """Median milliseconds of the latest tick of one instrument, cycling over instruments."""
    conn = sqlite3.connect(path)
    try:
        instruments = [r[0] for r in conn.execute("SELECT id FROM instruments ORDER BY id")]
        times = []
        for n in range(repeats):
            started = time.perf_counter()
            conn.execute(LATEST_TICK, (instruments[n % len(instruments)],)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        conn.close()


def append_rate(path: Path, rows: int = 200_000, batch: int = 10_000) -> float:
    """Rows per second appending ticks after the last one, ``batch`` rows per commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "cache_size=-65536",
            "foreign_keys=ON",
        ):
            conn.execute(f"PRAGMA {pragma}")
        instruments = [r[0] for r in conn.execute("SELECT id FROM instruments")]
        last = {i: conn.execute(LATEST_TICK, (i,)).fetchone()[2] or 100.0 for i in instruments}
        rng = random.Random(11)
        chunks = []
        for offset in range(0, rows, batch):
            chunk = []
            for n in range(offset, offset + batch):
                instrument = rng.choice(instruments)
                price = round(last[instrument] * (1 + rng.gauss(0, 0.0004)), 4)
                last[instrument] = price
                second, micros = divmod(n, 1000)
                chunk.append(
                    (
                        f"2026-12-01 {second // 3600:02d}:{second // 60 % 60:02d}:"
                        f"{second % 60:02d}.{micros * 1000:06d}",
                        instrument,
                        price,
                        rng.randint(1, 40),
                        round(price - 0.0025, 4),
                        round(price + 0.0025, 4),
                    )
                )
            chunks.append(chunk)
        started = time.perf_counter()  # rows are made beforehand: only SQLite is timed
        for chunk in chunks:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO market_data (timestamp, instrument_id, price, volume, bid, ask) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                chunk,
            )
            conn.execute("COMMIT")
        return rows / (time.perf_counter() - started)
    finally:
        conn.close()


def index_check(converted: Path, work: Path) -> dict[str, float]:
    """Latest-tick latency and append rate at version 7 and at version 6."""
    figures: dict[str, float] = {}
    for version in (7, 6):
        copy = fresh_copy(converted, work / f"index-v{version}.sqlite3")
        if version == 6:
            Migrator(copy, SQL, backup=False).down(to=6)
        figures[f"v{version}_latest_tick_ms"] = latest_tick_ms(copy)
        figures[f"v{version}_append_rows_per_s"] = append_rate(copy)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return figures


def run(args: argparse.Namespace) -> dict[str, object]:
    fixture, built_in = cached_fixture(args.ticks, args.months, args.seed)
    work = CACHE / "run"
    work.mkdir(parents=True, exist_ok=True)
    copy = fresh_copy(fixture, work / "convert.sqlite3")
    before = checksums(copy) if args.verify else {}
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()

    stop = threading.Event()
    stats = [ReaderStats() for _ in range(args.readers)]
    threads = [
        threading.Thread(target=reader, args=(copy, stop, s, n), daemon=True)
        for n, s in enumerate(stats)
    ]
    for thread in threads:
        thread.start()
    seconds = migrate(copy, api=args.api)
    stop.set()
    for thread in threads:
        thread.join()

    status = Migrator(copy, SQL, backup=False).status()
    result: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "sqlite": sqlite3.sqlite_version,
        "ticks": args.ticks,
        "months": args.months,
        "database_mb": round(fixture.stat().st_size / 2**20, 1),
        "fixture_build_s": None if built_in is None else round(built_in, 2),
        "convert_s": round(seconds, 2),
        "via": "api" if args.api else "cli",
        "version": status.current,
        "migrations_ms": {a.name: round(a.duration_ms, 1) for a in status.applied},
        "readers": [{k: v for k, v in asdict(s).items() if k != "latencies"} for s in stats],
    }
    if args.verify:
        after = checksums(copy, sorted(before))
        kept = {name: after.get(name) == value for name, value in before.items()}
        integrity, foreign_keys = checks(copy)
        result["verify"] = {
            "tables": len(before),
            "rows": sum(count for count, _ in before.values()),
            "all_rows_kept": all(kept.values()),
            "changed": sorted(name for name, ok in kept.items() if not ok),
            "integrity_check": integrity,
            "foreign_key_check": foreign_keys,
        }
    if args.index_check:
        result["index_check"] = {k: round(v, 3) for k, v in index_check(copy, work).items()}
    return result


def show(result: dict[str, object]) -> None:
    built = result["fixture_build_s"]
    print(
        f"legacy database    {result['ticks']:,} ticks over {result['months']} months, "
        f"{result['database_mb']} MB ({'cached' if built is None else f'built in {built} s'})"
    )
    print(
        f"conversion         {result['convert_s']} s wall via {result['via']}, "
        f"now at version {result['version']} (SQLite {result['sqlite']})"
    )
    migrations = result["migrations_ms"]
    assert isinstance(migrations, dict)
    for name, ms in migrations.items():
        print(f"  {name:<36} {ms:>10.1f} ms")
    readers = result["readers"]
    assert isinstance(readers, list)
    for n, stats in enumerate(readers, start=1):
        print(
            f"reader {n}           {stats['reads']:,} reads, max {stats['max_ms']:.1f} ms, "
            f"p99 {stats['p99_ms']:.2f} ms, errors {stats['errors']}"
            + (f" ({stats['first_error']})" if stats["first_error"] else "")
        )
    verify = result.get("verify")
    if isinstance(verify, dict):
        print(
            f"verify             {verify['rows']:,} rows in {verify['tables']} tables: "
            f"{'all kept (count and checksum equal)' if verify['all_rows_kept'] else 'CHANGED: '}"
            f"{', '.join(verify['changed'])}; integrity_check {verify['integrity_check']}; "
            f"foreign_key_check {verify['foreign_key_check']}"
        )
    figures = result.get("index_check")
    if isinstance(figures, dict):
        print(
            "index check        latest tick of an instrument (median of 50): "
            f"v6 {figures['v6_latest_tick_ms']} ms, v7 {figures['v7_latest_tick_ms']} ms"
        )
        print(
            "                   appending 200k ticks, 10k per commit: "
            f"v6 {figures['v6_append_rows_per_s']:,.0f} rows/s, "
            f"v7 {figures['v7_append_rows_per_s']:,.0f} rows/s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--readers", type=int, default=2, help="reader threads (default 2)")
    parser.add_argument("--api", action="store_true", help="migrate in-process, not via the CLI")
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--index-check", action="store_true", help="measure 0007's reason")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    log.configure(level="warning")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    verify = result.get("verify")
    return 1 if isinstance(verify, dict) and not verify["all_rows_kept"] else 0


if __name__ == "__main__":
    sys.exit(main())
