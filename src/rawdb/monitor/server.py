"""The health report's figures of a database server (PostgreSQL): what `FileFigures` are for
a SQLite file. Read in one round of small catalogue queries on one of the pool's readers."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, Field

from rawdb.monitor.figures import PARTITION_NAME, PartitionFigure, TableSize
from rawdb.monitor.sql import BY_DIALECT
from rawdb.pool import Pool
from rawdb.statements import Registry

SQL: Registry = BY_DIALECT["postgresql"]


class ServerStatement(BaseModel):
    """One statement as pg_stat_statements counts it (every client of the database)."""

    query: str
    calls: int
    total_seconds: float
    mean_ms: float
    rows: int


class ServerFigures(BaseModel):
    """The database on its server as the monitor last read it."""

    database: str = Field(description="the URL, without its password")
    database_bytes: int
    sessions: int = Field(description="sessions connected to this database, every client's")
    rawdb_sessions: int = Field(description="of which rawdb's (application_name 'rawdb …')")
    waiting_locks: int = Field(description="lock requests waiting right now")
    oldest_transaction_s: float | None = Field(
        default=None, description="age of the oldest open transaction of another session"
    )
    cache_hit_ratio: float | None = Field(
        default=None, description="shared buffers hits over all block reads, since the reset"
    )
    tables: list[TableSize] = Field(default_factory=list)
    partitions: list[PartitionFigure] = Field(default_factory=list)
    schema_versions: dict[str, int] = Field(default_factory=dict)
    statements: list[ServerStatement] = Field(
        default_factory=list, description="top 10 by time, when pg_stat_statements is installed"
    )
    statements_note: str = ""


async def collect(pool: Pool) -> ServerFigures:
    """The server's figures, on one reader."""
    async with cast("Any", pool).read() as conn:
        head = await conn.fetchone(SQL["monitor_server"].sql, name="monitor_server")
        tables = await conn.fetchall(SQL["monitor_tables"].sql, name="monitor_tables")
        registry = await conn.fetchall(SQL["monitor_registry"].sql, name="monitor_registry")
        versions = await conn.fetchall(SQL["monitor_versions"].sql, name="monitor_versions")
        present = await conn.fetchone(SQL["monitor_statements_extension"].sql)
        statements: list[dict[str, Any]] = []
        note = "pg_stat_statements is not installed in this database"
        if present and present["present"]:
            statements = await conn.fetchall(SQL["monitor_top_statements"].sql)
            note = ""
    by_name = {t["name"]: t for t in tables}
    sizes = [
        TableSize(name=t["name"], table=t["name"], kind="table", bytes=t["bytes"], pages=0)
        for t in tables
    ]
    partitions = []
    for row in registry:
        match = PARTITION_NAME.match(row["name"])
        found = by_name.get(row["name"])
        partitions.append(
            PartitionFigure(
                name=row["name"],
                base=row["family"],
                period=f"{match['year']}-{match['part']}" if match else "",
                bytes=None if found is None else found["bytes"],
                state=row["state"],
                rows=None if found is None else found["rows"],
            )
        )
    assert head is not None  # one row, always
    return ServerFigures(
        database=cast("Any", pool).database_label,
        database_bytes=head["database_bytes"],
        sessions=head["sessions"],
        rawdb_sessions=head["rawdb_sessions"],
        waiting_locks=head["waiting_locks"],
        oldest_transaction_s=None
        if head["oldest_transaction_s"] is None
        else round(float(head["oldest_transaction_s"]), 3),
        cache_hit_ratio=None
        if head["cache_hit_ratio"] is None
        else round(head["cache_hit_ratio"], 4),
        tables=sizes,
        partitions=partitions,
        schema_versions={r["set_name"]: r["version"] for r in versions},
        statements=[ServerStatement(**s) for s in statements],
        statements_note=note,
    )
