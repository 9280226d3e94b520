"""PostgreSQL's errors as rawdb's: the SQLSTATE (its class when the code is not listed) names
the rawdb class."""

from __future__ import annotations

from rawdb.backend.postgresql.driver import Error
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
    QueryTimeout,
    RawdbError,
    ReadOnlyDatabase,
    UniqueViolation,
)

_CODES: dict[str, type[DatabaseRefused]] = {
    "23503": ForeignKeyViolation,
    "23505": UniqueViolation,
    "23514": CheckViolation,
    "40001": DatabaseBusy,  # serialization failure
    "40P01": DatabaseBusy,  # deadlock detected
    "55P03": DatabaseBusy,  # lock_not_available (lock_timeout)
    "57014": QueryTimeout,  # query_canceled (statement_timeout)
    "53100": DiskFull,
    "58030": DiskIOError,
    "XX001": DatabaseCorrupt,
    "XX002": DatabaseCorrupt,
    "25006": ReadOnlyDatabase,
}
_CLASSES: dict[str, type[DatabaseRefused]] = {
    "23": ConstraintViolation,
    "08": CannotOpen,
    "53": DiskFull,
    "58": DiskIOError,
}


def refusal_class(exc: Error) -> type[DatabaseRefused]:
    """The rawdb class for a psycopg error, by its SQLSTATE."""
    code = exc.sqlstate or ""
    return _CODES.get(code) or _CLASSES.get(code[:2]) or DatabaseRefused


def translate(
    exc: Error, *, statement: str | None = None, where: str = "", deadline: float | None = None
) -> RawdbError:
    """Turn a driver error into the rawdb error for its cause, naming the statement;
    ``deadline``: the statement_timeout the session ran it under, in seconds."""
    cls = refusal_class(exc)
    if cls is QueryTimeout and deadline is not None:
        return QueryTimeout.ran_past(statement or "(unnamed)", deadline)
    label = f"statement {statement!r}" if statement else "database"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    code = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
    place = f" ({where})" if where else ""
    if cls is QueryTimeout:  # cancelled by someone else (pg_cancel_backend), not a deadline
        return QueryTimeout(f"{label} was cancelled on the server: {detail}{code}", timeout=0.0)
    return cls(f"{label} refused{place}: {detail}{code}", statement=statement)
