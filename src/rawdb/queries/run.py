"""Running a named statement on a pooled connection, rows mapped to models: the one way the
query functions and the packages above them (trading) run a statement.

An application runs its own named statements (loaded with :func:`rawdb.queries.load`) with
:func:`query` and :func:`query_one`, under a deadline like every typed read:

    rows = await run.query(pool, APP_SQL["open_positions_report"], {"user_id": 7}, timeout=0.05)
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, TypeAdapter

from rawdb.backend import Connection, ExecResult, Params, Row
from rawdb.catalog.periods import FAMILIES, default_table
from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import UsageError
from rawdb.queries import STATEMENTS
from rawdb.statements import Returns, Statement

if TYPE_CHECKING:
    from rawdb.pool import Pool

M = TypeVar("M", bound=BaseModel)


def reading(
    pool: Pool, timeout: ReadTimeout = FROM_SETTINGS
) -> AbstractAsyncContextManager[Connection]:
    """The connection a typed function reads on: inside ``pool.write()`` of the calling task
    the writer, in its transaction, so the block's own rows are found; else a reader, under
    the deadline ``timeout`` (see :meth:`rawdb.pool.Pool.read`)."""
    return pool.read(own_writes=True, timeout=timeout)


async def query(
    pool: Pool,
    statement: Statement | str,
    params: Params = (),
    *,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Row]:
    """The rows of a named statement (an application's :class:`Statement`, or the name of one
    of rawdb's), read as the typed functions read. ``timeout`` is the deadline in seconds
    (None: none; left out: ``Settings.read_timeout_s``); past it SQLite is interrupted and
    :class:`~rawdb.errors.QueryTimeout` names the statement."""
    stmt = _readable(pool, statement)
    async with reading(pool, timeout) as conn:
        return await conn.fetchall(stmt.sql, params, name=stmt.name)


async def query_one(
    pool: Pool,
    statement: Statement | str,
    params: Params = (),
    *,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> Row | None:
    """The first row of a named statement declared ``returns: row`` or ``value``, or None;
    ``timeout`` as for :func:`query`."""
    stmt = _readable(pool, statement, ("row", "value"))
    async with reading(pool, timeout) as conn:
        return await conn.fetchone(stmt.sql, params, name=stmt.name)


def _readable(
    pool: Pool,
    statement: Statement | str,
    shapes: tuple[Returns, ...] = ("rows", "row", "value"),
) -> Statement:
    stmt = named(pool, statement) if isinstance(statement, str) else statement
    if stmt.dialect != pool.dialect:
        raise UsageError(
            f"{stmt.source}: {stmt.name!r} is written for {stmt.dialect} and this pool is on "
            f"{pool.dialect}; load the application's {pool.dialect} statements with "
            f'rawdb.queries.load(folder, dialect="{pool.dialect}")'
        )
    stmt.expect(*shapes)
    # Written against a default table, it is rendered over a family's period tables by the
    # typed functions; run as it stands it would miss every period table.
    if stmt.slots or any(default_table(f) in stmt.sql for f in FAMILIES):
        raise UsageError(
            f"{stmt.source}: {stmt.name!r} is a template over a table family; call the typed "
            "function that reads it (rawdb.queries.ticks, rawdb.queries.alerts), which fills "
            "it for the tables a read needs"
        )
    return stmt


async def fetch_all(conn: Connection, name: str, params: Params = ()) -> list[Row]:
    stmt = named(conn, name)
    stmt.expect("rows", "row")
    return await conn.fetchall(stmt.sql, params, name=name)


async def fetch_one(conn: Connection, name: str, params: Params = ()) -> Row | None:
    stmt = named(conn, name)
    stmt.expect("row", "value")
    return await conn.fetchone(stmt.sql, params, name=name)


async def execute(conn: Connection, name: str, params: Params = ()) -> int:
    """Run a statement that returns nothing; the rows it changed."""
    stmt = named(conn, name)
    stmt.expect("nothing")
    return changed_rows(await conn.execute(stmt.sql, params, name=name))


def changed_rows(done: ExecResult | int) -> int:
    """The rows a statement changed, as either engine's connection tells it."""
    return done if isinstance(done, int) else done.rowcount


def new_id(row: Row | None) -> int:
    """The id an ``INSERT … RETURNING id`` gave (both engines; PostgreSQL has no lastrowid)."""
    assert row is not None  # an INSERT that did not raise returned its row
    return int(row["id"])


async def execute_many(conn: Connection, name: str, rows: Iterable[Params]) -> int:
    stmt = STATEMENTS[name]
    stmt.expect("nothing")
    return await conn.executemany(stmt.sql, rows, name=name)


def named(pool_or_connection: Pool | Connection, name: str) -> Statement:
    """rawdb's statement ``name`` in the dialect of a pool or connection: the same name is the
    same intent on every engine (``queries/sql/<dialect>/`` holds the other engines' text)."""
    api = engine_api(pool_or_connection)
    return STATEMENTS[name] if api is None else cast("Statement", api.SQL[name])


def engine_api(pool_or_connection: Pool | Connection) -> Any:
    """The data API of the engine of a pool (or a connection it lent) when that engine has its
    own (``rawdb.queries.<dialect>``, e.g. PostgreSQL's), else None: SQLite's is the code of
    this package."""
    dialect = pool_or_connection.dialect
    return None if dialect == "sqlite" else importlib.import_module(f"rawdb.queries.{dialect}")


def to_model(model: type[M], row: Row | None, **extra: Any) -> M | None:
    """A row as a model (None stays None); stored UTC text becomes aware datetimes."""
    if row is None:
        return None
    return model.model_validate({**_with_zone(dict(row)), **extra})


def to_models(model: type[M], rows: Iterable[Row]) -> list[M]:
    """Rows as models, validated in one pydantic call: 3.4 us a tick against 14 us one row at
    a time (measured on this project's machine), which is most of a small range read."""
    rows = list(rows)
    if not rows:
        return []
    keys = rows[0].keys()
    zoned = [key for key in keys if key in _TIME_COLUMNS]
    values = []
    for row in rows:
        value = dict(zip(keys, row, strict=True))
        for key in zoned:
            text = value[key]
            if isinstance(text, str) and "+" not in text:
                value[key] = text + "Z"  # stored UTC text; pydantic reads the space separator
        values.append(value)
    return cast("list[M]", _adapter(model).validate_python(values))


def dicts_to_models(model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    """Rows a driver gave as dicts (times already aware datetimes), in one pydantic call."""
    return cast("list[M]", _adapter(model).validate_python(rows)) if rows else []


def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


_TIME_COLUMNS = frozenset(
    {
        "timestamp",
        "start",
        "deleted_at",
        "created_at",
        "updated_at",
        "last_tick",
        "last_triggered",
        "delivery_attempted_at",
        "delivery_completed_at",
    }
)


def _with_zone(values: dict[str, Any]) -> dict[str, Any]:
    for key in _TIME_COLUMNS & values.keys():
        text = values[key]
        if isinstance(text, str):
            values[key] = text.replace(" ", "T") + "+00:00" if "+" not in text else text
    return values
