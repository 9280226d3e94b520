"""Inside ``pool.write()`` the typed query functions read the transaction's own rows (on the
writer), and the writing ones join it; other tasks see nothing until COMMIT."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rawdb.config import Settings
from rawdb.errors import UsageError
from rawdb.pool import Pool, PoolConfig
from rawdb.queries import alerts, instruments, ticks
from rawdb.queries.rows import TickRow
from rawdb.trading import get_order, get_order_by_client_id, open_orders, place_order

INSERT_INSTRUMENT = (
    "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at) "
    "VALUES (?, ?, 'future', 'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def order_input(client_order_id: str, symbol: str, side: str) -> dict[str, object]:
    return {
        "client_order_id": client_order_id,
        "user_id": 7,
        "symbol": symbol,
        "side": side,
        "quantity": Decimal("2"),
    }


class Boom(Exception):
    """Raised inside a block to make it roll back."""


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[Pool]:
    """A migrated pool whose writer is handed out within 2 s: a query function that waited
    for the writer its own task holds (instead of joining) fails fast with PoolTimeout."""
    settings = Settings(database=tmp_path / "ryw.sqlite3", readers=2)
    async with Pool.open(settings, config=PoolConfig(acquire_timeout=2.0), migrate=True) as p:
        yield p


def recent_ticks(instrument_id: int, count: int = 5) -> list[TickRow]:
    """Ticks of the last minute (their month's table is made on the spot)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        TickRow(instrument_id, now - timedelta(seconds=count - i), 100.0 + i, 1)
        for i in range(count)
    ]


async def test_raw_insert_is_read_back_by_the_typed_functions(pool: Pool) -> None:
    """A row inserted with raw SQL inside the block is found by get_instrument, by symbol and
    in the list, while the block is still open."""
    async with pool.write() as conn:
        made = await conn.execute(INSERT_INSTRUMENT, ("ES", "S&P"))
        assert made.lastrowid is not None
        found = await instruments.get_instrument(pool, made.lastrowid)
        assert found is not None and found.symbol == "ES"
        by_symbol = await instruments.get_instrument_by_symbol(pool, "ES")
        assert by_symbol is not None and by_symbol.id == made.lastrowid
        assert [i.symbol for i in await instruments.list_instruments(pool)] == ["ES"]
    assert await instruments.get_instrument(pool, made.lastrowid) is not None


async def test_ticks_written_in_the_block_are_read_back(pool: Pool) -> None:
    """insert_ticks joins the block; latest tick, latest ticks, range, bars and price range
    read the block's ticks before COMMIT."""
    rows = recent_ticks(1)
    start, end = rows[0].timestamp, rows[-1].timestamp + timedelta(seconds=1)
    async with pool.write():
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        assert await ticks.insert_ticks(pool, recent_ticks(es.id)) == 5
        latest = await ticks.latest_tick(pool, es.id)
        assert latest is not None and latest.price == 104.0
        assert [t.instrument_id for t in await ticks.latest_ticks(pool)] == [es.id]
        assert len(await ticks.tick_range(pool, es.id, start, end)) == 5
        bars = await ticks.ohlc_bars(pool, es.id, start, end, "1d")
        assert sum(b.ticks for b in bars) == 5
        assert (await ticks.price_range(pool, es.id, start)).ticks == 5


async def test_another_task_sees_nothing_until_commit(pool: Pool) -> None:
    """Reads of another task, started inside the block, go to readers: the uncommitted
    instrument and ticks are not there; after COMMIT they are."""
    async with pool.write():
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        await ticks.insert_ticks(pool, recent_ticks(es.id))
        assert await instruments.get_instrument(pool, es.id) is not None
        other = asyncio.create_task(instruments.get_instrument(pool, es.id))
        assert await other is None
        assert await asyncio.create_task(ticks.latest_tick(pool, es.id)) is None
        assert await asyncio.create_task(instruments.list_instruments(pool)) == []
    assert await asyncio.create_task(instruments.get_instrument(pool, es.id)) is not None
    assert await asyncio.create_task(ticks.latest_tick(pool, es.id)) is not None


