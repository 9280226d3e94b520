"""The backend seam: what differs between database engines, in one place.

The layers above (the migrator, the pool, the catalogue, queries, ingest, partitions, archive,
monitor, trading) never import a driver: they ask :func:`current` for the
:class:`~rawdb.backend.interface.Backend` (connect, transactions and the write lock, error
translation, the migrator's lock, file sizes) and name the driver's types through this module.
SQLite (:mod:`rawdb.backend.sqlite`) is the first tenant; the names below are its types today,
and a second engine turns them into protocols both satisfy. See docs/architecture.md.
"""

from __future__ import annotations

from rawdb.backend.interface import Backend, FileSizes, Role
from rawdb.backend.sqlite.connection import BEGIN_READ, BEGIN_WRITE, COMMIT, PING, ROLLBACK
from rawdb.backend.sqlite.driver import (
    DatabaseError,
    DriverError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    Row,
    SyncConnection,
)
from rawdb.backend.sqlite.pooled import Connection, ExecResult, Params
from rawdb.backend.sqlite.tenant import SQLITE
from rawdb.config import Settings


def current(settings: Settings | None = None) -> Backend:
    """The backend for ``settings`` (every database is SQLite for now)."""
    del settings  # a PostgreSQL URL will choose the other tenant
    return SQLITE


__all__ = [
    "BEGIN_READ",
    "BEGIN_WRITE",
    "COMMIT",
    "PING",
    "ROLLBACK",
    "Backend",
    "Connection",
    "DatabaseError",
    "DriverError",
    "ExecResult",
    "FileSizes",
    "IntegrityError",
    "OperationalError",
    "Params",
    "ProgrammingError",
    "Role",
    "Row",
    "SyncConnection",
    "current",
]
