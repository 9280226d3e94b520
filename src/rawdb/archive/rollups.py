"""What archiving and restoring a month of ticks does to the bars and held latest prices.

Bars outlive their ticks: an archived month keeps its bars. The held latest tick of an
instrument must be one of the ticks present, so archiving a month that holds one looks for the
instrument's newest tick in the tables that stay, and restoring a month holds its newest tick
of each instrument when that is newer than the one held. A restored month's bars are read from
its ticks until ``rawdb partitions bars-backfill`` has folded them in again (a gap in the
rollups), since they may have been made before the rollups began, or passed by the minute
bars' retention, while the month was away.
"""

from __future__ import annotations

from collections.abc import Iterable

from rawdb.archive.sql import SQL
from rawdb.backend import SyncConnection
from rawdb.catalog import templates
from rawdb.catalog.periods import Period
from rawdb.catalog.registry import Step
from rawdb.queries import STATEMENTS

HOLD = STATEMENTS["fold_latest"]
"""The writer's own statement: hold a tick as its instrument's latest when it is newer."""


def archived_steps(conn: SyncConnection, period: Period, remaining: Iterable[str]) -> list[Step]:
    """Steps (under the archive's write lock, before the drop) that keep the held latest
    ticks on ticks that stay."""
    if period.family != "market_data":
        return []
    held = SQL["archive_held_in_period"].sql
    affected = [r[0] for r in conn.execute(held, (period.start_text, period.end_text))]
    tables = [t for t in remaining if t != period.table]
    steps: list[Step] = []
    for instrument in affected:
        steps.append(("archive_forget_held", SQL["archive_forget_held"].sql, (instrument,)))
        newest = None
        for table in tables:
            sql = SQL["archive_newest_in"].render(table=templates.check_table(table))
            for row in conn.execute(sql, (instrument,)):
                if newest is None or (row[2], row[1]) > (newest[2], newest[1]):
                    newest = tuple(row)
        if newest is not None:
            steps.append((HOLD.name, HOLD.sql, newest))
    return steps


def restored_steps(conn: SyncConnection, period: Period) -> list[Step]:
    """Steps (under the restore's write lock, after the copy) for the month's latest ticks
    and the gap its bars are read through until the backfill."""
    if period.family != "market_data":
        return []
    table = templates.check_table(period.table)
    listed = SQL["archive_restored_instruments"].render(table=table)
    newest_sql = SQL["archive_newest_in"].render(table=table)
    steps: list[Step] = []
    for (instrument,) in conn.execute(listed).fetchall():
        for row in conn.execute(newest_sql, (instrument,)):
            steps.append((HOLD.name, HOLD.sql, tuple(row)))
    gap = (period.start_text[:16], period.end_text[:16])
    steps.append(("archive_bars_gap", SQL["archive_bars_gap"].sql, gap))
    return steps
