"""SQLite's errors as rawdb's: the result code (extended first) names the rawdb class."""

from __future__ import annotations

import sqlite3

from rawdb.errors import (
    CannotOpen,
    CheckViolation,
    ConstraintViolation,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseRefused,
    DiskFull,
    DiskIOError,
    ForeignKeyViolation,
    RawdbError,
    ReadOnlyDatabase,
    UniqueViolation,
)

_RESULT_CODE_CLASSES: dict[str, type[DatabaseRefused]] = {
    "SQLITE_CONSTRAINT_FOREIGNKEY": ForeignKeyViolation,
    "SQLITE_CONSTRAINT_UNIQUE": UniqueViolation,
    "SQLITE_CONSTRAINT_PRIMARYKEY": UniqueViolation,
    "SQLITE_CONSTRAINT_CHECK": CheckViolation,
    "SQLITE_CONSTRAINT_NOTNULL": ConstraintViolation,
    "SQLITE_CONSTRAINT_TRIGGER": ConstraintViolation,
    "SQLITE_CONSTRAINT": ConstraintViolation,
    "SQLITE_BUSY": DatabaseBusy,
    "SQLITE_LOCKED": DatabaseBusy,
    "SQLITE_FULL": DiskFull,
    "SQLITE_IOERR": DiskIOError,
    "SQLITE_CORRUPT": DatabaseCorrupt,
    "SQLITE_NOTADB": DatabaseCorrupt,
    "SQLITE_READONLY": ReadOnlyDatabase,
    "SQLITE_CANTOPEN": CannotOpen,
}


_CONSTRAINT_MESSAGES: tuple[tuple[str, type[DatabaseRefused]], ...] = (
    ("FOREIGN KEY constraint failed", ForeignKeyViolation),
    ("UNIQUE constraint failed", UniqueViolation),
    ("CHECK constraint failed", CheckViolation),
)


def refusal_class(exc: sqlite3.Error) -> type[DatabaseRefused]:
    """The rawdb class for a driver error, by SQLite's extended then primary result code.

    SQLite reports a RESTRICT foreign key as SQLITE_CONSTRAINT_TRIGGER, so a constraint's kind
    is read from its fixed message text first.
    """
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str) and name.startswith("SQLITE_CONSTRAINT"):
        for text, cls in _CONSTRAINT_MESSAGES:
            if text in str(exc):
                return cls
    if isinstance(name, str):
        if name in _RESULT_CODE_CLASSES:
            return _RESULT_CODE_CLASSES[name]
        primary = "_".join(name.split("_")[:2])
        if primary in _RESULT_CODE_CLASSES:
            return _RESULT_CODE_CLASSES[primary]
    return DatabaseRefused


def translate(exc: sqlite3.Error, *, statement: str | None = None, where: str = "") -> RawdbError:
    """Turn a driver error into the rawdb error for its cause, naming the statement."""
    cls = refusal_class(exc)
    label = f"statement {statement!r}" if statement else "database"
    context = f" ({where})" if where else ""
    doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    return cls(f"{label}{context}: {exc}. {doc}", statement=statement)
