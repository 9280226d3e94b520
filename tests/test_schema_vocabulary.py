"""The database itself refuses instruments and alert rules outside rawdb's vocabularies and
symbols with control or bidi characters, whoever writes them (a sqlite3 shell, another program);
rows an adopted database already holds stay as they are."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from rawdb import Migrator, Settings
from rawdb.models import INSTRUMENT_STATUSES, INSTRUMENT_TYPES, RULE_CONDITIONS, RULE_TYPES

ROOT = Path(__file__).resolve().parents[1]
MIGRATION = ROOT / "sql" / "migrations" / "0010_vocabulary_checks.sql"


def listed(column: str) -> set[frozenset[str]]:
    """Every value list the migration's triggers give ``column`` (one per trigger)."""
    text = MIGRATION.read_text()
    lists = re.findall(rf"new\.{column} NOT IN \(([^)]*)\)", text)
    return {frozenset(re.findall(r"'([^']*)'", found)) for found in lists}


@pytest.mark.parametrize(
    ("column", "vocabulary"),
    [
        ("type", INSTRUMENT_TYPES),
        ("status", INSTRUMENT_STATUSES),
        ("rule_type", RULE_TYPES),
        ("condition", RULE_CONDITIONS),
    ],
)
def test_the_triggers_hold_the_models_vocabularies(column: str, vocabulary: tuple[str]) -> None:
    assert listed(column) == {frozenset(vocabulary)}


@pytest.fixture
def migrated(tmp_path: Path) -> sqlite3.Connection:
    db = tmp_path / "app.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    conn = sqlite3.connect(db, isolation_level=None)
    yield conn  # type: ignore[misc]
    conn.close()


def add(
    conn: sqlite3.Connection, symbol: str, kind: str = "future", status: str = "active"
) -> None:
    conn.execute(
        "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at) "
        "VALUES (?, 'x', ?, ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (symbol, kind, status),
    )


def test_every_legal_instrument_is_stored(migrated: sqlite3.Connection) -> None:
    for n, kind in enumerate(INSTRUMENT_TYPES):
        for m, status in enumerate(INSTRUMENT_STATUSES):
            add(migrated, f"S{n}{m}-Ü", kind, status)
    count = migrated.execute("SELECT count(*) FROM instruments").fetchone()[0]
    assert count == len(INSTRUMENT_TYPES) * len(INSTRUMENT_STATUSES)


@pytest.mark.parametrize(
    ("symbol", "kind", "status"),
    [
        ("ES", "bogus", "active"),
        ("ES", "future", "bogus"),
        ("ES\n", "future", "active"),
        (" ES", "future", "active"),
        ("E\x00S", "future", "active"),
        ("E\u202eS", "future", "active"),
        ("E\u2066S", "future", "active"),
        ("E\u2028S", "future", "active"),
        ("E\x85S", "future", "active"),
        ("", "future", "active"),
        ("ELEVENCHARS", "future", "active"),
    ],
)
def test_a_bad_instrument_is_refused_on_insert_and_update(
    migrated: sqlite3.Connection, symbol: str, kind: str, status: str
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match=r"instruments: .* not accepted"):
        add(migrated, symbol, kind, status)
    add(migrated, "OK")
    with pytest.raises(sqlite3.IntegrityError, match=r"instruments: .* not accepted"):
        migrated.execute(
            "UPDATE instruments SET symbol = ?, type = ?, status = ?", (symbol, kind, status)
        )
    rows = migrated.execute("SELECT symbol, type, status FROM instruments").fetchall()
    assert rows == [("OK", "future", "active")]


def test_a_bad_rule_is_refused(migrated: sqlite3.Connection) -> None:
    add(migrated, "ES")
    insert = (
        "INSERT INTO alert_rules (instrument_id, rule_type, condition, threshold, active, "
        "cooldown_seconds, created_at, updated_at) VALUES (1, ?, ?, 1.0, 1, 60, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    migrated.execute(insert, ("threshold", "above"))
    for rule_type, condition in (("bogus", "above"), ("threshold", "bogus")):
        with pytest.raises(sqlite3.IntegrityError, match="alert_rules: rule_type or condition"):
            migrated.execute(insert, (rule_type, condition))
        with pytest.raises(sqlite3.IntegrityError, match="alert_rules: rule_type or condition"):
            migrated.execute(
                "UPDATE alert_rules SET rule_type = ?, condition = ?", (rule_type, condition)
            )
    assert migrated.execute("SELECT count(*) FROM alert_rules").fetchone()[0] == 1


def test_rows_an_adopted_database_holds_are_kept(legacy_db: Path) -> None:
    """A legacy row outside today's vocabulary does not stop the migration, and stays."""
    with sqlite3.connect(legacy_db) as conn:
        conn.execute("UPDATE instruments SET status = 'ARCHIVED' WHERE id = 1")
    Migrator(legacy_db, backup=False, settings=Settings(database=legacy_db)).up()
    with sqlite3.connect(legacy_db) as conn:
        assert conn.execute("SELECT status FROM instruments WHERE id = 1").fetchone() == (
            "ARCHIVED",
        )
