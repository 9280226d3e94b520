"""File figures: database and WAL size, growth, freelist, per-table sizes, memory.

A health report must cost the application nothing it notices, at any size of file. So the
figures are read on the monitor's own reader connections, never on one of the pool's (an
application's read never waits for a report): the page counts and the partition registry are
a few pragmas and small tables (~50 us at any size), read in place on a connection the monitor
keeps; the per-table sizes need ``dbstat``, which reads every page of the file, so
:class:`FileSurvey` measures them in the background, on a connection of its own in a worker
thread, at most every ``sizes_every`` seconds, and a report carries the last measurement with
its age. Everything is read through stdlib connections plus ``os.stat``. The database
is never opened from a second SQLite library in this process (apsw bundles its own): two SQLite
copies in one process do not share their POSIX-lock bookkeeping, and one closing the file drops
the other's locks (sqlite.org/howtocorrupt.html, "multiple copies of SQLite"). For the same
reason the database and ``-shm`` files are never opened here; the ``-wal`` file, which SQLite
does not lock, is read for its 32-byte header only.

Per-table sizes come from the ``dbstat`` virtual table when the stdlib's SQLite has it
(Debian's does); otherwise they are left out and the figures say why.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rawdb import backend
from rawdb.backend.sqlite import files, pace, pragmas
from rawdb.config import Settings
from rawdb.errors import DatabaseRefused, RawdbError
from rawdb.monitor.sql import SQL

PARTITION_NAME = re.compile(r"^(?P<base>[a-z_]+)_(?P<year>\d{4})_(?P<part>\d{2}|q[1-4])$")


class TableSize(BaseModel):
    """Bytes a table (or index) takes in the file, from dbstat."""

    name: str
    table: str
    kind: str
    bytes: int
    pages: int


class PartitionFigure(BaseModel):
    """One table of the partition registry: its state, rows and size."""

    name: str
    base: str
    period: str
    bytes: int | None = Field(default=None, description="from the last size scan, if any")
    state: str = Field(default="", description="default, active, archiving or archived")
    rows: int | None = Field(default=None, description="as the last ANALYZE counted them")


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
    schema_versions: dict[str, int] = Field(
        default_factory=dict, description="the newest applied version of each migration set"
    )
    sizes_note: str = ""
    sizes_age_s: float | None = Field(
        default=None, description="seconds since the per-table sizes were measured"
    )
    sizes_took_s: float | None = Field(
        default=None,
        description="how long that measurement (a dbstat scan, paced in the background) took",
    )
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
    """Remembers past samples: growth over the last hour and when the WAL last restarted.

    Growth is given only once the samples span ``min_span`` seconds: a rate from samples
    seconds apart says nothing (a checkpoint or one batch would read as gigabytes an hour).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        horizon: float = 3600,
        min_span: float = 600,
    ) -> None:
        self._clock = clock
        self._horizon = horizon
        self._min_span = min_span
        self._sizes: deque[tuple[float, int]] = deque(maxlen=720)
        self._wal_state: tuple[int, int] | None = None
        self._restart_seen: float | None = None

    def growth_per_hour(self, size: int) -> float | None:
        now = self._clock()
        self._sizes.append((now, size))
        while self._sizes and now - self._sizes[0][0] > self._horizon:
            self._sizes.popleft()
        first_t, first_size = self._sizes[0]
        if now - first_t < max(self._min_span, 1e-9):
            return None
        return (size - first_size) / (now - first_t) * 3600

    def checkpoint_age(self, header: tuple[int, int] | None) -> float | None:
        now = self._clock()
        if header is not None and self._wal_state is not None and header != self._wal_state:
            self._restart_seen = now
        if header is not None:
            self._wal_state = header
        return None if self._restart_seen is None else now - self._restart_seen


