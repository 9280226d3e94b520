"""Seeding a migrated database with rows for the monitor tests (plain stdlib SQL, fast)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rawdb.migrate import Migrator
from rawdb.migrate.files import shipped_root

START = datetime(2026, 1, 5, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def migrated(path: Path) -> Path:
    """Bring ``path`` to the newest shipped migration."""
    Migrator(path, shipped_root()).up()
    return path


def seed(path: Path, *, instruments: int = 20, ticks: int = 20_000, logs: int = 12_000) -> None:
    """Instruments, two rules each, ``ticks`` market-data rows and ``logs`` alert logs, analyzed."""
    created = stamp(START)
    conn = sqlite3.connect(path)
    try:
        conn.executemany(
            "INSERT INTO instruments VALUES (?, ?, ?, 'future', 'active', NULL, NULL, ?, ?)",
            [(i, f"S{i:03d}", f"Stock {i}", created, created) for i in range(1, instruments + 1)],
        )
        conn.executemany(
            "INSERT INTO alert_rules (id, instrument_id, rule_type, condition, threshold, active,"
            " cooldown_seconds, created_at, updated_at) VALUES (?, ?, 'threshold', 'above', 100, 1,"
            " 60, ?, ?)",
            [(r, (r - 1) // 2 + 1, created, created) for r in range(1, 2 * instruments + 1)],
        )
        conn.executemany(
            "INSERT INTO market_data_default (timestamp, instrument_id, price, volume, bid, ask,"
            " bid_size,"
            " ask_size, open_price, high_price, low_price) VALUES (?, ?, ?, 10, ?, ?, 1, 1, ?, ?,"
            " ?)",
            (
                (stamp(START + timedelta(seconds=n)), n % instruments + 1, p, p, p, p, p, p)
                for n in range(ticks)
                for p in [100.0 + n % 7]
            ),
        )
        conn.executemany(
            "INSERT INTO alert_logs_default (timestamp, rule_id, instrument_id, trigger_value,"
            " threshold_value, fired_status, delivery_status, rule_condition) VALUES"
            " (?, ?, ?, 101, 100, ?, ?, 'above')",
            (
                (
                    stamp(START + timedelta(seconds=7 * n)),
                    n % (2 * instruments) + 1,
                    (n % (2 * instruments)) // 2 + 1,
                    "fired" if n % 3 else "not_fired",
                    "delivered" if n % 5 else "pending",
                )
                for n in range(logs)
            ),
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
