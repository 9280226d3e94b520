"""The copy itself: units planned from the source, copied when new or changed, verified."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rawdb.backend.postgresql.pooled import PgConnection, connect_async
from rawdb.backend.sqlite.driver import DriverError, SyncConnection
from rawdb.backend.sqlite.tenant import SQLITE
from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.catalog.registry import load_sync
from rawdb.config import Settings
from rawdb.errors import MigrationStateError, UsageError
from rawdb.migrate import Migrator
from rawdb.migrate.postgresql import PostgresMigrator
from rawdb.queries.postgresql import ensure_partitions
from rawdb.statements import Registry, load_package
from rawdb.transfer import values
from rawdb.transfer.digest import Column, Digest, columns_of

SQL: Registry = load_package("rawdb.transfer", "postgresql")
SOURCE_SQL: Registry = load_package("rawdb.transfer")
Report = Callable[[str], None]
CHUNK = 20_000
"""Rows read from SQLite and handed to COPY at a time."""

# In the order their foreign keys need them.
WHOLE_TABLES = (
    "instruments",
    "data_source",
    "alert_rules",
    "data_query",
    "market_data_bar",
    "signals",
    "orders",
    "trades",
    "portfolio_positions",
    "performance_metrics",
    "query_performance",
    "market_data_latest",
    "rawdb_rollup_state",
    "rawdb_rollup_gaps",
    "rawdb_rollup_backfill",
)
# Table -> (family whose periods cut it, time column, key columns in order).
BY_PERIOD: dict[str, tuple[Family, str, tuple[str, ...]]] = {
    "market_data": ("market_data", "timestamp", ("id",)),
    "alert_logs": ("alert_logs", "timestamp", ("id",)),
    "market_data_1m": ("market_data", "bucket", ("instrument_id", "bucket")),
    "market_data_1h": ("market_data", "bucket", ("instrument_id", "bucket")),
}  # the key columns say what a row is; the checksum needs no order
PARTITIONED: dict[str, Family] = {"market_data": "market_data", "alert_logs": "alert_logs"}


@dataclass
class UnitReport:
    """One unit: a whole table, or one period of a table."""

    table: str
    period: str | None
    source_rows: int
    target_rows: int
    copied: bool
    """Copied in this run (False: it was copied before and had not changed)."""
    matches: bool
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.table if self.period is None else f"{self.table} {self.period}"


@dataclass
class CopyReport:
    """What a run did, unit by unit, and what it could not move."""

    units: list[UnitReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(u.matches for u in self.units)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "units": [
                {
                    "table": u.table,
                    "period": u.period,
                    "source_rows": u.source_rows,
                    "target_rows": u.target_rows,
                    "copied": u.copied,
                    "matches": u.matches,
                    "seconds": round(u.seconds, 3),
                }
                for u in self.units
            ],
            "copied_rows": sum(u.source_rows for u in self.units if u.copied),
            "skipped": self.skipped,
        }


async def copy_database(source: Path, url: str, *, report: Report | None = None) -> CopyReport:
    """Copy the rawdb database in the SQLite file ``source`` to the PostgreSQL database
    ``url`` (migrated first to the same version), resuming where an earlier run stopped."""
    say = report or (lambda _line: None)
    _check_source(source)
    PostgresMigrator(url, report=say).up()
    lite = SQLITE.connect_read_only(source)
    target = await connect_async(url, "writer")
    result = CopyReport()
    try:
        await target.execute(SQL["create_progress_table"].sql)
        plan: list[tuple[str, Period | None]] = [(table, None) for table in WHOLE_TABLES]
        for table, (family, column, _) in BY_PERIOD.items():
            plan += [(table, p) for p in _source_periods(lite, table, family, column, result)]
        for number, (table, period) in enumerate(plan, start=1):
            unit = await _unit(lite, target, table, period)
            result.units.append(unit)
            state = "copied" if unit.copied else "unchanged"
            verdict = "ok" if unit.matches else "MISMATCH"
            say(
                f"[{number}/{len(plan)}] {unit.name}: {unit.source_rows:,} rows {state}, "
                f"{verdict} ({unit.seconds:.1f} s)"
            )
        await _advance_sequences(target)
        await _register_archived(lite, target, source, result)
    finally:
        lite.close()
        await target.close()
    return result


def _check_source(source: Path) -> None:
    migrator = Migrator(source, settings=Settings(database=source), backup=False)
    migrator.check_exists()
    pending = migrator.status().shipped.pending
    if pending:
        raise MigrationStateError(
            f"{source}: rawdb migrations not applied ({', '.join(m.name for m in pending[:3])}); "
            "run `rawdb migrate up` on it first, so both databases are at the same version"
        )


def _source_periods(
    lite: SyncConnection, table: str, family: Family, column: str, result: CopyReport
) -> list[Period]:
    """The periods holding rows of ``table`` in the source, archived ones set aside."""
    parts = load_sync(lite, family)
    found: set[Period] = set()
    if table in PARTITIONED:
        for period, info in parts.periods.items():
            if info.present:
                found.add(period)
        sources = [parts.default.name]
    else:
        sources = [table]
    for name in sources:
        sql = SOURCE_SQL["source_months"].render(column=column, table=name)
        for (month,) in lite.execute(sql):
            found.add(Period.of_text(family, str(month)))
    return sorted(found)


async def _register_archived(
    lite: SyncConnection, target: PgConnection, source: Path, result: CopyReport
) -> None:
    """Each period archived on SQLite, registered archived on the target with its file, whose
    rows are counted and checksummed as the target's restore will check them."""
    for family in FAMILIES:
        columns = await columns_of(target, family)
        for period, info in sorted(load_sync(lite, family).periods.items()):
            if info.state != "archived" or not info.archive_file:
                continue
            path = Path(info.archive_file)
            path = path if path.is_absolute() else source.parent / path
            if not path.is_file():
                result.skipped.append(
                    f"{period.table}: archived on SQLite, but its file {path} is missing; "
                    "not registered here"
                )
                continue
            digest = archive_file_digest(path, period.table, columns)
            register = {"name": period.table, "family": family, "start": period.start,
                        "end": period.end, "file": str(path.resolve()), "rows": digest.rows,
                        "checksum": digest.hexdigest}  # fmt: skip
            await target.execute(SQL["register_archived"].sql, register, name="register_archived")
            result.skipped.append(
                f"{period.table}: archived on SQLite, {digest.rows:,} rows in {path}; registered "
                "archived here: `rawdb partitions restore` brings it in from that file"
            )


