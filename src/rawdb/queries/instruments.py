"""Instruments: register, look up, list, delete (refused while data refers to them)."""

from __future__ import annotations

from datetime import UTC, datetime

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import ForeignKeyViolation
from rawdb.models import Instrument, InstrumentIn, to_db_time, validate_one
from rawdb.pool import Pool
from rawdb.queries.run import (
    engine_api,
    execute,
    fetch_all,
    fetch_one,
    new_id,
    reading,
    to_model,
    to_models,
)


async def add_instrument(pool: Pool, instrument: InstrumentIn | dict[str, object]) -> Instrument:
    """Register an instrument; a duplicate symbol raises :class:`~rawdb.errors.UniqueViolation`.

    :class:`~rawdb.errors.InvalidInput` names the field when the symbol is not printable text
    of 1-10 characters without surrounding whitespace, or the type or status is not one of
    :data:`~rawdb.models.INSTRUMENT_TYPES` / :data:`~rawdb.models.INSTRUMENT_STATUSES`.
    """
    if (api := engine_api(pool)) is not None:
        return await api.add_instrument(pool, instrument)  # type: ignore[no-any-return]
    item = validate_one(InstrumentIn, instrument, "instrument")
    async with pool.write() as conn:
        new = await fetch_one(
            conn, "insert_instrument", {**item.model_dump(), "now": to_db_time(datetime.now(UTC))}
        )
        row = await fetch_one(conn, "get_instrument", (new_id(new),))
    found = to_model(Instrument, row)
    assert found is not None  # just inserted in this transaction
    return found


async def get_instrument(
    pool: Pool, instrument_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Instrument | None:
    """One instrument by id, or None."""
    if (api := engine_api(pool)) is not None:
        return await api.get_instrument(pool, instrument_id, timeout=timeout)  # type: ignore[no-any-return]
    async with reading(pool, timeout) as conn:
        return to_model(Instrument, await fetch_one(conn, "get_instrument", (instrument_id,)))


async def get_instrument_by_symbol(
    pool: Pool, symbol: str, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Instrument | None:
    """One instrument by symbol, or None."""
    if (api := engine_api(pool)) is not None:
        return await api.get_instrument_by_symbol(pool, symbol, timeout=timeout)  # type: ignore[no-any-return]
    async with reading(pool, timeout) as conn:
        return to_model(Instrument, await fetch_one(conn, "get_instrument_by_symbol", (symbol,)))


async def list_instruments(pool: Pool, *, timeout: ReadTimeout = FROM_SETTINGS) -> list[Instrument]:
    """Every instrument, ordered by symbol."""
    if (api := engine_api(pool)) is not None:
        return await api.list_instruments(pool, timeout=timeout)  # type: ignore[no-any-return]
    async with reading(pool, timeout) as conn:
        return to_models(Instrument, await fetch_all(conn, "list_instruments"))


async def delete_instrument(pool: Pool, instrument_id: int) -> bool:
    """Delete an instrument with no data; True if it existed.

    Raises :class:`~rawdb.errors.ForeignKeyViolation` while ticks, rules or logs refer to it;
    nothing is deleted then.
    """
    try:
        async with pool.write() as conn:
            return await execute(conn, "delete_instrument", (instrument_id,)) == 1
    except ForeignKeyViolation as exc:
        raise ForeignKeyViolation(
            f"statement 'delete_instrument': instrument {instrument_id} still has ticks, alert "
            "rules or alert logs (foreign keys RESTRICT); nothing was deleted",
            statement="delete_instrument",
        ) from exc