SCAN_DUTY = 0.05
"""The most of the time a size scan may run: after one that worked 60 s, none for 20 minutes."""
SCAN_WORK_S = 0.010
SCAN_REST_S = 0.030
"""A size scan rests 30 ms after each 10 ms of work, so the reads beside it find a core and the
disk free most of the time. Its wall time grows to 3-4 times its work (tools/bench_report.py at
100M ticks, 2026-12-02: 274-359 s for 82-113 s of work)."""


class FileSurvey:
    """The file's figures, read on the monitor's own connections, never the pool's.

    :meth:`pages` reads four pragmas and three small tables on the survey's own reader
    connection, on the calling thread (~50 us at any size; opening a connection costs 1.5 ms
    and a hop to a worker thread up to tens of ms on a busy event loop, so the connection is
    kept and the reads are not sent away). :meth:`refresh` measures per-table sizes with a
    dbstat scan on a connection of its own in a worker thread; :meth:`start` begins one in
    the background when the last is older than ``every`` seconds, and never waits for it.
    :meth:`close` closes the kept connection and stops a scan under way.
    """

    def __init__(
        self, settings: Settings, every: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.every = every
        self._clock = clock
        self.tables: list[TableSize] = []
        self.note = "per-table sizes not measured yet (a background scan is under way)"
        self.measured_at: float | None = None
        self.took_s: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._conn: backend.SyncConnection | None = None
        self._scanning: pace.Pace | None = None
        self.worked_s = 0.0

    @property
    def scanning(self) -> bool:
        """Whether a background size scan is under way."""
        return self._task is not None and not self._task.done()

    @property
    def age_s(self) -> float | None:
        return None if self.measured_at is None else self._clock() - self.measured_at

    async def pages(self) -> Quick:
        """The figures that cost a few small reads: page counts, the partition registry with
        ANALYZE's row counts, the schema versions."""
        if self._conn is None:  # opened once, in a thread: it reads the file's schema
            self._conn = await asyncio.to_thread(self._connect)
        try:
            return self._read(self._conn)
        except RawdbError:
            self.close()  # the next report opens afresh (the file may have been replaced)
            raise

    def close(self) -> None:
        """Close the survey's kept connection and interrupt a scan under way (it closes its
        own connection and leaves the last sizes as they were)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self._scanning is not None:
            self._scanning.stop()
        elif self._task is not None:
            self._task.cancel()  # started by a report, not yet running

    def start(self) -> None:
        """Begin a background size scan if the last one is stale and none is running.

        Stale: older than ``every``, and than :data:`SCAN_DUTY` allows after a scan that
        worked long. A scan reads every page (36-67 s of work on the 100M-tick file), so at
        size the scans are spaced out, and each is paced (:data:`SCAN_WORK_S`)."""
        due = max(self.every, self.worked_s / SCAN_DUTY)
        stale = self.measured_at is None or self._clock() - self.measured_at >= due
        if stale and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.refresh())

    async def refresh(self, *, paced: bool = True) -> None:
        """Measure per-table sizes now with a full scan: paced in the background, flat out
        (``paced=False``) for a command whose user waits for the answer."""
        started = time.perf_counter()
        # Made here, not in the thread: close() may stop it before the thread has started.
        pacing = self._scanning = pace.Pace(SCAN_WORK_S, SCAN_REST_S if paced else 0.0)
        try:
            rows = await asyncio.to_thread(self._scan, pacing)
        except DatabaseRefused as exc:
            self.note = f"per-table sizes unavailable: {exc}"
            return
        finally:
            self._scanning = None
        self.tables = [TableSize.model_validate(row) for row in rows]
        self.note = "per-table sizes from the last dbstat scan"
        self.took_s = time.perf_counter() - started
        self.worked_s = self.took_s - pacing.rested_s
        self.measured_at = self._clock()

    async def wait(self) -> None:
        """Let a background scan finish (when the process is about to report and exit)."""
        if self._task is not None:
            await asyncio.wait([self._task])  # one cancelled by close() ends all the same

    def _connect(self) -> backend.SyncConnection:
        seam = backend.current(self.settings)
        conn = seam.connect(
            self.settings.database, self.settings, "reader", any_thread=True, create=False
        )
        conn.execute(pragmas.setting("busy_timeout", 0))  # a report never waits for a lock
        return conn

    def _read(self, conn: backend.SyncConnection) -> Quick:
        try:
            values = [int(conn.execute(pragmas.reading(n)).fetchone()[0]) for n in _PAGE_PRAGMAS]
            registry = _rows_or_none(conn, "monitor_partition_states")
            counted = _rows_or_none(conn, "monitor_table_rows")
            versions = _rows_or_none(conn, "monitor_schema_versions")
        except backend.DriverError as exc:
            raise backend.current().translate(exc, where="reading the file's page counts") from exc
        return Quick(
            page_size=values[0],
            page_count=values[1],
            freelist=values[2],
            cache_size=values[3],
            registry=[(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in registry],
            rows={str(r[0]): int(r[1]) for r in counted if r[1] is not None},
            versions={str(r[0]): int(r[1]) for r in versions},
        )

    def _scan(self, pacing: pace.Pace) -> list[dict[str, object]]:
        conn = self._connect()
        pace.install(conn, pacing)
        try:
            rows = conn.execute(DBSTAT_SQL).fetchall()
        except backend.DriverError as exc:
            raise backend.current().translate(exc, where="measuring table sizes") from exc
        finally:
            conn.close()
        return [dict(zip(_DBSTAT_COLUMNS, r, strict=True)) for r in rows]


_PAGE_PRAGMAS = ("page_size", "page_count", "freelist_count", "cache_size")


@dataclass(frozen=True)
class Quick:
    """What :meth:`FileSurvey.pages` reads: cheap at any size of file."""

    page_size: int
    page_count: int
    freelist: int
    cache_size: int
    registry: list[tuple[str, str, str, str | None]]
    rows: dict[str, int]
    versions: dict[str, int]


def _rows_or_none(conn: backend.SyncConnection, name: str) -> list[Any]:
    """The rows of a monitor statement; none when its table is not there (no ANALYZE yet)."""
    try:
        return list(conn.execute(SQL[name].sql).fetchall())
    except backend.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


_DBSTAT_COLUMNS = ("name", "table", "kind", "bytes", "pages")


async def collect(survey: FileSurvey, watch: FileWatch) -> FileFigures:
    """The file figures: page counts now, per-table sizes as last measured (starting a
    background measurement when they are stale)."""
    path = Path(survey.settings.database)
    quick = await survey.pages()
    page_size, page_count, freelist, cache_size = (
        quick.page_size,
        quick.page_count,
        quick.freelist,
        quick.cache_size,
    )
    survey.start()
    tables, note = survey.tables, survey.note
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
        partitions=partitions_of(quick, tables),
        schema_versions=quick.versions,
        sizes_note=note,
        sizes_age_s=None if survey.age_s is None else round(survey.age_s, 3),
        sizes_took_s=None if survey.took_s is None else round(survey.took_s, 3),
        sqlite_memory_bytes=used,
        sqlite_memory_highwater_bytes=highwater,
    )


DBSTAT_SQL = SQL["monitor_dbstat"].sql


def partitions_of(quick: Quick, tables: list[TableSize]) -> list[PartitionFigure]:
    """Every table of the partition registry with its state, its rows as ANALYZE counted them
    and its bytes from the last size scan (an archived one is no longer in the file)."""
    sizes = {t.name: t.bytes for t in tables if t.kind == "table"}
    found = []
    for name, family, state, _start in quick.registry:
        match = PARTITION_NAME.match(name)
        period = f"{match['year']}-{match['part']}" if match else "default"
        found.append(
            PartitionFigure(
                name=name,
                base=family,
                period=period,
                bytes=sizes.get(name),
                state=state,
                rows=quick.rows.get(name),
            )
        )
    return found
