"""Adopting an existing TradeAssist database: recognised when it matches, else refused untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from rawdb.errors import AdoptionRefused
from rawdb.migrate import Migrator, discover, shipped_root

from conftest import RunCli, schema_rows

NEWEST = discover(shipped_root()).newest


def migrator(path: Path) -> Migrator:
    return Migrator(path, shipped_root(), backup=False)


def digest(path: Path) -> dict[str, str]:
    """SHA-256 of the database file and of any WAL/SHM beside it (absent ones are listed too)."""
    found = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        found[suffix or "db"] = (
            hashlib.sha256(side.read_bytes()).hexdigest() if side.exists() else "absent"
        )
    return found


def edit(path: Path, *statements: str) -> None:
    """Change a legacy database the way another tool would, before the migrator sees it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for sql in statements:
        conn.execute(sql)
    conn.close()


def test_up_recognises_the_alembic_revision_and_adopts(legacy_db: Path) -> None:
    """``up`` on an Alembic-built database baselines it at 0001 and brings it to the newest."""
    result = migrator(legacy_db).up()
    assert result.baselined == 1
    status = migrator(legacy_db).status()
    assert status.current == NEWEST
    assert status.problems == []
    first = status.applied[0]
    assert (first.version, first.baselined) == (1, True)
    assert all(not a.baselined for a in status.applied[1:])
    with sqlite3.connect(legacy_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("4524473b46fb",)
        ]


def test_baseline_accepts_a_matching_database(legacy_db: Path) -> None:
    """``baseline 1`` checks the schema, records version 1, and ``up`` continues from there."""
    migrator(legacy_db).baseline(1)
    assert migrator(legacy_db).current() == 1
    assert migrator(legacy_db).up().done == list(range(2, NEWEST + 1))


def test_adopted_and_fresh_databases_are_indistinguishable(legacy_db: Path, tmp_path: Path) -> None:
    """At the newest version an adopted database stores the same schema text as a fresh one."""
    migrator(legacy_db).up()
    fresh = tmp_path / "fresh.sqlite3"
    migrator(fresh).up()
    assert schema_rows(legacy_db) == schema_rows(fresh)


def test_cli_up_adopts(legacy_db: Path, run_cli: RunCli) -> None:
    """``python -m rawdb.migrate up`` says it recognised the database and ends at the newest."""
    done = run_cli("--db", str(legacy_db), "--no-backup", "up")
    assert done.returncode == 0, done.stderr
    assert "adopting it at version 0001" in done.stdout
    assert migrator(legacy_db).current() == NEWEST


REFUSALS: dict[str, tuple[tuple[str, ...], str]] = {
    "another Alembic revision": (
        ("UPDATE alembic_version SET version_num = '1d5e8f0b7c21'",),
        "1d5e8f0b7c21",
    ),
    "two Alembic rows": (
        ("INSERT INTO alembic_version (version_num) VALUES ('9a1b2c3d4e5f')",),
        "9a1b2c3d4e5f",
    ),
    "no alembic_version table": (("DROP TABLE alembic_version",), "no alembic_version"),
    "an extra index": (
        ("CREATE INDEX ix_market_data_volume ON market_data (volume)",),
        "ix_market_data_volume",
    ),
    "a missing index": (("DROP INDEX ix_alert_logs_recent",), "ix_alert_logs_recent"),
    "a missing column": (("ALTER TABLE alert_logs DROP COLUMN error_message",), "alert_logs"),
    "a missing table": (("DROP TABLE data_query",), "data_query"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_up_refuses_what_it_cannot_adopt_and_changes_nothing(legacy_db: Path, case: str) -> None:
    """Another revision or a differing schema is refused, saying what, and the file is unchanged."""
    statements, named = REFUSALS[case]
    edit(legacy_db, *statements)
    before = digest(legacy_db)
    with pytest.raises(AdoptionRefused, match=named):
        migrator(legacy_db).up()
    assert digest(legacy_db) == before
    assert "rawdb_migrations" not in {r[1] for r in schema_rows(legacy_db)}


@pytest.mark.parametrize("case", ["another Alembic revision", "an extra index"])
def test_baseline_refuses_a_mismatch_and_changes_nothing(legacy_db: Path, case: str) -> None:
    """``baseline 1`` on a database that is not the baseline is refused, the file untouched."""
    statements, named = REFUSALS[case]
    edit(legacy_db, *statements)
    before = digest(legacy_db)
    with pytest.raises(AdoptionRefused, match=named):
        migrator(legacy_db).baseline(1)
    assert digest(legacy_db) == before


def test_refused_database_with_real_prices_names_the_columns(legacy_db: Path) -> None:
    """A TradeAssist file whose prices were already retyped REAL by hand is refused, untouched."""
    with sqlite3.connect(legacy_db) as conn:
        ddl = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'market_data'").fetchone()[0]
    edit(
        legacy_db,
        "PRAGMA legacy_alter_table=ON",
        "DROP INDEX ix_market_data_instrument",
        "DROP INDEX ix_market_data_latest",
        "DROP INDEX ix_market_data_price",
        "DROP INDEX ix_market_data_timestamp",
        "DROP INDEX ix_market_data_timestamp_instrument",
        "ALTER TABLE market_data RENAME TO md_old",
        ddl.replace("DECIMAL(12, 4)", "REAL"),
        "INSERT INTO market_data SELECT * FROM md_old",
        "DROP TABLE md_old",
        "CREATE INDEX ix_market_data_instrument ON market_data (instrument_id)",
        "CREATE INDEX ix_market_data_latest ON market_data (instrument_id, timestamp, price)",
        "CREATE INDEX ix_market_data_price ON market_data (price)",
        "CREATE INDEX ix_market_data_timestamp ON market_data (timestamp)",
        "CREATE INDEX ix_market_data_timestamp_instrument ON market_data "
        "(timestamp, instrument_id)",
    )
    before = digest(legacy_db)
    with pytest.raises(AdoptionRefused, match="table market_data"):
        migrator(legacy_db).up()
    assert digest(legacy_db) == before


def test_cli_refusal_exits_1_and_leaves_the_file(legacy_db: Path, run_cli: RunCli) -> None:
    """The CLI refuses another revision with exit 1, a message naming it, and no change."""
    edit(legacy_db, "UPDATE alembic_version SET version_num = '1d5e8f0b7c21'")
    before = digest(legacy_db)
    done = run_cli("--db", str(legacy_db), "--no-backup", "up")
    assert done.returncode == 1
    assert "1d5e8f0b7c21" in done.stdout + done.stderr
    assert digest(legacy_db) == before
