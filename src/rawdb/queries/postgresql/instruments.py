"""Instruments on PostgreSQL: what :mod:`rawdb.queries.instruments` does."""

from __future__ import annotations

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.models import Instrument, InstrumentIn, validate_one
from rawdb.pool import Pool
from rawdb.queries.postgresql.common import SQL, pg
from rawdb.queries.run import dicts_to_models


async def add_instrument(pool: Pool, instrument: InstrumentIn | dict[str, object]) -> Instrument:
    item = validate_one(InstrumentIn, instrument, "instrument")
    async with pg(pool).write() as conn:
        row = await conn.fetchone(
            SQL["insert_instrument"].sql, item.model_dump(), name="insert_instrument"
        )
    return Instrument.model_validate(row)


async def get_instrument(
    pool: Pool, instrument_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Instrument | None:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        row = await conn.fetchone(SQL["get_instrument"].sql, {"id": instrument_id})
    return None if row is None else Instrument.model_validate(row)


async def get_instrument_by_symbol(
    pool: Pool, symbol: str, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Instrument | None:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        row = await conn.fetchone(SQL["get_instrument_by_symbol"].sql, {"symbol": symbol})
    return None if row is None else Instrument.model_validate(row)


async def list_instruments(pool: Pool, *, timeout: ReadTimeout = FROM_SETTINGS) -> list[Instrument]:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(SQL["list_instruments"].sql)
    return dicts_to_models(Instrument, rows)
