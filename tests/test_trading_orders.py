"""Signals and orders of the QuantumLeap tables, on a real database file and on a real
PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rawdb.errors import (
    CheckViolation,
    ForeignKeyViolation,
    InvalidInput,
    UniqueViolation,
    UsageError,
)
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS
from rawdb.queries.run import named
from rawdb.trading import (
    OrderStateError,
    cancel_order,
    get_order,
    get_order_by_client_id,
    get_signal,
    open_orders,
    place_order,
    record_fill,
    record_signal,
    signals_above,
    update_order_status,
)

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def pool(any_pool: Pool) -> Pool:
    """Every test here runs on both engines (SQLite-only ones take ``sqlite_pool``)."""
    return any_pool


def signal(**changes: Any) -> dict[str, Any]:
    return {
        "strategy": "momentum",
        "symbol": "AAPL",
        "direction": "long",
        "confidence_score": 0.8,
        "timestamp": T0,
        **changes,
    }


def order(client_order_id: str = "c-1", **changes: Any) -> dict[str, Any]:
    return {
        "client_order_id": client_order_id,
        "user_id": 7,
        "symbol": "AAPL",
        "side": "buy",
        "quantity": Decimal("10"),
        **changes,
    }


async def count(pool, table: str) -> int:  # type: ignore[no-untyped-def]
    async with pool.read() as conn:
        row = await conn.fetchone(f"SELECT count(*) AS n FROM {table}")
    return int(row["n"])


# --- signals ----------------------------------------------------------------------------------


async def test_record_and_get_a_signal(pool) -> None:
    """A signal comes back with exact prices, its payload and aware UTC times."""
    stored = await record_signal(
        pool,
        signal(
            target_price=Decimal("191.25"),
            stop_price="180.00000001",
            expires_at=T0 + timedelta(hours=1),
            payload={"window": 20, "note": "breakout"},
        ),
    )
    assert stored.id > 0
    assert stored.target_price == Decimal("191.25")
    assert stored.stop_price == Decimal("180.00000001")
    assert stored.timestamp == T0 and stored.timestamp.tzinfo is not None
    assert stored.payload == {"window": 20, "note": "breakout"}
    assert await get_signal(pool, stored.id) == stored
    assert await get_signal(pool, stored.id + 1) is None


async def test_signals_above_a_confidence_since_a_time(pool) -> None:
    """Only signals at or above the confidence and not before the time, strongest first."""
    for minutes, score, symbol in [
        (0, 0.95, "AAPL"),
        (1, 0.70, "AAPL"),
        (2, 0.90, "MSFT"),
        (3, 0.90, "AAPL"),
        (-5, 0.99, "AAPL"),  # before `since`
        (4, 0.40, "AAPL"),  # below the confidence
    ]:
        await record_signal(
            pool,
            signal(
                timestamp=T0 + timedelta(minutes=minutes), confidence_score=score, symbol=symbol
            ),
        )
    found = await signals_above(pool, 0.7, T0)
    assert [(s.confidence_score, s.timestamp - T0) for s in found] == [
        (0.95, timedelta(0)),
        (0.90, timedelta(minutes=3)),
        (0.90, timedelta(minutes=2)),
        (0.70, timedelta(minutes=1)),
    ]
    assert [s.symbol for s in await signals_above(pool, 0.7, T0, symbol="MSFT")] == ["MSFT"]
    assert len(await signals_above(pool, 0.7, T0, limit=2)) == 2
    assert await signals_above(pool, 1.0, T0) == []


async def test_listing_statements_seek_their_indexes(sqlite_pool) -> None:
    pool = sqlite_pool
    """signals, open orders and trades by symbol are answered from the indexes made for them."""
    expected = {
        "signals_above_confidence": "ix_signals_confidence_timestamp",
        "open_orders": "ix_orders_status_created",
        "trades_by_symbol": "ix_trades_symbol_timestamp",
        "trades_of_order": "ix_trades_order",
        "get_position": "ux_portfolio_positions_user_symbol",
        "positions_of_user": "ux_portfolio_positions_user_symbol",
    }
    params = {
        "min_confidence": 0.5,
        "since": 0,
        "symbol": "X",
        "limit": 10,
        "user_id": 1,
        "start": 0,
        "end": 1,
        "include_flat": 0,
        "order_id": 1,
    }
    async with pool.read() as conn:
        for name, index in expected.items():
            sql = STATEMENTS[name].sql
            args: Any = (1,) * sql.count("?") if "?" in sql else params
            plan = " ".join(r[3] for r in await conn.fetchall(f"EXPLAIN QUERY PLAN {sql}", args))
            assert f"SEARCH {sql.split('FROM ')[1].split()[0]} USING" in plan, (name, plan)
            assert index in plan, (name, plan)


async def test_bad_signals_are_refused_naming_the_field(pool) -> None:
    """Naive time, confidence above 1, a float price and an expiry before the signal are refused."""
    naive = datetime(2026, 3, 2, 14, 30)
    cases = [
        ({"timestamp": naive}, "field 'timestamp'"),
        ({"confidence_score": 1.5}, "field 'confidence_score'"),
        ({"target_price": 191.25}, "field 'target_price'.*float is not exact"),
        ({"expires_at": T0}, "expires_at .* is not after timestamp"),
        ({"direction": "up"}, "field 'direction'"),
    ]
    for changes, message in cases:
        with pytest.raises(InvalidInput, match=message):
            await record_signal(pool, signal(**changes))
    with pytest.raises(InvalidInput, match="payload"):
        await record_signal(pool, signal(payload={"when": T0}))
    assert await count(pool, "signals") == 0


# --- orders -----------------------------------------------------------------------------------


async def test_place_an_order(pool) -> None:
    """A placed order is pending_new, unfilled, with exact quantity and prices."""
    placed = await place_order(
        pool,
        order(
            order_type="stop_limit",
            limit_price="101.5",
            stop_price=Decimal("100.25"),
            quantity="0.12345678",
            time_in_force="gtc",
        ),
        at=T0,
    )
    assert placed.status == "pending_new"
    assert placed.quantity == Decimal("0.12345678")
    assert placed.limit_price == Decimal("101.5") and placed.stop_price == Decimal("100.25")
    assert placed.filled_quantity == 0 and placed.remaining_quantity == placed.quantity
    assert placed.created_at == placed.updated_at == T0
    assert placed.is_open
    assert await get_order(pool, placed.id) == placed
    assert await get_order_by_client_id(pool, "c-1") == placed
    assert await get_order(pool, placed.id + 1) is None


async def test_placing_the_same_client_order_id_again_returns_the_order(pool) -> None:
    """A retried placement with the same content returns the stored order; no second row."""
    first = await place_order(pool, order(), at=T0)
    again = await place_order(pool, order(quantity="10.000"), at=T0 + timedelta(seconds=5))
    assert again == first
    assert await count(pool, "orders") == 1


async def test_same_client_order_id_with_other_content_is_a_unique_violation(pool) -> None:
    """A different order under a used client_order_id raises UniqueViolation naming fields."""
    await place_order(pool, order())
    with pytest.raises(
        UniqueViolation, match=r"insert_order.*'c-1'.*different side, quantity_e8;"
    ) as err:
        await place_order(pool, order(quantity=11, side="sell"))
    assert err.value.statement == "insert_order"
    assert await count(pool, "orders") == 1


async def test_order_with_an_unknown_signal_is_a_foreign_key_violation(pool) -> None:
    """signal_id must name a stored signal; the error names the statement."""
    with pytest.raises(ForeignKeyViolation, match="insert_order") as err:
        await place_order(pool, order(signal_id=999))
    assert err.value.statement == "insert_order"
    sig = await record_signal(pool, signal())
    assert (await place_order(pool, order(signal_id=sig.id))).signal_id == sig.id


async def test_the_schema_checks_surface_with_the_statement_name(pool) -> None:
    """A row that bypasses the model is refused by a CHECK, named by statement."""
    row = {
        "client_order_id": "raw",
        "broker_order_id": None,
        "user_id": 1,
        "signal_id": None,
        "symbol": "AAPL",
        "side": "buy",
        "order_type": "limit",
        "time_in_force": "day",
        "quantity_e8": 100,
        "limit_price_e8": None,
        "stop_price_e8": None,
        "now": 0,
    }
    with pytest.raises(CheckViolation, match=r"statement 'insert_order'.*ck_orders_limit_price"):
        async with pool.write() as conn:
            await conn.execute(named(conn, "insert_order").sql, row, name="insert_order")


async def test_bad_orders_are_refused_before_sql(pool) -> None:
    """Zero quantity, a ninth decimal place and an unknown side are refused, nothing written."""
    for changes, message in [
        ({"quantity": 0}, "field 'quantity'"),
        ({"quantity": "1.000000001"}, "field 'quantity'.*more than 8 decimal places"),
        ({"side": "short"}, "field 'side'"),
        ({"user_id": 0}, "field 'user_id'"),
        ({"order_type": "limit"}, "limit_price is required"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await place_order(pool, order(**changes))
    assert await count(pool, "orders") == 0


async def test_acknowledge_then_cancel(pool) -> None:
    """pending_new -> new stores the broker id; cancel ends it and is idempotent."""
    placed = await place_order(pool, order(), at=T0)
    acked = await update_order_status(
        pool, placed.id, "new", broker_order_id="B-1", at=T0 + timedelta(seconds=1)
    )
    assert acked is not None
    assert (acked.status, acked.broker_order_id) == ("new", "B-1")
    assert acked.updated_at == T0 + timedelta(seconds=1)
    assert (await update_order_status(pool, placed.id, "new")) == acked  # already new: no-op
    cancelled = await cancel_order(pool, placed.id, at=T0 + timedelta(seconds=2))
    assert cancelled is not None and cancelled.status == "cancelled" and not cancelled.is_open
    assert (await cancel_order(pool, placed.id)) == cancelled
    assert await cancel_order(pool, placed.id + 1) is None


async def test_unreachable_statuses_are_refused(pool) -> None:
    """Cancelling a rejected order, or setting filled directly, raises and changes nothing."""
    placed = await place_order(pool, order())
    rejected = await update_order_status(
        pool, placed.id, "rejected", reject_reason="insufficient buying power"
    )
    assert rejected is not None and rejected.reject_reason == "insufficient buying power"
    with pytest.raises(OrderStateError, match="is rejected; it cannot become cancelled"):
        await cancel_order(pool, placed.id)
    with pytest.raises(UsageError, match="cannot be set directly"):
        await update_order_status(pool, placed.id, "filled")
    assert await get_order(pool, placed.id) == rejected


async def test_a_partly_filled_order_cannot_be_rejected_but_can_be_cancelled(pool) -> None:
    """After a fill the order may be cancelled (keeping its fill) but not rejected."""
    placed = await place_order(pool, order(quantity=2))
    await record_fill(
        pool,
        {
            "order_id": placed.id,
            "execution_id": "x-1",
            "quantity": 1,
            "price": "10",
            "currency": "USD",
            "timestamp": T0,
            "settlement_date": date(2026, 3, 3),
        },
    )
    with pytest.raises(OrderStateError, match="partially_filled; it cannot become rejected"):
        await update_order_status(pool, placed.id, "rejected")
    cancelled = await cancel_order(pool, placed.id)
    assert cancelled is not None
    assert (cancelled.status, cancelled.filled_quantity) == ("cancelled", Decimal(1))


async def test_a_broker_id_used_twice_is_a_unique_violation(pool) -> None:
    """Two orders cannot carry the same broker_order_id; the error names the statement."""
    first = await place_order(pool, order("c-1"))
    second = await place_order(pool, order("c-2"))
    await update_order_status(pool, first.id, "new", broker_order_id="B-1")
    with pytest.raises(UniqueViolation, match="set_order_status"):
        await update_order_status(pool, second.id, "new", broker_order_id="B-1")
    assert (await get_order(pool, second.id)).status == "pending_new"  # type: ignore[union-attr]


async def test_open_orders_oldest_first_and_by_user(pool) -> None:
    """Pending, new and partly filled orders are listed; ended ones are not."""
    ids = {}
    for n, user in enumerate([7, 8, 7, 7, 7]):
        placed = await place_order(
            pool, order(f"c-{n}", user_id=user, quantity=2), at=T0 + timedelta(seconds=10 - n)
        )
        ids[n] = placed.id
    await update_order_status(pool, ids[1], "new")
    await cancel_order(pool, ids[2])
    await record_fill(
        pool,
        {
            "order_id": ids[3],
            "execution_id": "x-3",
            "quantity": 1,
            "price": 5,
            "currency": "USD",
            "timestamp": T0,
            "settlement_date": date(2026, 3, 3),
        },
    )
    await record_fill(
        pool,
        {
            "order_id": ids[4],
            "execution_id": "x-4",
            "quantity": 2,
            "price": 5,
            "currency": "USD",
            "timestamp": T0,
            "settlement_date": date(2026, 3, 3),
        },
    )
    listed = await open_orders(pool)
    assert [o.id for o in listed] == [ids[3], ids[1], ids[0]]
    assert [o.status for o in listed] == ["partially_filled", "new", "pending_new"]
    assert [o.id for o in await open_orders(pool, user_id=7)] == [ids[3], ids[0]]
    assert [o.id for o in await open_orders(pool, limit=1)] == [ids[3]]
    with pytest.raises(InvalidInput, match="limit"):
        await open_orders(pool, limit=0)
