"""What the PostgreSQL data-API modules share: their statements, the pool's own type, times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from rawdb.errors import InvalidInput
from rawdb.pool import Pool
from rawdb.pool.postgresql import PostgresPool
from rawdb.statements import Registry, load_package

SQL: Registry = load_package("rawdb.queries", "postgresql")


def pg(pool: Pool) -> PostgresPool:
    """The pool as what it is (the public functions type it as the SQLite one's base)."""
    return cast("PostgresPool", pool)


def utc(text: str) -> datetime:
    """A stored UTC text as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def aware(moment: datetime, name: str) -> datetime:
    """An argument that must be an aware datetime, else InvalidInput naming it."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {moment!r}")
    return moment
