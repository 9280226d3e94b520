"""The backend interface: what rawdb's engine-neutral layers ask of a database engine.

One object per engine implements it (:data:`rawdb.backend.sqlite.SQLITE` first); the layers
above get it from :func:`rawdb.backend.current` and never branch on the engine's name.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from rawdb.backend.sqlite.driver import SyncConnection
from rawdb.config import Settings
from rawdb.errors import DatabaseRefused, RawdbError
from rawdb.sql_setup import SqlSetup

Role = Literal["writer", "reader", "migrator"]
"""What a connection is for; each role gets its own tuning."""


@dataclass(frozen=True)
class FileSizes:
    """What the database takes on disk, read without a query (cheap at any size)."""

    database_bytes: int
    log_bytes: int
    """The write-ahead log's size (SQLite's -wal)."""
    log_header: tuple[int, int] | None
    """The log's (checkpoint sequence, salt), which changes when it is restarted."""


class Backend(Protocol):
    """The places where database engines differ, behind one interface."""

    name: str
    """The engine, e.g. "sqlite"; it also names the dialect of its statement files."""

    def check_target(self, database: Path, *, must_exist: bool = False) -> None:
        """Refuse, before anything is opened, a target that cannot be a database."""

    def connect(
        self,
        database: Path,
        settings: Settings | None = None,
        role: Role = "migrator",
        *,
        any_thread: bool = False,
        create: bool = True,
    ) -> SyncConnection:
        """A synchronous connection in autocommit mode with the role's tuning, checked (a
        writer or migrator proved writable) and with the application's SQL setup."""

    def connect_read_only(
        self, database: Path, setup: SqlSetup | str | None = None
    ) -> SyncConnection:
        """A connection that cannot change the database (after recovering what a killed
        writer left, which only a writer may do)."""

    def scratch(self, setup: SqlSetup | str | None = None) -> SyncConnection:
        """An empty throw-away database with the application's SQL setup."""

    def transaction(
        self,
        conn: Any,
        what: str,
        *,
        write: bool = True,
        component: str = "connection",
        wait_set_by: str = ...,
    ) -> AbstractContextManager[None]:
        """A transaction on a synchronous connection, committed when the block ends and rolled
        back when it raises; a write waits for the write lock at most the busy timeout."""

    def begin_write(
        self, conn: Any, what: str, *, component: str = ..., wait_set_by: str = ...
    ) -> None:
        """Start a write transaction, waiting for the lock as :meth:`transaction` does."""

    def translate(
        self, exc: BaseException, *, statement: str | None = None, where: str = ""
    ) -> RawdbError:
        """The rawdb error for a driver error (its cause decides the class)."""

    def refusal_class(self, exc: BaseException) -> type[DatabaseRefused]:
        """The rawdb class a driver error maps to."""

    def migrator_lock(
        self, database: Path, wait_seconds: float, what: str, notify: Callable[[str], None]
    ) -> AbstractContextManager[None]:
        """Hold the lock that lets one migrator at a time run (transaction=off files too)."""

    def write_lock_holder(self, database: Path) -> str | None:
        """Who holds the write lock, when the system can tell."""

    def file_sizes(self, database: Path) -> FileSizes:
        """Sizes for monitoring, without a query and without reading the database."""

    def library_memory(self) -> tuple[int | None, int | None]:
        """Bytes the engine's library holds and its high-water mark, when it can tell."""
