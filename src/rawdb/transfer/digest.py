"""Rows compared across engines: a table's columns with their conversions, and a checksum of
rows in canonical form that does not depend on their order."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rawdb.backend.postgresql.pooled import PgConnection
from rawdb.statements import Registry, load_package
from rawdb.transfer import values

SQL: Registry = load_package("rawdb.transfer", "postgresql")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    convert: values.Convert
    copy_type: str
    canonical: Callable[[Any], str]


class Digest:
    """A count and a checksum of rows in their canonical form, whatever their order: the sum
    of each row's SHA-256 (its first 128 bits). The engines order text differently (SQLite
    by bytes, PostgreSQL by collation), so no ORDER BY is needed, nor could be trusted."""

    def __init__(self, columns: list[Column]) -> None:
        self.rows = 0
        self._sum = 0
        self._canonical = [c.canonical for c in columns]

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows += 1
        line = "\x1f".join([write(v) for write, v in zip(self._canonical, row, strict=True)])
        self._sum += int.from_bytes(hashlib.sha256(line.encode()).digest()[:16], "big")

    @property
    def hexdigest(self) -> str:
        return f"{self._sum % (1 << 128):032x}"


async def columns_of(target: PgConnection, table: str) -> list[Column]:
    """A PostgreSQL table's columns, with how SQLite's values become theirs."""
    rows = await target.fetchall(SQL["table_columns"].sql, {"table": table}, name="table_columns")
    out = []
    for row in rows:
        convert, copy_type = values.converter(row["data_type"], row["numeric_scale"])
        canonical = values.canonical_for(row["data_type"])
        out.append(Column(row["column_name"], row["data_type"], convert, copy_type, canonical))
    return out
