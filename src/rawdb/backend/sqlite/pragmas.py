"""Connection tuning as readable data: each pragma named, documented, applied, and checked.

Every connection rawdb opens runs :func:`tuning` for its role; a pragma whose read-back differs
from what was asked is an error (:class:`~rawdb.errors.ConfigError`), never a silent default.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from rawdb.config import Settings
from rawdb.errors import ConfigError

Role = Literal["writer", "reader", "migrator"]


@dataclass(frozen=True)
class Pragma:
    """One setting: the statement that sets it and the value reading it back must give."""

    name: str
    value: str | int
    why: str
    url: str

    @property
    def set_sql(self) -> str:
        return f"PRAGMA {self.name}={self.value}"

    @property
    def get_sql(self) -> str:
        return f"PRAGMA {self.name}"

    def expected(self) -> str:
        """The read-back SQLite gives when the setting took (it lowercases some names)."""
        symbolic = {
            "synchronous": {"OFF": "0", "NORMAL": "1", "FULL": "2", "EXTRA": "3"},
            "temp_store": {"DEFAULT": "0", "FILE": "1", "MEMORY": "2"},
            "foreign_keys": {"ON": "1", "OFF": "0"},
            "query_only": {"ON": "1", "OFF": "0"},
            "secure_delete": {"OFF": "0", "ON": "1", "FAST": "2"},
        }
        text = str(self.value)
        return symbolic.get(self.name, {}).get(text.upper(), text.lower())


def tuning(settings: Settings, role: Role) -> tuple[Pragma, ...]:
    """The pragmas for one connection role, in the order they must be applied."""
    base = (
        Pragma(
            "busy_timeout",
            settings.busy_timeout_ms,
            "wait for a lock instead of failing at once with 'database is locked'",
            "https://sqlite.org/pragma.html#pragma_busy_timeout",
        ),
        Pragma(
            "journal_mode",
            "WAL",
            "readers never block the writer and the writer never blocks readers",
            "https://sqlite.org/wal.html",
        ),
        Pragma(
            "synchronous",
            settings.synchronous,
            "NORMAL in WAL: an application crash loses no commit; FULL adds power-loss safety",
            "https://sqlite.org/pragma.html#pragma_synchronous",
        ),
        Pragma(
            "foreign_keys",
            "ON",
            "SQLite leaves foreign keys unenforced unless every connection turns them on",
            "https://sqlite.org/foreignkeys.html#fk_enable",
        ),
        Pragma(
            "cache_size",
            -settings.cache_size_kib,
            "a page cache large enough for the hot index pages of the tick tables",
            "https://sqlite.org/pragma.html#pragma_cache_size",
        ),
        Pragma(
            "temp_store",
            "MEMORY",
            "sorts and temporary indexes in memory rather than in temp files",
            "https://sqlite.org/pragma.html#pragma_temp_store",
        ),
        Pragma(
            "secure_delete",
            "FAST",
            "freed pages are not overwritten with zeros: dropping a partition is ~10x faster "
            "and writes ~1/20 the WAL; deleted content is still cleared from b-tree pages",
            "https://sqlite.org/pragma.html#pragma_secure_delete",
        ),
        Pragma(
            "mmap_size",
            settings.mmap_size_bytes,
            "reads through memory mapping avoid a copy per page",
            "https://sqlite.org/mmap.html",
        ),
    )
    if role == "reader":
        return (
            *base,
            Pragma(
                "query_only",
                "ON",
                "a reader connection can never write, so it never takes the write lock",
                "https://sqlite.org/pragma.html#pragma_query_only",
            ),
        )
    return base


_PRAGMA_NAME = re.compile(r"^[a-z_]+$")
_PRAGMA_VALUE = re.compile(r"^(-?\d+|[A-Za-z_]+)$")


def setting(name: str, value: int | str) -> str:
    """``PRAGMA name=value`` for a value known only at run time (SQLite binds no parameters
    in a PRAGMA): the name must be a pragma's, the value a whole number or a keyword."""
    text = str(value)
    if not _PRAGMA_NAME.match(name) or isinstance(value, bool) or not _PRAGMA_VALUE.match(text):
        raise ConfigError(f"PRAGMA {name}={text!r}: not a pragma setting rawdb writes")
    return f"PRAGMA {name}={text}"


def reading(name: str) -> str:
    """``PRAGMA name``: the statement reading one setting back."""
    if not _PRAGMA_NAME.match(name):
        raise ConfigError(f"PRAGMA {name!r}: not a pragma name")
    return f"PRAGMA {name}"


_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_RETRY_PAUSE_S = 0.005


def apply(conn: sqlite3.Connection, pragmas: tuple[Pragma, ...], wait_s: float = 0.0) -> None:
    """Apply each pragma and check that it took, retrying a busy one for up to ``wait_s``."""
    for pragma in pragmas:
        _set(conn, pragma, time.monotonic() + wait_s)
        row = conn.execute(pragma.get_sql).fetchone()
        got = "" if row is None else str(row[0]).lower()
        want = pragma.expected()
        if pragma.name == "mmap_size" and got == "0" and want != "0":
            continue  # builds without mmap support report 0; that is a platform fact, not a fault
        if got != want:
            raise ConfigError(
                f"PRAGMA {pragma.name}: asked for {pragma.value!r}, SQLite reports {got!r}. "
                f"Why it matters: {pragma.why} ({pragma.url})"
            )


def _set(conn: sqlite3.Connection, pragma: Pragma, deadline: float) -> None:
    """Run one pragma's setting. Switching a file to WAL needs its exclusive lock, and SQLite
    answers SQLITE_BUSY at once, without its busy handler, when another connection is opening
    the same new file: so two processes starting on a fresh database retry here, bounded by
    the busy timeout, instead of one failing with "database is locked"."""
    while True:
        try:
            conn.execute(pragma.set_sql).fetchall()
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(_RETRY_PAUSE_S)
