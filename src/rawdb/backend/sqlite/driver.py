"""The SQLite driver's names, for the code above the seam that must name a type or an error.

Only the backend imports ``sqlite3`` and ``aiosqlite``; the engine-neutral names are exported
by :mod:`rawdb.backend`, the SQLite-only ones (the tokenizer's ``complete_statement``, the
authorizer's action codes) stay here for the migrator's SQLite dialect.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeAlias

import apsw

SyncConnection: TypeAlias = sqlite3.Connection
"""A synchronous connection (the migrator's, the commands', a scratch database's)."""
Row: TypeAlias = sqlite3.Row
"""A result row: by position and by column name."""
DriverError: TypeAlias = sqlite3.Error
"""Every error the driver raises (translated into rawdb's at the seam where it can be)."""
DatabaseError: TypeAlias = sqlite3.DatabaseError
OperationalError: TypeAlias = sqlite3.OperationalError
ProgrammingError: TypeAlias = sqlite3.ProgrammingError
IntegrityError: TypeAlias = sqlite3.IntegrityError

SQLITE_VERSION = sqlite3.sqlite_version
"""The version of the SQLite library in use (the SQL rawdb writes runs on 3.40)."""
complete_statement = sqlite3.complete_statement
KEYWORDS = frozenset(word.upper() for word in apsw.keywords)
"""SQLite's keywords (from apsw, which bundles the list; apsw never opens rawdb's files)."""

# The authorizer's action codes and its answer, for the migrator's write guard.
SQLITE_OK = sqlite3.SQLITE_OK
SQLITE_INSERT = sqlite3.SQLITE_INSERT
SQLITE_UPDATE = sqlite3.SQLITE_UPDATE
SQLITE_DELETE = sqlite3.SQLITE_DELETE
SQLITE_CREATE_TABLE = sqlite3.SQLITE_CREATE_TABLE
SQLITE_DROP_TABLE = sqlite3.SQLITE_DROP_TABLE
SQLITE_CREATE_INDEX = sqlite3.SQLITE_CREATE_INDEX
SQLITE_DROP_INDEX = sqlite3.SQLITE_DROP_INDEX
SQLITE_CREATE_TRIGGER = sqlite3.SQLITE_CREATE_TRIGGER
SQLITE_DROP_TRIGGER = sqlite3.SQLITE_DROP_TRIGGER
SQLITE_ALTER_TABLE = sqlite3.SQLITE_ALTER_TABLE


def open_plain(path: str | Path = ":memory:") -> SyncConnection:
    """A connection with none of rawdb's tuning, in autocommit mode: a scratch database (the
    default), or a file a tool inspects, copies or marks before rawdb opens it."""
    return sqlite3.connect(path, isolation_level=None)
