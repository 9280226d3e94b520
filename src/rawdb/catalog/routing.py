"""Routing in Python: which table a row goes to, which tables a read must look at.

Writes: a batch is grouped by period (the first 7 characters of its stored UTC timestamp) and
each group goes to its period table with one ``executemany``, all inside the caller's write
transaction. A period without a table gets one on the spot when it lies inside the policy's
window (the transaction that creates it also rebuilds the view); outside the window the rows go
to the default table, which ``status`` reports. Rows for an archived period are refused whole.

Reads: only the tables whose period overlaps the asked range, plus the default table (which may
hold rows of any time). Over more tables than one compound SELECT takes, the range is cut into
consecutive spans, each read with its own bounds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from rawdb.backend import Connection
from rawdb.catalog import registry, templates
from rawdb.catalog.periods import Family, Period
from rawdb.catalog.policy import current
from rawdb.catalog.registry import Partitions
from rawdb.errors import PeriodNotWritable, UsageError
from rawdb.statements import Statement

SPAN_TABLES = templates.MAX_TERMS - 1
"""Period tables per read span (one term of each compound is the default table)."""
FIRST_GROUP = 2
"""Newest-first lookups try the default table and the two newest periods first."""
LATER_GROUP = 100
_STAMP = itemgetter(0)
After = Callable[[Connection, Sequence[Sequence[Any]], int], Awaitable[None]]
"""Called with the rows a batch wrote into one table and the id the first of them took."""


@dataclass(frozen=True)
class Inserts:
    """A family's named insert statements, each written against the default table.

    ``append`` takes a row's values only (SQLite numbers the row one above the table's largest
    id), ``first`` an id and then ``width`` values (a shorter row is padded with None), for the
    first row into a table with no id above its floor yet; ``last_id`` gives a table's largest
    id and its floor. ``after`` is called once per table and batch with the rows written there
    and the id of the first (the others follow on): the rollups fold them in, in the same
    transaction.
    """

    first: Statement
    append: Statement
    last_id: Statement
    width: int
    after: After | None = None


async def write(
    conn: Connection, family: Family, rows: Sequence[Sequence[Any]], inserts: Inserts
) -> int:
    """Insert checked rows (timestamp text first) through the family's routing; rows written.

    Per table and batch, one query finds where the ids go on, and ``executemany`` lets SQLite
    number the rows (one above the largest, so they follow on): rows go to SQLite exactly as
    given, which saves rebuilding every row with its id and SQLite's check that an explicit id
    is free (2.6 us a row, measured). Only the first row into a table without an id above its
    floor gets one explicitly. All inside the caller's write transaction, so no other writer
    can take ids.
    """
    if not rows:
        return 0
    parts = await registry.load(conn, family)
    earliest = min(rows, key=_STAMP)[0][:7]
    if earliest == max(rows, key=_STAMP)[0][:7]:  # texts sort in time: one month in all
        groups: dict[str, Sequence[Sequence[Any]]] = {earliest: rows}
    else:
        grouped: dict[str, list[Sequence[Any]]] = {}
        for row in rows:
            grouped.setdefault(row[0][:7], []).append(row)
        groups = dict(sorted(grouped.items()))
    written = 0
    for key, group in groups.items():
        try:
            period: Period | None = Period.of_text(family, key)
        except UsageError:  # a year before 1970 or after 9999: no period table can take it
            period = None
        table = (
            parts.default.name if period is None else await target(conn, parts, period, len(group))
        )
        written += await _insert(conn, family, table, group, inserts)
    return written


async def _insert(
    conn: Connection, family: Family, table: str, rows: Sequence[Sequence[Any]], inserts: Inserts
) -> int:
    batch = rows
    found = await conn.fetchall_now(
        templates.render(inserts.last_id.sql, family, (table,)), name=inserts.last_id.name
    )
    largest, floor = (found[0][0], found[0][1]) if found else (None, 0)
    first_id = max(largest or 0, floor) + 1
    written = 0
    if largest is None or largest < floor:
        # An empty table (or one holding only rows moved in from below its floor): the first
        # row takes the id above the floor, and SQLite numbers the rest after it.
        first = (first_id, *rows[0], *(None,) * (inserts.width - len(rows[0])))
        await conn.execute(
            templates.render(inserts.first.sql, family, (table,)), first, name=inserts.first.name
        )
        rows, written = rows[1:], 1
    if rows:
        written += await conn.executemany(
            templates.render(inserts.append.sql, family, (table,)), rows, name=inserts.append.name
        )
    if inserts.after is not None:
        await inserts.after(conn, batch, first_id)
    return written


async def target(conn: Connection, parts: Partitions, period: Period, count: int) -> str:
    """The table for rows of ``period``, creating it when the window allows."""
    info = parts.periods.get(period)
    if info is not None:
        if info.state in registry.WRITABLE:
            return info.name
        raise PeriodNotWritable(
            f"{count} row(s) for {period.family} {period.label} refused, nothing of the batch "
            f"written: the period is {info.state} (table {info.name}). Restore it first with "
            f"`python -m rawdb.partitions restore --family {period.family} {period.label}`"
        )
    setup = current()
    first, last = setup.policy.window(period.family, setup.clock())
    if not first <= period <= last:
        return parts.default.name
    at = registry.now_text(setup.clock())
    await registry.run_plan(conn, registry.create_plan(parts, period, at, "on demand"))
    parts.periods[period] = registry.PartitionInfo(
        period.table, period.family, "active", period, period.id_floor, created_at=at
    )
    return period.table


@dataclass(frozen=True)
class Span:
    """Tables to read together, and the part of the asked range they cover."""

    tables: tuple[str, ...]
    start: str
    end: str


def spans(parts: Partitions, start: str, end: str, *, newest_first: bool = False) -> list[Span]:
    """The tables overlapping ``[start, end)`` (stored text), cut into compound-sized spans.

    Every span includes the default table; consecutive spans share a boundary, so together
    they cover the whole range once.
    """
    periods = parts.overlapping(start, end)
    if len(periods) <= SPAN_TABLES:
        found = [Span((parts.default.name, *(p.table for p in periods)), start, end)]
    else:
        found = []
        low = start
        for index in range(0, len(periods), SPAN_TABLES):
            chunk = periods[index : index + SPAN_TABLES]
            following = index + SPAN_TABLES
            high = periods[following].start_text if following < len(periods) else end
            found.append(Span((parts.default.name, *(p.table for p in chunk)), low, high))
            low = high
    return found[::-1] if newest_first else found


def newest_groups(
    parts: Partitions, *, until: str | None = None
) -> list[tuple[tuple[str, ...], str]]:
    """Present tables in groups, newest periods first, each with the default table, and the
    lower bound of the group's oldest period (the start of time for the last group).

    For "latest row" lookups: a row at or after a group's bound beats every later group.
    Periods starting at or after ``until`` are left out (premade months ahead, when the lookup
    ignores rows from ``until`` on), so the first group holds the current month.
    """
    newest = parts.newest_first()
    if until is not None:
        newest = [p for p in newest if p.start_text < until]
    groups = [newest[:FIRST_GROUP]]
    groups += [newest[i : i + LATER_GROUP] for i in range(FIRST_GROUP, len(newest), LATER_GROUP)]
    found = []
    for index, group in enumerate(groups):
        floor = group[-1].start_text if group and index < len(groups) - 1 else ""
        found.append(((parts.default.name, *(p.table for p in group)), floor))
    return found


def tables_for_id(parts: Partitions, row_id: int, *, writing: bool) -> list[str]:
    """Where a row with this id can be: its period's table, or (older ids) any present table.

    Writing to a row of a period that is not writable raises :class:`PeriodNotWritable`.
    """
    period = Period.of_id(parts.family, row_id) if row_id > 0 else None
    if period is None:
        return [parts.default.name, *(p.table for p in parts.newest_first())]
    info = parts.periods.get(period)
    if info is None:
        return []
    if writing and info.state not in registry.WRITABLE:
        raise PeriodNotWritable(
            f"row {row_id} of {parts.family} belongs to {period.label}, which is {info.state}; "
            f"restore it first with `python -m rawdb.partitions restore --family "
            f"{parts.family} {period.label}`"
        )
    return [info.name] if info.present else []
