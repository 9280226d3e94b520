"""Signals: record a strategy's signal, read one, list the confident ones since a time."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import InvalidInput
from rawdb.models import validate_one
from rawdb.pool import Pool
from rawdb.queries.run import fetch_all, fetch_one, new_id, reading
from rawdb.trading.models import Signal, SignalIn
from rawdb.trading.units import check_limit, to_e8, to_us


async def record_signal(pool: Pool, signal: SignalIn | dict[str, Any]) -> Signal:
    """Store a signal and return it with its id.

    Invalid input (a naive timestamp, a confidence outside [0, 1], a price with more than 8
    decimal places, a float price) raises :class:`~rawdb.errors.InvalidInput` naming the field.
    """
    item = validate_one(SignalIn, signal, "signal")
    params = {
        "strategy": item.strategy,
        "symbol": item.symbol,
        "direction": item.direction,
        "confidence_score": item.confidence_score,
        "target_price_e8": None
        if item.target_price is None
        else to_e8(item.target_price, "target_price"),
        "stop_price_e8": None if item.stop_price is None else to_e8(item.stop_price, "stop_price"),
        "timestamp": to_us(item.timestamp, "timestamp"),
        "expires_at": None if item.expires_at is None else to_us(item.expires_at, "expires_at"),
        "payload": None if item.payload is None else _json(item.payload),
    }
    async with pool.write() as conn:
        new = await fetch_one(conn, "insert_signal", params)
        row = await fetch_one(conn, "get_signal", {"id": new_id(new)})
    assert row is not None  # just inserted in this transaction
    return Signal.from_row(row)


async def get_signal(
    pool: Pool, signal_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> Signal | None:
    """One signal by id, or None."""
    async with reading(pool, timeout) as conn:
        row = await fetch_one(conn, "get_signal", {"id": signal_id})
    return None if row is None else Signal.from_row(row)


async def signals_above(
    pool: Pool,
    min_confidence: float,
    since: datetime,
    *,
    symbol: str | None = None,
    limit: int = 100,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[Signal]:
    """Signals with ``confidence_score >= min_confidence`` and ``timestamp >= since``.

    Strongest first (then newest first), optionally of one symbol; reads the
    ``(confidence_score, timestamp)`` index from ``min_confidence`` upwards.
    """
    if not isinstance(min_confidence, (int, float)) or not math.isfinite(min_confidence):
        raise InvalidInput(f"min_confidence must be a finite number, got {min_confidence!r}")
    params = {
        "min_confidence": float(min_confidence),
        "since": to_us(since, "since"),
        "symbol": symbol,
        "limit": check_limit(limit),
    }
    async with reading(pool, timeout) as conn:
        rows = await fetch_all(conn, "signals_above_confidence", params)
    return [Signal.from_row(r) for r in rows]


def _json(payload: dict[str, Any]) -> str:
    try:
        return json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"signal: field 'payload' is not JSON-serialisable: {exc}") from None
