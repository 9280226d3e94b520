"""A planner's-eye copy of a database: its schema and statistics, no rows, in memory.

SQLite's query planner sees only the schema and the ``sqlite_stat1`` statistics (stat4 is not
compiled into the stdlib's SQLite), so an in-memory database with the same DDL and the same
statistics plans every statement exactly as the real file does, on the same SQLite library.
The advisor plans there and tries candidate indexes there, never touching the real file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rawdb.backend import DriverError, ProgrammingError, SyncConnection, current
from rawdb.backend.sqlite.connection import query_plan
from rawdb.catalog.statistics import STAT1_EXISTS_SQL, STAT1_SQL
from rawdb.errors import InternalError, UsageError
from rawdb.monitor.sql import SQL
from rawdb.sql_setup import SqlSetup

_BINDINGS = re.compile(r"uses (\d+)")

SCHEMA_SQL = SQL["monitor_schema"].sql


@dataclass(frozen=True)
class Snapshot:
    """What the planner needs from a database, plus each table's row count."""

    schema: Sequence[tuple[str, str, str, str]]
    """(type, name, table, sql) of every table, index and view."""
    stats: Sequence[tuple[str, str | None, str]] = ()
    """The rows of ``sqlite_stat1``; empty when the database was never analyzed."""
    rows: Mapping[str, int] = field(default_factory=dict)
    """Row count by table (from the statistics when present, else counted)."""

    @property
    def analyzed(self) -> bool:
        return bool(self.stats)

    def tables(self) -> list[str]:
        return [name for kind, name, _, _ in self.schema if kind == "table"]

    def indexes(self) -> list[tuple[str, str, str]]:
        """(name, table, sql) of every explicitly created index."""
        return [(name, table, sql) for kind, name, table, sql in self.schema if kind == "index"]


def snapshot(conn: SyncConnection) -> Snapshot:
    """Read a snapshot through a stdlib connection (tests and the command line)."""
    schema = [tuple(r) for r in conn.execute(SCHEMA_SQL)]
    stats = [tuple(r) for r in conn.execute(STAT1_SQL)] if _has_stat1(conn) else []
    rows = row_counts(stats)
    for kind, name, _, _ in schema:
        if kind == "table" and name not in rows:
            rows[name] = int(conn.execute(SQL["monitor_count"].render(table=name)).fetchone()[0])
    return Snapshot(schema, stats, rows)


def _has_stat1(conn: SyncConnection) -> bool:
    return conn.execute(STAT1_EXISTS_SQL).fetchone() is not None


def row_counts(stats: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Rows per table as ANALYZE counted them (the first number of each stat)."""
    counts: dict[str, int] = {}
    for table, _index, stat in stats:
        first = str(stat).split(" ", 1)[0]
        if first.isdigit():
            counts[table] = max(counts.get(table, 0), int(first))
    return counts


class PlannerCopy:
    """An in-memory database with a snapshot's schema and statistics; plans statements."""

    def __init__(self, snap: Snapshot, setup: SqlSetup | str | None = None) -> None:
        self.snapshot = snap
        self.conn = current().scratch(setup)  # the app's functions, for its indexes and views
        for kind, name, _table, sql in snap.schema:
            try:
                self.conn.execute(sql)
            except DriverError as exc:
                raise InternalError(f"copying the schema: {kind} {name!r} failed: {exc}") from exc
        self._load_stats(snap.stats)
        self.columns = {t: self._columns(t) for t in snap.tables()}

    def close(self) -> None:
        self.conn.close()

    def plan(self, sql: str) -> list[str]:
        """The EXPLAIN QUERY PLAN lines of a statement, parameters bound to NULL."""
        return self.plan_on(self.conn, sql)

    @staticmethod
    def plan_on(conn: SyncConnection, sql: str) -> list[str]:
        """The plan lines of ``sql`` on any stdlib connection (the copy, or the real file)."""
        text = query_plan(sql)
        try:
            try:
                rows = conn.execute(text, _Nulls()).fetchall()
            except ProgrammingError:  # positional parameters: count them, bind NULLs
                rows = conn.execute(text, [None] * _positional_count(conn, text)).fetchall()
        except DriverError as exc:
            raise UsageError(f"cannot plan statement against this schema: {exc}") from exc
        return [str(r[3]) for r in rows]

    def with_index(self, table: str, columns: Sequence[str], sql: str) -> list[str] | None:
        """The plan of ``sql`` if an index on ``table(columns)`` existed; None if invalid."""
        try:
            ddl = SQL["monitor_create_candidate_index"].render(table=table, columns=tuple(columns))
            self.conn.execute(ddl)
        except (DriverError, InternalError):  # a name no plain identifier: no candidate
            return None
        try:
            return self.plan(sql)
        finally:
            self.conn.execute(SQL["monitor_drop_candidate_index"].sql)

    def foreign_keys(self) -> dict[str, list[tuple[str, ...]]]:
        """The child columns of every foreign key, by table."""
        found: dict[str, list[tuple[str, ...]]] = {}
        for table in self.columns:
            keys: dict[int, list[str]] = {}
            for row in self.conn.execute(SQL["monitor_foreign_key_columns"].sql, (table,)):
                keys.setdefault(int(row[0]), []).append(str(row[3]))
            found[table] = [tuple(cols) for cols in keys.values()]
        return found

    def _load_stats(self, stats: Sequence[tuple[str, str | None, str]]) -> None:
        if not stats:
            return
        self.conn.execute(SQL["monitor_load_statistics"].sql)  # creates sqlite_stat1
        self.conn.execute(SQL["monitor_clear_statistics"].sql)
        self.conn.executemany(SQL["monitor_insert_statistics"].sql, stats)
        self.conn.execute(SQL["monitor_load_statistics"].sql)  # reloads every table's statistics

    def _columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.conn.execute(SQL["monitor_table_columns"].sql, (table,))]


def _positional_count(conn: SyncConnection, text: str) -> int:
    """How many ``?`` parameters a statement takes, from the driver's own complaint."""
    try:
        conn.execute(text, ())
    except ProgrammingError as exc:
        match = _BINDINGS.search(str(exc))
        if match is not None:
            return int(match[1])
        raise
    return 0


class _Nulls(dict[str, None]):
    """Binds every named parameter to NULL (planning ignores values without stat4)."""

    def __missing__(self, key: str) -> None:
        return None
