"""The partition lifecycle on PostgreSQL: premake, and retention by archive.

Premake attaches the months (quarters) from the current one to the policy's horizon, as on
SQLite. Archive moves an expired period out of the database, each step ending in a state a
rerun finishes from:

1. ``archiving``: the registry marks it (the writer refuses rows for it from then on);
2. ``ALTER TABLE … DETACH PARTITION … CONCURRENTLY``: the partition leaves ``market_data``
   without blocking readers or writers of the other months (``lock_timeout`` bounds each of its
   waits; an interrupted one is finished with ``DETACH … FINALIZE``);
3. the detached table's rows are written into ``<archive folder>/<table>.sqlite3``, the same
   file SQLite's archive makes (its month table, from the SQLite template);
4. the file is read back and compared with the table (count and checksum of every row's
   values, as rawdb copy compares them); only then is the table dropped and the period marked
   ``archived`` with its file, row count and checksum, and audited.

Restore reads the file twice: once to compare it with what was archived (count and
checksum in the registry), once to COPY its rows into the period's table, created, checked and
attached again in the same transaction that re-registers it; the table is then counted and
checksummed before that transaction commits. The file stays where it is.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rawdb import log
from rawdb.backend.postgresql.pooled import PgConnection, connect_async
from rawdb.backend.sqlite.driver import open_plain
from rawdb.backend.sqlite.tenant import SQLITE
from rawdb.catalog import templates
from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.catalog.policy import Policy, current
from rawdb.errors import DatabaseRefused, InvalidInput, UsageError
from rawdb.models import to_db_time
from rawdb.partitions.status import FamilyStatus, TableStatus
from rawdb.pool import Pool
from rawdb.queries.postgresql import ensure_partitions
from rawdb.queries.postgresql.ticks import attach
from rawdb.statements import Registry, load_package
from rawdb.transfer.digest import Digest, columns_of
from rawdb.transfer.run import archive_file_digest, archive_file_rows

SQL: Registry = load_package("rawdb.partitions", "postgresql")
FILE_SQL: Registry = load_package("rawdb.partitions")


@dataclass(frozen=True)
class Archived:
    """What archiving one period did."""

    table: str
    action: str  # archived, already archived, would archive; restored, already active, …
    rows: int | None
    checksum: str | None
    archive_file: str


def _writer(pool: Pool) -> Any:
    return cast("Any", pool).write()


async def status(pool: Pool) -> list[FamilyStatus]:
    """Every family's partitions, oldest first, as :func:`rawdb.partitions.status` reports a
    file's (there is no default table here). Rows are the planner's estimate once a table was
    analyzed (autovacuum does it), else counted; an archived period's are those archived."""
    found = []
    async with cast("Any", pool).read() as conn:
        for family in FAMILIES:
            tables = []
            for row in await conn.fetchall(SQL["partitions_status"].sql, {"family": family}):
                rows = row["row_count"] if row["bytes"] is None else row["estimate"]
                if row["bytes"] is not None and row["estimate"] < 0:
                    count = SQL["partition_count_rows"].render(table=row["name"])
                    rows = (await conn.fetchone(count))["n"]
                period = Period.from_name(row["name"])
                tables.append(
                    TableStatus(
                        row["name"],
                        row["state"],
                        period.start_text,
                        period.end_text,
                        rows,
                        row["bytes"],
                        archive_file=row["archive_file"],
                    )
                )
            found.append(FamilyStatus(family, tables))
    return found


async def premake(pool: Pool, *, now: datetime | None = None) -> list[str]:
    """Attach the missing partitions from the current period to the policy's horizon."""
    setup = current()
    moment = now or setup.clock()
    made: list[str] = []
    async with _writer(pool) as conn:
        for family in FAMILIES:
            this = Period.of_time(family, moment)
            months = {this.shifted(i).start_text[:7] for i in range(setup.policy.ahead(family) + 1)}
            made += await ensure_partitions(conn, family, months, anywhere=True)
    if made:
        log.get_logger("partitions").info(log.PARTITIONS_CREATED, tables=made)
    return made


