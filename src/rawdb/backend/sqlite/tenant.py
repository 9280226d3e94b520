"""The SQLite backend object: the interface of :mod:`rawdb.backend.interface` over this
package's modules."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rawdb.backend.interface import FileSizes, Role
from rawdb.backend.sqlite import connection, errors, files, migrator_lock
from rawdb.backend.sqlite.driver import SyncConnection
from rawdb.config import Settings
from rawdb.errors import DatabaseRefused, RawdbError
from rawdb.sql_setup import SqlSetup


class SqliteBackend:
    """SQLite through the standard library's sqlite3 (and aiosqlite for the pool)."""

    name = "sqlite"

    def check_target(self, database: Path, *, must_exist: bool = False) -> None:
        connection.check_database_path(database, must_exist=must_exist)

    def connect(
        self,
        database: Path,
        settings: Settings | None = None,
        role: Role = "migrator",
        *,
        any_thread: bool = False,
        create: bool = True,
    ) -> SyncConnection:
        return connection.open_sync(database, settings, role, any_thread=any_thread, create=create)

    def connect_read_only(
        self, database: Path, setup: SqlSetup | str | None = None
    ) -> SyncConnection:
        return connection.open_read_only(database, setup)

    def scratch(self, setup: SqlSetup | str | None = None) -> SyncConnection:
        return connection.scratch(setup)

    def transaction(
        self,
        conn: Any,
        what: str,
        *,
        write: bool = True,
        component: str = "connection",
        wait_set_by: str = connection.WAIT_SETTING,
    ) -> AbstractContextManager[None]:
        return connection.transaction(
            conn, what, write=write, component=component, wait_set_by=wait_set_by
        )

    def begin_write(
        self,
        conn: Any,
        what: str,
        *,
        component: str = "connection",
        wait_set_by: str = connection.WAIT_SETTING,
    ) -> None:
        connection.begin_write(conn, what, component=component, wait_set_by=wait_set_by)

    def translate(
        self, exc: BaseException, *, statement: str | None = None, where: str = ""
    ) -> RawdbError:
        return errors.translate(exc, statement=statement, where=where)  # type: ignore[arg-type]

    def refusal_class(self, exc: BaseException) -> type[DatabaseRefused]:
        return errors.refusal_class(exc)  # type: ignore[arg-type]

    def migrator_lock(
        self, database: Path, wait_seconds: float, what: str, notify: Callable[[str], None]
    ) -> AbstractContextManager[None]:
        return migrator_lock.held(database, wait_seconds, what, notify)

    def write_lock_holder(self, database: Path) -> str | None:
        return connection.write_lock_holder(database)

    def file_sizes(self, database: Path) -> FileSizes:
        wal = Path(f"{database}-wal")
        return FileSizes(files.size(database), files.size(wal), files.read_wal_header(wal))

    def library_memory(self) -> tuple[int | None, int | None]:
        return files.library_memory()


SQLITE = SqliteBackend()
"""The SQLite backend (the only one so far)."""
