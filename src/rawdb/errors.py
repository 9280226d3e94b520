"""One exception tree for rawdb, split by whose fault it is.

- :class:`DatabaseRefused` -- SQLite said no (constraint, busy, disk full, corrupt file).
- :class:`UsageError` -- the caller asked for something invalid (bad input, bad option).
- :class:`MigrationError` -- a migration file is broken or a migration failed to apply.
- :class:`InternalError` -- a bug in rawdb; please report it.

Every message names what was wrong, where (file, line, statement name), and what to do.
"""

from __future__ import annotations


class RawdbError(Exception):
    """Root of every error rawdb raises."""


# --- the database refused -------------------------------------------------------------------


class DatabaseRefused(RawdbError):
    """SQLite refused the operation; the message carries SQLite's own words."""

    def __init__(self, message: str, *, statement: str | None = None) -> None:
        super().__init__(message)
        self.statement = statement


class ConstraintViolation(DatabaseRefused):
    """A constraint (NOT NULL, CHECK, UNIQUE, foreign key) rejected the row; nothing was written."""


class ForeignKeyViolation(ConstraintViolation):
    """A row is still referenced (RESTRICT) or its parent is missing; delete children first."""


class UniqueViolation(ConstraintViolation):
    """A row with the same key exists already; update it or choose another key."""


class CheckViolation(ConstraintViolation):
    """A CHECK constraint rejected a value; the message names the constraint."""


class DatabaseBusy(DatabaseRefused):
    """Another connection held the lock past busy_timeout; retry later or raise the timeout."""


class DiskFull(DatabaseRefused):
    """The disk (or max_page_count) is full; free space, then retry. Committed data is intact."""


class DiskIOError(DatabaseRefused):
    """The disk reported an I/O error; check the device. Committed data is intact."""


class DatabaseCorrupt(DatabaseRefused):
    """The file is not a healthy SQLite database; restore from a backup. Nothing was written."""


class ReadOnlyDatabase(DatabaseRefused):
    """The file or its directory is not writable; fix permissions or open read-only."""


class PoolTimeout(DatabaseBusy):
    """No connection became free within PoolConfig.acquire_timeout; hold connections shorter."""


class QueryTimeout(DatabaseRefused):
    """A read ran past its deadline and was stopped (SQLite interrupted, PostgreSQL cancelled
    it); the connection is still good.

    Narrow the read (a shorter range, a lower limit, an index it can seek), or give it more
    time with ``timeout=`` or ``Settings.read_timeout_s``. ``statement`` names the statement
    that was running, ``timeout`` the deadline in seconds.
    """

    REMEDY = (
        "Narrow the read (a shorter range, a lower limit, an index it can seek) or give it more "
        "time: timeout= on the call, or Settings.read_timeout_s (RAWDB_READ_TIMEOUT_S)"
    )

    def __init__(self, message: str, *, statement: str | None = None, timeout: float) -> None:
        super().__init__(message, statement=statement)
        self.timeout = timeout

    @classmethod
    def ran_past(cls, name: str, timeout: float) -> QueryTimeout:
        """A statement stopped at its deadline (SQLite interrupted, PostgreSQL cancelled it)."""
        return cls(
            f"statement {name!r} ran past its {_seconds(timeout)} s deadline and was "
            f"interrupted; the connection is fine. {cls.REMEDY}",
            statement=name,
            timeout=timeout,
        )

    @classmethod
    def not_started(cls, name: str, timeout: float) -> QueryTimeout:
        """A statement of a read whose deadline had passed before it could start."""
        return cls(
            f"statement {name!r} was not started: the {_seconds(timeout)} s deadline of its "
            "read had passed (spent on the read's earlier statements, or waiting out a busy "
            f"database). {cls.REMEDY}",
            statement=name,
            timeout=timeout,
        )


def _seconds(timeout: float) -> str:
    return f"{timeout:.3f}" if timeout >= 0.001 else f"{timeout:.2g}"


class CircuitOpen(DatabaseRefused):
    """Connections failed repeatedly, so rawdb refuses at once for a cool-down; fix the cause."""


class CannotOpen(DatabaseRefused):
    """The database file cannot be opened (missing directory, permissions)."""


# --- the caller misused the API -------------------------------------------------------------


class UsageError(RawdbError):
    """The caller asked for something invalid; the message says what to pass instead."""


class ConfigError(UsageError):
    """A setting (argument or environment variable) has an invalid value."""


class InvalidInput(UsageError):
    """Input data failed validation; nothing of the batch was written."""


class PeriodNotWritable(InvalidInput):
    """Rows for a period that is archived (or being archived or restored); restore it first."""


class PoolClosed(UsageError):
    """The pool is closed or closing; open a new one with ``Pool.open()``."""


class SchemaOutOfDate(UsageError):
    """The database is not at the newest migration; run `python -m rawdb.migrate up`."""


# --- migrations -----------------------------------------------------------------------------


class MigrationError(RawdbError):
    """A migration file is broken, or a migration failed and was rolled back."""


class MigrationFileError(MigrationError):
    """A migration file is malformed (name, encoding, header, transaction statements)."""


class MigrationFailed(MigrationError):
    """A statement of a migration failed; the whole migration was rolled back."""

    def __init__(self, message: str, *, path: str, line: int, version: int) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.version = version


class AdoptionRefused(MigrationError):
    """An existing database does not match what the migrations expect; nothing was changed."""


class MigrationStateError(MigrationError):
    """The applied history disagrees with the files (edited, missing, out of order)."""


# --- bugs -----------------------------------------------------------------------------------


class InternalError(RawdbError):
    """A bug in rawdb: an invariant did not hold. Please report it with the message."""


__all__ = [
    "AdoptionRefused",
    "CannotOpen",
    "CheckViolation",
    "CircuitOpen",
    "ConfigError",
    "ConstraintViolation",
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseRefused",
    "DiskFull",
    "DiskIOError",
    "ForeignKeyViolation",
    "InternalError",
    "InvalidInput",
    "MigrationError",
    "MigrationFailed",
    "MigrationFileError",
    "MigrationStateError",
    "PeriodNotWritable",
    "PoolClosed",
    "PoolTimeout",
    "QueryTimeout",
    "RawdbError",
    "ReadOnlyDatabase",
    "SchemaOutOfDate",
    "UniqueViolation",
    "UsageError",
]