async def expired(
    pool: Pool, *, policy: Policy | None = None, now: datetime | None = None
) -> list[Period]:
    """Periods still online (or half archived) that the policy no longer keeps, oldest first."""
    setup = current()
    chosen = policy or setup.policy
    moment = now or setup.clock()
    found: list[Period] = []
    async with cast("Any", pool).read() as conn:
        for family in FAMILIES:
            limit = chosen.expired(family, moment)
            rows = await conn.fetchall(SQL["partitions_online"].sql, {"family": family})
            found += [p for p in (Period.from_name(r["name"]) for r in rows) if p < limit]
    return sorted(found, key=lambda p: (p.family, p))


async def apply_retention(
    pool: Pool, *, policy: Policy | None = None, now: datetime | None = None, dry_run: bool = False
) -> list[Archived]:
    """Archive every expired period, one after the other (``dry_run``: name them only)."""
    folder = (policy or current().policy).archive_dir
    if folder is None:
        raise UsageError(
            "retention on PostgreSQL needs an archive folder: set RAWDB_PARTITIONS_ARCHIVE_DIR "
            "(there is no database file to put it beside)"
        )
    return [
        await archive_period(pool, period, folder=folder, dry_run=dry_run)
        for period in await expired(pool, policy=policy, now=now)
    ]


async def archive_period(
    pool: Pool, period: Period, *, folder: Path, dry_run: bool = False
) -> Archived:
    """Move one period's partition into its archive file (see the module's steps)."""
    path = folder / f"{period.table}.sqlite3"
    async with _writer(pool) as conn:
        info = await _registered(conn, period)
        if info["state"] == "archived":
            return Archived(period.table, "already archived", info["row_count"] or 0,
                            info["checksum"], str(info["archive_file"]))  # fmt: skip
        if dry_run:
            return Archived(period.table, "would archive", None, None, str(path))
        await conn.execute(SQL["mark_archiving"].sql, {"name": period.table})
    # Its own session: DETACH … CONCURRENTLY runs outside any transaction, and waiting for it
    # must not hold this process's writer.
    conn = await connect_async(
        cast("Any", pool).url, "writer", lock_timeout_ms=pool.settings.busy_timeout_ms
    )
    try:
        await _detach(conn, period)
        folder.mkdir(parents=True, exist_ok=True)
        columns = await columns_of(conn, period.table)
        rows: list[tuple[Any, ...]] = []
        table = await _table_digest(conn, period, columns, keep=rows)
        _write_file(path, period, [c.name for c in columns], rows)
        copy = archive_file_digest(path, period.table, columns)
        if (copy.rows, copy.hexdigest) != (table.rows, table.hexdigest):
            raise DatabaseRefused(
                f"{period.table}: the archive file ({copy.rows} rows) differs from the table "
                f"({table.rows} rows); nothing was dropped. Run the archive again: it copies "
                "afresh"
            )
        async with conn.transaction():
            await conn.execute(
                SQL["partitions_drop_archived"].render(table=period.table),
                name="partitions_drop_archived",
            )
            await conn.execute(
                SQL["mark_archived"].sql,
                {
                    "name": period.table,
                    "file": str(path),
                    "rows": table.rows,
                    "checksum": table.hexdigest,
                },
                name="mark_archived",
            )
    finally:
        await conn.close()
    log.get_logger("partitions").info(log.PARTITIONS_ARCHIVED, table=period.table, rows=table.rows)
    return Archived(period.table, "archived", table.rows, table.hexdigest, str(path))