def archive_file_rows(path: Path, table: str, columns: list[Column]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` in a SQLite archive file, as the target's values of ``columns``,
    read as they go (archive, restore and the copy read archive files so)."""
    file = SQLITE.connect_read_only(path)
    try:
        yield from _source_rows(file, table, None, columns)
    finally:
        file.close()


def archive_file_digest(path: Path, table: str, columns: list[Column]) -> Digest:
    """Count and checksum of ``table`` in a SQLite archive file, in the target's form."""
    digest = Digest(columns)
    for row in archive_file_rows(path, table, columns):
        digest.add(row)
    return digest


def _source_tables(lite: SyncConnection, table: str, period: Period | None) -> list[str]:
    if period is None or table not in PARTITIONED:
        return [table]
    parts = load_sync(lite, PARTITIONED[table])
    present = [period.table] if parts.periods.get(period) and parts.periods[period].present else []
    return [*present, parts.default.name]


def _source_rows(
    lite: SyncConnection, table: str, period: Period | None, columns: list[Column]
) -> Iterator[tuple[Any, ...]]:
    """The unit's rows from SQLite, converted, in key order (one read transaction)."""
    names = tuple(c.name for c in columns)
    if period is None:
        selects = [SOURCE_SQL["source_rows"].render(columns=names, table=table)]
        params: tuple[Any, ...] = ()
    else:
        _, column, _ = BY_PERIOD[table]
        each = SOURCE_SQL["source_period_rows"]
        selects = [
            each.render(columns=names, table=t, column=column)
            for t in _source_tables(lite, table, period)
        ]
        bounds = (period.start_text, period.end_text)
        if table.startswith("market_data_1"):  # buckets are 'YYYY-MM-DD HH:MM'
            bounds = (period.start_text[:16], period.end_text[:16])
        params = bounds * len(selects)
    sql = " UNION ALL ".join(selects)  # a month's rows may be in its table and the default one
    converts = [c.convert for c in columns]
    try:
        with SQLITE.transaction(lite, f"copy: reading {table}", write=False):
            cursor = lite.execute(sql, params)
            while batch := cursor.fetchmany(CHUNK):
                for row in batch:
                    yield tuple(convert(v) for convert, v in zip(converts, row, strict=True))
    except DriverError as exc:
        raise SQLITE.translate(exc, where=f"reading {table} from the SQLite database") from exc


async def _target_digest(
    target: PgConnection, table: str, period: Period | None, columns: list[Column]
) -> Digest:
    names = tuple(c.name for c in columns)
    digest = Digest(columns)
    if period is None:
        sql = SQL["target_rows"].render(columns=names, table=table)
        params: dict[str, Any] = {}
    else:
        column = BY_PERIOD[table][1]
        sql = SQL["target_period_rows"].render(columns=names, table=table, column=column)
        params = _bounds(period)
    async for row in target.stream(sql, params):
        digest.add(row)
    return digest


def _bounds(period: Period) -> dict[str, Any]:
    return {
        "start": values.timestamp_of(period.start_text),
        "end": values.timestamp_of(period.end_text),
    }


async def _unit(
    lite: SyncConnection, target: PgConnection, table: str, period: Period | None
) -> UnitReport:
    started = time.perf_counter()
    columns = await columns_of(target, table)
    if not columns:
        raise UsageError(f"{table}: not in the PostgreSQL database; is it at the same version?")
    label = None if period is None else period.table.removeprefix(f"{period.family}_")
    unit_key = {"unit": table if label is None else f"{table} {label}"}
    done = await target.fetchone(SQL["progress_of"].sql, unit_key, name="progress_of")
    source, target_now, copied = Digest(columns), Digest(columns), False
    if done is not None:  # copied by an earlier run: again only if either side changed since
        for row in _source_rows(lite, table, period, columns):
            source.add(row)
        target_now = await _target_digest(target, table, period, columns)
    if (done is None or done["checksum"] != source.hexdigest
            or target_now.hexdigest != source.hexdigest):  # fmt: skip
        copied = True
        async with target.transaction():
            if table in PARTITIONED and period is not None:
                await ensure_partitions(
                    target, PARTITIONED[table], {period.start_text[:7]}, anywhere=True
                )
            written = Digest(columns)
            rows = _source_rows(lite, table, period, columns)
            await _replace(target, table, period, columns, _counted(rows, written))
            await target.execute(
                SQL["record_progress"].sql,
                {**unit_key, "rows": written.rows, "checksum": written.hexdigest},
                name="record_progress",
            )
        source = written
        target_now = await _target_digest(target, table, period, columns)
    return UnitReport(
        table=table,
        period=label,
        source_rows=source.rows,
        target_rows=target_now.rows,
        copied=copied,
        matches=target_now.hexdigest == source.hexdigest,
        seconds=time.perf_counter() - started,
    )


def _counted(rows: Iterator[tuple[Any, ...]], digest: Digest) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        digest.add(row)
        yield row


async def _replace(
    target: PgConnection,
    table: str,
    period: Period | None,
    columns: list[Column],
    rows: Iterator[tuple[Any, ...]],
) -> None:
    """The unit's rows in the target become ``rows``: a period's are deleted and copied; a
    whole table is staged and merged (its rows may be referenced: they are updated in place,
    and only rows gone from the source are deleted)."""
    names = tuple(c.name for c in columns)
    types = [c.copy_type for c in columns]
    if period is not None:
        clear = SQL["clear_period"].render(table=table, column=BY_PERIOD[table][1])
        await target.execute(clear, _bounds(period), name="clear_period")
        await target.copy_rows(table, names, types, rows, name=f"copy {table}")
        return
    found = await target.fetchall(SQL["primary_key"].sql, {"table": table}, name="primary_key")
    keys = tuple(r["column_name"] for r in found)
    await target.execute(SQL["create_stage"].render(table=table), name="create_stage")
    await target.copy_rows("rawdb_copy_stage", names, types, rows, name=f"copy {table}")
    values = tuple(n for n in names if n not in keys)
    if values:
        merge = SQL["merge_stage"].render(table=table, columns=names, keys=keys, values=values)
    else:
        merge = SQL["merge_stage_keys"].render(table=table, columns=names, keys=keys)
    await target.execute(merge, name="merge_stage")
    await target.execute(SQL["delete_gone"].render(table=table, keys=keys), name="delete_gone")


async def _advance_sequences(target: PgConnection) -> None:
    """Ids the target hands out next follow the copied ones."""
    for row in await target.fetchall(SQL["id_sequences"].sql, name="id_sequences"):
        advance = SQL["advance_sequence"].render(table=row["table_name"])
        await target.execute(advance, {"sequence": row["sequence"]}, name="advance_sequence")
