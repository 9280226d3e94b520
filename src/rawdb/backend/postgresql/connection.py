"""Connections to a PostgreSQL server from a ``postgresql://`` URL."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from rawdb.backend.postgresql.driver import Error, SyncConnection, psycopg
from rawdb.errors import CannotOpen, ConfigError

SCHEMES = ("postgresql", "postgres")
Role = Literal["writer", "reader", "migrator"]
APPLICATION = "rawdb"
"""application_name of rawdb's sessions (pg_stat_activity shows it with the role)."""


def is_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database rather than a SQLite file."""
    return urlsplit(text).scheme in SCHEMES and "://" in text


def check_url(url: str) -> str:
    """The URL when it is one psycopg can take; else a ConfigError naming what is wrong."""
    if not is_url(url):
        raise ConfigError(f"{redact(url)}: not a PostgreSQL URL (postgresql://USER@HOST/DB)")
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except Error as exc:
        raise ConfigError(f"{redact(url)}: not a valid PostgreSQL URL: {exc}") from exc
    return url


def redact(url: str) -> str:
    """The URL with its password replaced, fit for a log line or an error."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def session_options(
    role: Role, *, lock_timeout_ms: int = 5000, statement_timeout_ms: int | None = None
) -> dict[str, Any]:
    """Connection keywords for a role: autocommit, its name, its lock and statement limits
    (a reader's session cannot write)."""
    # UTC sessions: a time without a zone means UTC, as rawdb's stored texts do on SQLite.
    # No JIT: rawdb's reads are index seeks whose estimated cost can pass jit_above_cost on a
    # large table, and compiling them took 15-300 ms against 0.4 ms of execution (measured).
    settings = f"-c lock_timeout={lock_timeout_ms} -c timezone=UTC -c jit=off"
    if role == "reader":
        settings += " -c default_transaction_read_only=on"
    if statement_timeout_ms is not None:
        settings += f" -c statement_timeout={statement_timeout_ms}"
    return {
        "autocommit": True,
        "application_name": f"{APPLICATION} {role}",
        "options": settings,
        "connect_timeout": 10,
    }


def cannot_open(url: str, exc: Exception) -> CannotOpen:
    """The rawdb error for a connection that could not be made (the URL without password)."""
    detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return CannotOpen(f"{redact(url)}: cannot connect to PostgreSQL: {detail or 'refused'}")


def connect(url: str, role: Role = "migrator", **options: Any) -> SyncConnection:
    """A synchronous connection in autocommit mode, named ``rawdb <role>`` on the server."""
    try:
        return psycopg.connect(
            check_url(url),
            autocommit=True,
            application_name=f"{APPLICATION} {role}",
            connect_timeout=10,
            **options,
        )
    except psycopg.OperationalError as exc:
        raise cannot_open(url, exc) from exc