async def restore_period(pool: Pool, period: Period, *, dry_run: bool = False) -> Archived:
    """Bring an archived period back from its archive file (see the module's steps)."""
    async with _writer(pool) as conn:
        info = await _registered(conn, period)
        if info["state"] == "active":
            return Archived(period.table, "already active", info["row_count"] or 0,
                            info["checksum"], str(info["archive_file"] or ""))  # fmt: skip
        if info["state"] != "archived":
            raise UsageError(
                f"{period.table} is {info['state']}: run `rawdb partitions archive --family "
                f"{period.family} {period.label}` to finish archiving it first"
            )
        path = Path(info["archive_file"])
        if not path.is_file():
            raise UsageError(f"{period.table}: archive file {path} is missing; nothing restored")
        columns = await columns_of(conn, period.family)
        archived = (info["row_count"], info["checksum"])
        _same(archive_file_digest(path, period.table, columns), archived, f"{path}", "archived")
        if dry_run:
            return Archived(period.table, "would restore", *archived, str(path))
        await conn.execute(SQL["partition_forget"].sql, {"name": period.table})
        await attach(conn, period.family, period, f"restore from {path}")
        await conn.copy_rows(
            period.table,
            [c.name for c in columns],
            [c.copy_type for c in columns],
            archive_file_rows(path, period.table, columns),
            name="partition_restore",
        )
        table = await _table_digest(conn, period, columns)
        _same(table, archived, period.table, "restored")
        marks = {"name": period.table, "file": str(path), "rows": table.rows,
                 "checksum": table.hexdigest}  # fmt: skip
        await conn.execute(SQL["mark_restored"].sql, marks, name="mark_restored")
    log.get_logger("partitions").info(log.PARTITIONS_RESTORED, table=period.table, rows=table.rows)
    return Archived(period.table, "restored", table.rows, table.hexdigest, str(path))


async def _registered(conn: PgConnection, period: Period) -> dict[str, Any]:
    info = await conn.fetchone(SQL["partition_state"].sql, {"name": period.table})
    if info is None:
        raise UsageError(f"{period.table}: no such partition in the registry")
    return info


async def _table_digest(
    conn: PgConnection, period: Period, columns: list[Any], keep: list[Any] | None = None
) -> Digest:
    """Count and checksum of the period's table, streamed (its rows kept in ``keep``)."""
    digest = Digest(columns)
    select = SQL["partition_rows"].render(
        columns=tuple(c.name for c in columns), table=period.table
    )
    async for row in conn.stream(select, name="partition_rows"):
        digest.add(row)
        if keep is not None:
            keep.append(row)
    return digest


def _same(found: Digest, archived: tuple[int, str], where: str, step: str) -> None:
    if (found.rows, found.hexdigest) != archived:
        raise DatabaseRefused(
            f"{where}: holds {found.rows} rows with checksum {found.hexdigest}, but "
            f"{archived[0]} rows with {archived[1]} were archived; nothing {step}"
        )


async def purge_deleted(pool: Pool, family: Family, older_than: datetime) -> dict[str, int]:
    """Delete for good the rows of ``family`` soft-deleted before ``older_than``, audited per
    partition in the same transaction; rows deleted per partition."""
    if older_than.tzinfo is None:
        raise InvalidInput("older_than must be a timezone-aware datetime")
    purge = SQL["partitions_purge_deleted"]
    params = {"cutoff": older_than, "detail": f"deleted_at < {to_db_time(older_than)}"}
    async with _writer(pool) as conn:
        rows = await conn.fetchall(purge.render(family=family), params, name=purge.name)
    return {row["table_name"]: row["row_count"] for row in rows}


async def _detach(conn: PgConnection, period: Period) -> None:
    parent = await conn.fetchone(SQL["partition_parent"].sql, {"name": period.table})
    pending = await conn.fetchone(SQL["detach_pending"].sql, {"name": period.table})
    names = {"family": period.family, "table": period.table}
    if pending and pending["pending"]:  # an earlier DETACH CONCURRENTLY was interrupted
        finish = SQL["partitions_detach_finalize"]
        await conn.execute(finish.render(**names), name=finish.name)
    elif parent is not None:
        detach = SQL["partitions_detach"]
        await conn.execute(detach.render(**names), name=detach.name)


def _write_file(path: Path, period: Period, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """The period's rows into a fresh SQLite archive file, as SQLite's archive writes it."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    lite = open_plain(path)
    position = {name: i for i, name in enumerate(names)}
    insert = FILE_SQL[f"archive_file_{period.family}"]
    order = [position[column] for column in insert.params]
    try:
        lite.execute(FILE_SQL["archive_file_durable"].sql)
        with SQLITE.transaction(lite, f"archive {period.table}: writing its file"):
            for statement in templates.table_ddl(period):
                lite.execute(statement)
            lite.executemany(
                insert.render(table=period.table),
                ([_stored(row[i]) for i in order] for row in rows),
            )
    finally:
        lite.close()


def _stored(value: Any) -> Any:
    """A PostgreSQL value as SQLite stores it (times as rawdb's UTC text)."""
    if isinstance(value, datetime):
        return to_db_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    return value
