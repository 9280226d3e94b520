"""psycopg, imported once and only here; a missing extra is a clear rawdb error."""

from __future__ import annotations

from typing import Any

from rawdb.errors import ConfigError

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql as pg_sql
except ImportError as exc:  # the base install has no PostgreSQL driver
    raise ConfigError(
        "a postgresql:// database needs rawdb's PostgreSQL extra: pip install 'rawdb[postgresql]'"
    ) from exc

SyncConnection = psycopg.Connection[Any]
Error = psycopg.Error

__all__ = ["Error", "SyncConnection", "pg_errors", "pg_sql", "psycopg"]
