"""Fills, trades and positions, on a real database file and on a real PostgreSQL server: one
transaction, exact numbers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rawdb.errors import ConstraintViolation, InvalidInput, UniqueViolation
from rawdb.pool import Pool
from rawdb.trading import (
    CurrencyMismatch,
    OrderStateError,
    UnknownOrder,
    cancel_order,
    get_order,
    get_position,
    get_trade,
    get_trade_by_execution_id,
    place_order,
    positions_of_user,
    record_fill,
    trades_by_symbol,
    trades_of_order,
)

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
SETTLE = date(2026, 3, 3)


@pytest.fixture
def pool(any_pool: Pool) -> Pool:
    """Every test here runs on both engines."""
    return any_pool


_clients = iter(range(1, 10**9))


async def new_order(pool, side: str = "buy", quantity: Any = 1, **changes: Any):  # type: ignore[no-untyped-def]
    client = changes.pop("client_order_id", f"c-{next(_clients)}")
    return await place_order(
        pool,
        {
            "client_order_id": client,
            "user_id": 7,
            "symbol": "AAPL",
            "side": side,
            "quantity": quantity,
            **changes,
        },
        at=T0,
    )


_executions = iter(range(1, 10**9))


def fill(order_id: int, quantity: Any, price: Any, **changes: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "execution_id": f"x-{next(_executions)}",
        "quantity": quantity,
        "price": price,
        "currency": "USD",
        "timestamp": T0 + timedelta(minutes=1),
        "settlement_date": SETTLE,
        **changes,
    }


# A trigger that refuses every position write, in each engine's syntax.
FREEZE_POSITIONS = {
    "sqlite": [
        "CREATE TRIGGER refuse_positions BEFORE INSERT ON portfolio_positions "
        "BEGIN SELECT RAISE(ABORT, 'positions are frozen'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_positions() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'positions are frozen' USING ERRCODE = '23514'; END $$",
        "CREATE TRIGGER refuse_positions BEFORE INSERT ON portfolio_positions "
        "FOR EACH ROW EXECUTE FUNCTION refuse_positions()",
    ],
}


async def raw(pool, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    async with pool.read() as conn:
        rows = await conn.fetchall(sql, params)
    return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


async def test_three_fills_of_a_tenth_make_exactly_three_tenths(pool) -> None:
    """Decimal('0.1') filled three times is exactly 0.3: order filled, position 0.3."""
    placed = await new_order(pool, quantity=Decimal("0.3"))
    results = [await record_fill(pool, fill(placed.id, Decimal("0.1"), "100")) for _ in range(3)]
    assert [r.order.status for r in results] == ["partially_filled", "partially_filled", "filled"]
    last = results[-1]
    assert last.order.filled_quantity == Decimal("0.3") and last.order.remaining_quantity == 0
    assert last.position.quantity == Decimal("0.3")
    assert last.position.cost_basis == Decimal("30")
    assert last.position.average_price == Decimal("100")
    assert await raw(pool, "SELECT quantity_e8, cost_basis_minor FROM portfolio_positions") == [
        (30_000_000, 3_000)
    ]
    assert [t.execution_id for t in await trades_of_order(pool, placed.id)] == [
        r.trade.execution_id for r in results
    ]


async def test_a_round_trip_realizes_exact_minor_units(pool) -> None:
    """Buy 0.3 in three fills at 123.45, sell at 130.01: P&L exact to the cent, costs included."""
    buy = await new_order(pool, quantity=Decimal("0.3"))
    for _ in range(3):  # 0.1 x 123.45 = 12.345: gross rounds half to even to 12.34
        await record_fill(pool, fill(buy.id, Decimal("0.1"), Decimal("123.45"), commission="1"))
    sell = await new_order(pool, "sell", quantity=Decimal("0.3"))
    result = await record_fill(pool, fill(sell.id, Decimal("0.3"), Decimal("130.01"), fees="0.02"))
    # 0.3 x 130.01 = 39.003 -> 39.00; realized = 39.00 - 3 x 12.34 - 3 x 1 - 0.02
    assert result.trade.gross_amount == Decimal("39")
    assert result.position.quantity == 0 and result.position.cost_basis == 0
    assert result.position.realized_pnl == Decimal("-1.04")
    assert await raw(pool, "SELECT realized_pnl_minor FROM portfolio_positions") == [(-104,)]
    cash = await raw(pool, "SELECT sum(settlement_amount_minor) FROM trades")
    assert cash == [(-104,)]  # flat again: realized P&L is exactly the net cash


async def test_fill_settlement_amounts_satisfy_the_schema(pool) -> None:
    """A buy settles at -(gross + costs), a sell at gross - costs, per the CHECK."""
    buy = await new_order(pool, quantity=2)
    bought = await record_fill(pool, fill(buy.id, 2, "10.5", commission="0.5", fees="0.01"))
    assert bought.trade.settlement_amount == Decimal("-21.51")
    sell = await new_order(pool, "sell", quantity=1)
    sold = await record_fill(pool, fill(sell.id, 1, "11", commission="0.5"))
    assert sold.trade.settlement_amount == Decimal("10.5")
    assert sold.position.quantity == 1
    assert sold.position.cost_basis == Decimal("10.5")
    # costs -0.51 and -0.5, plus 11 received less the 10.5 average cost of the unit sold
    assert sold.position.realized_pnl == Decimal("-0.51")


async def test_short_then_flip_to_long(pool) -> None:
    """Sell 2 at 100 from flat (short), buy 3 at 90: 20 realized, long 1 at 90, opened anew."""
    sell = await new_order(pool, "sell", quantity=2)
    short = await record_fill(pool, fill(sell.id, 2, 100, timestamp=T0))
    assert short.position.quantity == -2 and short.position.cost_basis == Decimal("-200")
    assert short.position.average_price == Decimal("100")
    buy = await new_order(pool, "buy", quantity=3)
    flipped = await record_fill(pool, fill(buy.id, 3, 90, timestamp=T0 + timedelta(hours=1)))
    position = flipped.position
    assert (position.quantity, position.cost_basis, position.realized_pnl) == (1, 90, 20)
    assert position.opened_at == T0 + timedelta(hours=1)
    assert position.updated_at == T0 + timedelta(hours=1)


async def test_a_replayed_execution_changes_nothing(pool) -> None:
    """The same execution recorded twice returns replayed=True; order and position unchanged."""
    placed = await new_order(pool, quantity=2)
    same = fill(placed.id, 1, "50.25")
    first = await record_fill(pool, same)
    again = await record_fill(pool, same)
    assert again.replayed and not first.replayed
    assert (again.trade, again.order, again.position) == (first.trade, first.order, first.position)
    assert await raw(pool, "SELECT count(*) FROM trades") == [(1,)]


async def test_an_execution_id_reused_with_other_content_is_a_unique_violation(pool) -> None:
    """Another fill under a recorded execution id raises UniqueViolation; nothing changes."""
    placed = await new_order(pool, quantity=2)
    first = await record_fill(pool, fill(placed.id, 1, "50", execution_id="E-1"))
    with pytest.raises(UniqueViolation, match=r"insert_trade.*'E-1'.*different price_e8") as err:
        await record_fill(pool, fill(placed.id, 1, "51", execution_id="E-1"))
    assert err.value.statement == "insert_trade"
    assert await get_order(pool, placed.id) == first.order
    assert await get_position(pool, 7, "AAPL") == first.position


async def test_refused_fills_write_nothing(pool) -> None:
    """Overfill, a fill of a cancelled order, an unknown order, another currency: all refused."""
    placed = await new_order(pool, quantity=1)
    with pytest.raises(OrderStateError, match=r"quantity 1\.5 exceeds .* left to fill, 1"):
        await record_fill(pool, fill(placed.id, "1.5", 10))
    with pytest.raises(UnknownOrder, match="no order 999"):
        await record_fill(pool, fill(999, 1, 10))
    partly = await record_fill(pool, fill(placed.id, "0.5", 10))
    with pytest.raises(CurrencyMismatch, match=r"in EUR, but .* kept in USD"):
        await record_fill(pool, fill(placed.id, "0.5", 10, currency="EUR"))
    await cancel_order(pool, placed.id)
    with pytest.raises(OrderStateError, match="is cancelled and takes no more fills"):
        await record_fill(pool, fill(placed.id, "0.5", 10))
    assert await raw(pool, "SELECT count(*) FROM trades") == [(1,)]
    assert await get_position(pool, 7, "AAPL") == partly.position


async def test_bad_fill_input_is_refused_naming_the_field(pool) -> None:
    """A float price, a sub-cent commission and a naive time are refused before SQL."""
    placed = await new_order(pool)
    naive = datetime(2026, 3, 2, 14, 30)
    for changes, message in [
        ({"price": 10.1}, "field 'price'.*float is not exact"),
        ({"commission": "0.001"}, r"commission \(USD\).*more than 2 decimal places"),
        ({"timestamp": naive}, "field 'timestamp'"),
        ({"currency": "usd"}, "field 'currency'"),
        ({"quantity": "-1"}, "field 'quantity'"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await record_fill(pool, {**fill(placed.id, 1, 10), **changes})
    assert await raw(pool, "SELECT count(*) FROM trades") == [(0,)]


async def test_the_brokers_gross_amount_is_kept_when_within_a_minor_unit(pool) -> None:
    """0.1 x 123.45 = 12.345: the broker's 12.35 is stored; 12.40 is refused as inconsistent."""
    placed = await new_order(pool, quantity=1)
    kept = await record_fill(pool, fill(placed.id, "0.1", "123.45", gross_amount="12.35"))
    assert kept.trade.gross_amount == Decimal("12.35")
    with pytest.raises(InvalidInput, match="more than one minor unit away"):
        await record_fill(pool, fill(placed.id, "0.1", "123.45", gross_amount="12.40"))


