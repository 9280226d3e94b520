"""File figures: database and WAL size, growth, freelist, per-table sizes, memory.

Everything is read through the pool's own (stdlib) connections plus ``os.stat``. The database
is never opened from a second SQLite library in this process (apsw bundles its own): two SQLite
copies in one process do not share their POSIX-lock bookkeeping, and one closing the file drops
the other's locks (sqlite.org/howtocorrupt.html, "multiple copies of SQLite"). For the same
reason the database and ``-shm`` files are never opened here; the ``-wal`` file, which SQLite
does not lock, is read for its 32-byte header only.

Per-table sizes come from the ``dbstat`` virtual table when the stdlib's SQLite has it
(Debian's does); otherwise they are left out and the figures say why.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from rawdb.backend.sqlite import files, pragmas
from rawdb.errors import DatabaseRefused
from rawdb.monitor.sql import SQL
from rawdb.pool import Connection, Pool

PARTITION_NAME = re.compile(r"^(?P<base>[a-z_]+)_(?P<year>\d{4})_(?P<part>\d{2}|q[1-4])$")


class TableSize(BaseModel):
    """Bytes a table (or index) takes in the file, from dbstat."""

    name: str
    table: str
    kind: str
    bytes: int
    pages: int


class PartitionFigure(BaseModel):
    """One time partition of a partitioned table and its size."""

    name: str
    base: str
    period: str
    bytes: int


class FileFigures(BaseModel):
    """The database file as the monitor last saw it."""

    database: str
    database_bytes: int = Field(description="page_count x page_size: the size readers see")
    file_bytes: int = Field(description="the main file on disk (WAL frames not yet copied back)")
    wal_bytes: int
    page_size: int
    page_count: int
    freelist_pages: int
    growth_bytes_per_hour: float | None = Field(
        default=None, description="over the samples of the last hour; None until two samples"
    )
    checkpoint_sequence: int | None = Field(
        default=None,
        description="from the WAL header: rises each time a checkpoint restarts the WAL",
    )
    last_checkpoint_age_s: float | None = Field(
        default=None,
        description="seconds since the monitor saw the WAL restart; None if not seen yet",
    )
    cache_bytes_per_connection: int
    index_bytes: int | None = None
    cache_fits_indexes: bool | None = Field(
        default=None, description="whether one connection's page cache holds every index"
    )
    tables: list[TableSize] = Field(default_factory=list)
    partitions: list[PartitionFigure] = Field(default_factory=list)
    sizes_note: str = ""
    sqlite_memory_bytes: int | None = Field(
        default=None, description="heap used by the SQLite library the pool runs on (whole process)"
    )
    sqlite_memory_highwater_bytes: int | None = None
    page_cache_hit_ratio: float | None = Field(
        default=None,
        description=(
            "not available: the pool's stdlib connections do not expose per-connection "
            "status counters, and apsw's counters would describe a different SQLite copy"
        ),
    )


class FileWatch:
    """Remembers past samples: growth over the last hour and when the WAL last restarted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, horizon: float = 3600) -> None:
        self._clock = clock
        self._horizon = horizon
        self._sizes: deque[tuple[float, int]] = deque(maxlen=720)
        self._wal_state: tuple[int, int] | None = None
        self._restart_seen: float | None = None

    def growth_per_hour(self, size: int) -> float | None:
        now = self._clock()
        self._sizes.append((now, size))
        while self._sizes and now - self._sizes[0][0] > self._horizon:
            self._sizes.popleft()
        first_t, first_size = self._sizes[0]
        if now - first_t <= 0:
            return None
        return (size - first_size) / (now - first_t) * 3600

    def checkpoint_age(self, header: tuple[int, int] | None) -> float | None:
        now = self._clock()
        if header is not None and self._wal_state is not None and header != self._wal_state:
            self._restart_seen = now
        if header is not None:
            self._wal_state = header
        return None if self._restart_seen is None else now - self._restart_seen


async def collect(pool: Pool, watch: FileWatch, *, sizes: bool = True) -> FileFigures:
    """Read the file figures through a reader of ``pool`` (``sizes``: also scan dbstat)."""
    path = Path(pool.settings.database)
    async with pool.read() as conn:
        page_size = await _pragma(conn, "page_size")
        page_count = await _pragma(conn, "page_count")
        freelist = await _pragma(conn, "freelist_count")
        cache_size = await _pragma(conn, "cache_size")
        tables: list[TableSize] = []
        note = ""
        if sizes:
            try:
                rows = await conn.fetchall(DBSTAT_SQL, name="monitor_dbstat")
                tables = [TableSize(**dict(r)) for r in rows]
            except DatabaseRefused as exc:
                note = f"per-table sizes unavailable (this SQLite has no dbstat): {exc}"
        else:
            note = "per-table sizes not collected this time"
    database_bytes = page_count * page_size
    header = files.read_wal_header(Path(f"{path}-wal"))
    cache_bytes = cache_size * page_size if cache_size > 0 else -cache_size * 1024
    index_bytes = sum(t.bytes for t in tables if t.kind == "index") if tables else None
    used, highwater = files.library_memory()
    return FileFigures(
        database=str(path),
        database_bytes=database_bytes,
        file_bytes=files.size(path),
        wal_bytes=files.size(Path(f"{path}-wal")),
        page_size=page_size,
        page_count=page_count,
        freelist_pages=freelist,
        growth_bytes_per_hour=watch.growth_per_hour(database_bytes),
        checkpoint_sequence=None if header is None else header[0],
        last_checkpoint_age_s=watch.checkpoint_age(header),
        cache_bytes_per_connection=cache_bytes,
        index_bytes=index_bytes,
        cache_fits_indexes=None if index_bytes is None else index_bytes <= cache_bytes,
        tables=tables,
        partitions=partitions_of(tables),
        sizes_note=note,
        sqlite_memory_bytes=used,
        sqlite_memory_highwater_bytes=highwater,
    )


DBSTAT_SQL = SQL["monitor_dbstat"].sql


def partitions_of(tables: list[TableSize]) -> list[PartitionFigure]:
    """Tables named like a partition (``market_data_2026_01``, ``alert_logs_2026_q1``)."""
    found = []
    for t in tables:
        match = PARTITION_NAME.match(t.name)
        if t.kind == "table" and match:
            period = f"{match['year']}-{match['part']}"
            found.append(
                PartitionFigure(name=t.name, base=match["base"], period=period, bytes=t.bytes)
            )
    return found


async def _pragma(conn: Connection, name: str) -> int:
    row = await conn.fetchone(pragmas.reading(name), name=f"monitor_{name}")
    return int(row[0]) if row is not None else 0
