"""A partition's columns come from its DDL template alone: a column added there is archived
and restored with its data."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from partition_data import Clock, seed
from rawdb import partitions
from rawdb.archive import archive_period, restore_period
from rawdb.catalog import templates
from rawdb.catalog.periods import default_table
from rawdb.migrate import shipped_root
from rawdb.partitions import Period, Policy

JANUARY = Period("market_data", 2026, 1)
TABLES = (
    "market_data_default",
    "market_data_2026_01",
    "market_data_2026_02",
    "market_data_2026_03",
)


@pytest.fixture(autouse=True)
def fake_clock():
    with partitions.using(policy=Policy(), clock=Clock()):
        yield


def _template_with_venue(tmp_path: Path) -> Path:
    folder = tmp_path / "sql"
    shutil.copytree(shipped_root() / "partitions", folder / "partitions")
    path = folder / "partitions" / templates.TEMPLATE_FILES["market_data"]
    text = path.read_text()
    path.write_text(
        text.replace("    deleted_at DATETIME,\n", "    deleted_at DATETIME,\n    venue TEXT,\n", 1)
    )
    return folder


def test_the_default_tables_have_the_templates_columns(tmp_path: Path) -> None:
    """The default tables the migrations make hold exactly the columns read from the
    templates, in order (what the views, moves and archives copy)."""
    db = tmp_path / "app.sqlite3"
    asyncio.run(seed(db, per_month=1))
    with sqlite3.connect(db) as conn:
        for family in ("market_data", "alert_logs"):
            found = conn.execute(f"PRAGMA table_info({default_table(family)})").fetchall()
            assert tuple(r[1] for r in found) == templates.COLUMNS[family]


def test_a_column_added_to_the_template_is_archived_and_restored(tmp_path: Path) -> None:
    """With `venue` added to the template (and, as its migration would, to the tables), a
    month's venues travel to the archive file and come back on restore."""
    db = tmp_path / "app.sqlite3"
    asyncio.run(seed(db))
    with templates.templates_from(_template_with_venue(tmp_path)):
        assert "venue" in templates.COLUMNS["market_data"]
        with sqlite3.connect(db) as conn:
            for table in TABLES:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN venue TEXT")
            conn.execute("UPDATE market_data_2026_01 SET venue = 'CME'")
            conn.execute("DROP VIEW market_data")
            conn.execute(templates.view_sql("market_data", TABLES))
        done = archive_period(db, JANUARY)
        with sqlite3.connect(done.archive_file or "") as conn:
            archived = conn.execute(
                "SELECT count(*) FROM market_data_2026_01 WHERE venue = 'CME'"
            ).fetchone()[0]
        assert archived == done.rows == 300
        restore_period(db, JANUARY)
        with sqlite3.connect(db) as conn:
            venues = conn.execute(
                "SELECT venue, count(*) FROM market_data WHERE timestamp < '2026-02-01' "
                "GROUP BY venue"
            ).fetchall()
        assert venues == [("CME", 300)]