async def test_yen_are_whole_minor_units(pool) -> None:
    """A JPY fill stores gross and commission in yen, exactly."""
    placed = await new_order(pool, quantity=100, symbol="7203.T")
    result = await record_fill(pool, fill(placed.id, 100, "2875.5", currency="JPY", commission=99))
    assert await raw(pool, "SELECT gross_amount_minor, commission_minor FROM trades") == [
        (287_550, 99)
    ]
    assert result.position.currency == "JPY"
    assert result.position.cost_basis == Decimal(287_550)
    assert result.position.realized_pnl == Decimal(-99)


async def test_a_database_refusal_mid_fill_rolls_back_trade_and_order(pool) -> None:
    """If the position write is refused, the trade and the order's fill are undone too."""
    placed = await new_order(pool, quantity=2)
    async with pool.write() as conn:
        for statement in FREEZE_POSITIONS[pool.dialect]:
            await conn.execute(statement)
    with pytest.raises(ConstraintViolation, match=r"statement 'upsert_position'.*frozen"):
        await record_fill(pool, fill(placed.id, 1, 10))
    assert await raw(pool, "SELECT count(*) FROM trades") == [(0,)]
    assert await get_order(pool, placed.id) == placed
    assert await get_position(pool, 7, "AAPL") is None


async def test_a_fill_joins_the_callers_transaction(pool) -> None:
    """Inside pool.write() a fill is a savepoint: the caller's rollback undoes it whole."""
    placed = await new_order(pool, quantity=2)
    with pytest.raises(RuntimeError, match="caller gives up"):
        async with pool.write():
            await record_fill(pool, fill(placed.id, 1, 10))
            raise RuntimeError("caller gives up")
    assert await raw(pool, "SELECT count(*) FROM trades") == [(0,)]
    assert await get_order(pool, placed.id) == placed


