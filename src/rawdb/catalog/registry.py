"""The registry of partition tables (``rawdb_partitions``), and the plans that change it.

A *plan* is the list of statements one change runs inside the caller's write transaction:
create a period table, rebuild the family's view, record the change in the registry and the
audit table. Plans are plain data, so the async pool path and the synchronous archive path run
the very same statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from rawdb.backend import Connection, SyncConnection
from rawdb.catalog import templates
from rawdb.catalog.periods import Family, Period, check_family, default_table
from rawdb.catalog.sql import SQL
from rawdb.errors import InternalError, SchemaOutOfDate
from rawdb.models import to_db_time

State = Literal["default", "active", "archiving", "archived"]
PRESENT: frozenset[str] = frozenset({"default", "active", "archiving"})
"""States whose table is in the main database (and in the family's view)."""
WRITABLE: frozenset[str] = frozenset({"default", "active"})

LIST_SQL = SQL["partitions_list"].sql
REGISTER_SQL = SQL["partitions_register"].sql
SET_STATE_SQL = SQL["partitions_set_state"].sql
AUDIT_SQL = SQL["partitions_audit"].sql

Step = tuple[str, str, Sequence[Any]]
"""One statement of a plan: (name for logs and errors, SQL, parameters)."""


@dataclass(frozen=True)
class PartitionInfo:
    """One registry row."""

    name: str
    family: Family
    state: State
    period: Period | None  # None for the default table
    id_floor: int
    created_at: str | None = None
    archived_at: str | None = None
    archive_file: str | None = None
    row_count: int | None = None
    checksum: str | None = None
    counted_at: str | None = None

    @property
    def present(self) -> bool:
        return self.state in PRESENT


PARSED_KEPT = 64
_PARSED: dict[tuple[Any, ...], Partitions] = {}


@dataclass
class Partitions:
    """A family's registry rows: its default table and its period tables by period."""

    family: Family
    default: PartitionInfo
    periods: dict[Period, PartitionInfo] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, family: Family, rows: Iterable[Sequence[Any]]) -> Partitions:
        """The registry from its rows; rows seen before are not parsed again (every latest
        tick reads the registry, which changes a few times a month)."""
        key = (family, *map(tuple, rows))
        known = _PARSED.get(key)
        if known is None:
            if len(_PARSED) >= PARSED_KEPT:
                _PARSED.clear()
            known = _PARSED[key] = cls._parse(family, key[1:])
        return cls(family, known.default, dict(known.periods))  # callers may add periods

    @classmethod
    def _parse(cls, family: Family, rows: Iterable[Sequence[Any]]) -> Partitions:
        default: PartitionInfo | None = None
        periods: dict[Period, PartitionInfo] = {}
        for row in rows:
            name, state = row[0], row[2]
            period = None if state == "default" else Period.from_name(name)
            info = PartitionInfo(name, check_family(row[1]), state, period, *row[5:])
            if period is None:
                default = info
            else:
                periods[period] = info
        if default is None:
            raise SchemaOutOfDate(
                f"rawdb_partitions has no default table for {family}; the database is not at "
                "migration 0009. Run `python -m rawdb.migrate up`"
            )
        return cls(family, default, periods)

    def present_tables(self) -> tuple[str, ...]:
        """Tables in the main database: the default first, then by period."""
        ordered = sorted(p for p, info in self.periods.items() if info.present)
        return (self.default.name, *(p.table for p in ordered))

    def writable_tables(self) -> tuple[str, ...]:
        """Tables rows may be written to: the default, then active periods in order."""
        ordered = sorted(p for p, info in self.periods.items() if info.state in WRITABLE)
        return (self.default.name, *(p.table for p in ordered))

    def overlapping(self, start: str, end: str) -> list[Period]:
        """Present periods whose bounds overlap ``[start, end)`` (stored text), in order."""
        return sorted(
            p
            for p, info in self.periods.items()
            if info.present and p.start_text < end and p.end_text > start
        )

    def newest_first(self) -> list[Period]:
        """Present periods, newest first."""
        return sorted((p for p, info in self.periods.items() if info.present), reverse=True)


def now_text(now: datetime | None = None) -> str:
    return to_db_time(now or datetime.now(UTC))


# --- reading ------------------------------------------------------------------------------------


async def load(conn: Connection, family: Family) -> Partitions:
    """The registry of one family, read on a pooled connection."""
    rows = await conn.fetchall_now(LIST_SQL, (family,), name="partitions_list")
    return Partitions.from_rows(family, rows)


def load_sync(conn: SyncConnection, family: Family) -> Partitions:
    """The registry of one family, read on a plain connection."""
    return Partitions.from_rows(family, conn.execute(LIST_SQL, (family,)).fetchall())


# --- plans --------------------------------------------------------------------------------------


def view_plan(family: Family, tables: tuple[str, ...]) -> list[Step]:
    """Drop and recreate the family's view over ``tables``."""
    return [
        (
            "partitions_drop_view",
            SQL["partitions_drop_view"].render(view=check_family(family)),
            (),
        ),
        ("partitions_create_view", templates.view_sql(family, tables), ()),
    ]


def create_plan(parts: Partitions, period: Period, at: str, detail: str) -> list[Step]:
    """Create a period table, register it as active, audit it, rebuild the view."""
    if period.family != parts.family or period in parts.periods:
        raise InternalError(f"create_plan: {period.table} is registered already")
    steps: list[Step] = [
        ("partitions_create_table", sql, ()) for sql in templates.table_ddl(period)
    ]
    steps.append(
        (
            "partitions_register",
            REGISTER_SQL,
            (period.table, period.family, period.start_text, period.end_text, period.id_floor, at),
        )
    )
    steps.append(audit_step(at, "create", period.table, detail=detail))
    tables = (*parts.present_tables(), period.table)
    ordered = (tables[0], *sorted(tables[1:], key=Period.from_name))
    steps.extend(view_plan(parts.family, ordered))
    return steps


def audit_step(
    at: str,
    action: str,
    partition: str,
    *,
    rows: int | None = None,
    checksum: str | None = None,
    archive_file: str | None = None,
    detail: str | None = None,
) -> Step:
    return (
        "partitions_audit",
        AUDIT_SQL,
        (at, action, partition, rows, checksum, archive_file, detail),
    )


async def run_plan(conn: Connection, steps: Iterable[Step]) -> None:
    """Run a plan on the pool's writer, inside the caller's transaction."""
    for name, sql, params in steps:
        await conn.execute(sql, params, name=name)


def run_plan_sync(conn: SyncConnection, steps: Iterable[Step]) -> None:
    """Run a plan on a plain connection, inside the caller's transaction."""
    if not conn.in_transaction:
        raise InternalError("run_plan_sync needs an open transaction")
    for _name, sql, params in steps:
        conn.execute(sql, params)


__all__ = [
    "PRESENT",
    "WRITABLE",
    "PartitionInfo",
    "Partitions",
    "audit_step",
    "create_plan",
    "default_table",
    "load",
    "load_sync",
    "run_plan",
    "run_plan_sync",
    "view_plan",
]
