"""The migrations rawdb ships: each one round-trips, and sql/schema.sql is what they build."""

from __future__ import annotations

from rawdb.migrate import Migrator, shipped_root
from rawdb.migrate.review import round_trip, schema_is_current

from conftest import ROOT


def test_shipped_set_validates(tmp_path) -> None:
    """Every shipped migration is well named and has its rollback."""
    assert Migrator(tmp_path / "x.sqlite3", shipped_root()).problems() == []


def test_every_shipped_migration_round_trips() -> None:
    """up, down, up of each migration in turn gives the identical schema dump and data."""
    assert round_trip(shipped_root()) == []


def test_committed_schema_is_current() -> None:
    """sql/schema.sql equals the canonical dump of a fresh database at the newest version."""
    assert schema_is_current(shipped_root(), ROOT / "sql" / "schema.sql") == []