async def test_concurrent_fills_add_up_exactly(pool) -> None:
    """Fifty fills of 0.02 at 99.5 racing on one order fill it: position exactly 1 costing 99.5."""
    placed = await new_order(pool, quantity=1)
    results = await asyncio.gather(
        *(record_fill(pool, fill(placed.id, Decimal("0.02"), "99.5")) for _ in range(50))
    )
    assert sum(1 for r in results if r.order.status == "filled") == 1
    position = await get_position(pool, 7, "AAPL")
    assert position is not None
    assert position.quantity == Decimal(1) and position.cost_basis == Decimal("99.5")
    assert (await get_order(pool, placed.id)).status == "filled"  # type: ignore[union-attr]


async def test_trades_by_symbol_in_a_half_open_range(pool) -> None:
    """Trades of one symbol with start <= timestamp < end come back oldest first."""
    aapl = await new_order(pool, quantity=10)
    msft = await new_order(pool, quantity=10, symbol="MSFT")
    for minutes in (0, 1, 2, 3):
        await record_fill(pool, fill(aapl.id, 1, 10, timestamp=T0 + timedelta(minutes=minutes)))
    await record_fill(pool, fill(msft.id, 1, 10, timestamp=T0 + timedelta(minutes=1)))
    found = await trades_by_symbol(
        pool, "AAPL", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    )
    assert [t.timestamp - T0 for t in found] == [timedelta(minutes=1), timedelta(minutes=2)]
    assert {t.symbol for t in found} == {"AAPL"}
    assert len(await trades_by_symbol(pool, "AAPL", T0, T0 + timedelta(hours=1), limit=3)) == 3
    first = found[0]
    assert await get_trade(pool, first.id) == first
    assert await get_trade_by_execution_id(pool, first.execution_id) == first
    assert await get_trade(pool, 10_000) is None


async def test_positions_of_a_user(pool) -> None:
    """A user's positions by symbol; a flat one is listed only when asked; others' never."""
    for symbol in ("MSFT", "AAPL", "TSLA"):
        placed = await new_order(pool, quantity=1, symbol=symbol)
        await record_fill(pool, fill(placed.id, 1, 10))
    other = await new_order(pool, quantity=1, user_id=8)
    await record_fill(pool, fill(other.id, 1, 10))
    closing = await new_order(pool, "sell", quantity=1, symbol="TSLA")
    await record_fill(pool, fill(closing.id, 1, 12))
    assert [p.symbol for p in await positions_of_user(pool, 7)] == ["AAPL", "MSFT"]
    with_flat = await positions_of_user(pool, 7, include_flat=True)
    assert [p.symbol for p in with_flat] == ["AAPL", "MSFT", "TSLA"]
    tsla = with_flat[-1]
    assert (tsla.quantity, tsla.realized_pnl, tsla.average_price) == (0, Decimal(2), None)
    assert await get_position(pool, 7, "NVDA") is None
    assert [p.user_id for p in await positions_of_user(pool, 8)] == [8]