async def test_a_concurrent_reader_does_not_see_the_open_transaction(pool: Pool) -> None:
    """A task that reads while the writer's block is open (both running at once) sees the
    committed state only, and the block's own rows after COMMIT."""
    inserted, checked = asyncio.Event(), asyncio.Event()
    seen: list[object] = []

    async def writer() -> None:
        async with pool.write():
            await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
            inserted.set()
            await checked.wait()

    async def reader() -> None:
        await inserted.wait()
        seen.append(await instruments.get_instrument_by_symbol(pool, "ES"))
        checked.set()

    await asyncio.gather(writer(), reader())
    assert seen == [None]
    assert await instruments.get_instrument_by_symbol(pool, "ES") is not None


async def test_after_an_exception_nothing_is_visible(pool: Pool) -> None:
    """Rows read back inside a block that then raises are gone: nothing was committed."""
    with pytest.raises(Boom):
        async with pool.write() as conn:
            made = await conn.execute(INSERT_INSTRUMENT, ("ES", "S&P"))
            es_id = made.lastrowid
            assert es_id is not None
            await ticks.insert_ticks(pool, recent_ticks(es_id))
            assert await instruments.get_instrument(pool, es_id) is not None
            assert await ticks.latest_tick(pool, es_id) is not None
            raise Boom
    assert await instruments.get_instrument(pool, es_id) is None
    assert await ticks.latest_tick(pool, es_id) is None
    assert await instruments.list_instruments(pool) == []


async def test_writing_query_functions_join_and_roll_back_with_the_block(pool: Pool) -> None:
    """add_instrument, insert_ticks, add_alert_rule, write_alert_logs and place_order inside
    the block neither wait for the writer (PoolTimeout after 2 s) nor commit on their own:
    the block's exception undoes all of them."""
    started = asyncio.get_running_loop().time()
    with pytest.raises(Boom):
        async with pool.write():
            es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
            await ticks.insert_ticks(pool, recent_ticks(es.id))
            rule = await alerts.add_alert_rule(
                pool, {"instrument_id": es.id, "condition": "above", "threshold": 100}
            )
            log = {
                "timestamp": datetime.now(UTC) - timedelta(seconds=1),
                "rule_id": rule.id,
                "instrument_id": es.id,
                "trigger_value": 101.0,
                "threshold_value": 100.0,
                "rule_condition": "above",
            }
            assert await alerts.write_alert_logs(pool, [log]) == 1
            assert [r.id for r in await alerts.active_alert_rules(pool, es.id)] == [rule.id]
            assert len(await alerts.alert_logs_by_rule(pool, rule.id)) == 1
            order = await place_order(pool, order_input("c-1", "ES", "buy"))
            assert (await get_order(pool, order.id)) == order
            raise Boom
    assert asyncio.get_running_loop().time() - started < 2.0
    assert await instruments.list_instruments(pool) == []
    assert await alerts.active_alert_rules(pool) == []
    assert await get_order_by_client_id(pool, "c-1") is None
    async with pool.read() as conn:
        row = await conn.fetchone("SELECT count(*) FROM alert_logs")
    assert row is not None and row[0] == 0


async def test_joined_writes_commit_with_the_block(pool: Pool) -> None:
    """Without an exception, what the query functions wrote commits with the block, at once:
    another task sees none of it before the end and all of it after."""
    async with pool.write():
        order = await place_order(pool, order_input("c-2", "NQ", "sell"))
        assert [o.id for o in await open_orders(pool, user_id=7)] == [order.id]
        assert await asyncio.create_task(get_order(pool, order.id)) is None
    assert await asyncio.create_task(get_order(pool, order.id)) == order


async def test_own_writes_reads_on_the_writer_and_plain_read_stays_a_reader(
    pool: Pool,
) -> None:
    """pool.read(own_writes=True) (a snapshot too) inside pool.write() lends the writer, inside
    its transaction, and stops working when its own read block ends; a plain pool.read() there
    is still a reader, which does not see the uncommitted row."""
    async with pool.write() as conn:
        await conn.execute(INSERT_INSTRUMENT, ("ES", "S&P"))
        async with pool.read(own_writes=True, snapshot=True) as view:
            assert view.role == "writer" and view.in_transaction
            row = await view.fetchone("SELECT count(*) FROM instruments")
            assert row is not None and row[0] == 1
        with pytest.raises(UsageError, match="after its"):
            await view.fetchall("SELECT 1")
        async with pool.read() as reader:
            assert reader.role == "reader"
            row = await reader.fetchone("SELECT count(*) FROM instruments")
            assert row is not None and row[0] == 0
        assert conn.in_transaction  # the block goes on
    async with pool.read(own_writes=True) as outside:
        assert outside.role == "reader"  # no write block open: a reader
