"""What the partitions hold: rows, bytes, bounds and state per table, and the default tables.

Bytes come from SQLite's ``dbstat`` virtual table (pages of the table and its indexes). The
stdlib module has it when SQLite was built with SQLITE_ENABLE_DBSTAT_VTAB (Debian's is); when it
is missing, bytes are reported as unknown (None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rawdb import backend
from rawdb.backend import OperationalError, SyncConnection
from rawdb.catalog import registry, templates
from rawdb.catalog.periods import FAMILIES, Family
from rawdb.partitions.sql import SQL

SIZE_SQL = SQL["partitions_bytes"].sql


@dataclass
class TableStatus:
    """One table of a family."""

    name: str
    state: str
    period_start: str | None
    period_end: str | None
    rows: int | None
    bytes: int | None
    archive_file: str | None = None
    by_month: dict[str, int] = field(default_factory=dict)  # the default table only


@dataclass
class FamilyStatus:
    family: Family
    tables: list[TableStatus]

    @property
    def default(self) -> TableStatus:
        return self.tables[0]

    def as_json(self) -> dict[str, Any]:
        return {"family": self.family, "tables": [asdict(t) for t in self.tables]}


def status(database: Path, *, sizes: bool = True) -> list[FamilyStatus]:
    """Every family's tables: the default table first (with its rows by month), then by period.

    Counting reads each present table once (an index scan); archived tables report the row
    count recorded when they were archived.
    """
    conn = backend.current().connect(
        database, role="reader", create=False
    )  # reads only: no write probe
    try:
        sizer = _Sizer(database, conn) if sizes else None
        return [_family(conn, family, sizer) for family in FAMILIES]
    finally:
        conn.close()


def _family(conn: SyncConnection, family: Family, sizer: _Sizer | None) -> FamilyStatus:
    parts = registry.load_sync(conn, family)
    default = parts.default.name
    months = SQL["partitions_rows_by_month"].render(table=templates.check_table(default))
    by_month = dict(conn.execute(months).fetchall())
    tables = [
        TableStatus(
            default,
            "default",
            None,
            None,
            sum(by_month.values()),
            sizer.size(default) if sizer else None,
            by_month=by_month,
        )
    ]
    for period in sorted(parts.periods):
        info = parts.periods[period]
        present = info.present
        count = SQL["partitions_count_rows"].render(table=templates.check_table(info.name))
        rows = conn.execute(count).fetchone()[0] if present else info.row_count
        tables.append(
            TableStatus(
                info.name,
                info.state,
                period.start_text,
                period.end_text,
                rows,
                sizer.size(info.name) if sizer and present else None,
                archive_file=info.archive_file,
            )
        )
    return FamilyStatus(family, tables)


class _Sizer:
    """Bytes per table through the stdlib connection's dbstat; None where it is not compiled in.

    Not apsw's dbstat: apsw bundles another SQLite library, and two SQLite copies in one
    process must not open the same file (closing one drops the other's POSIX locks; see
    docs/monitoring.md).
    """

    def __init__(self, database: Path, conn: SyncConnection) -> None:
        self._conn = conn
        try:
            conn.execute(SQL["partitions_dbstat_available"].sql).fetchall()
            self.available = True
        except OperationalError:
            self.available = False

    def size(self, table: str) -> int | None:
        if not self.available:
            return None
        return int(self._conn.execute(SIZE_SQL, (table,)).fetchone()[0])
