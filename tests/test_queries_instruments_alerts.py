"""Instruments, alert rules and alert logs: writes, reads, and RESTRICT on delete."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from rawdb.errors import ForeignKeyViolation, InvalidInput, UniqueViolation
from rawdb.queries import alerts, instruments, ticks
from rawdb.queries.rows import TickRow

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


async def test_instrument_lifecycle(pool) -> None:
    """Add, find by id and symbol, list in symbol order, delete when unused."""
    nq = await instruments.add_instrument(pool, {"symbol": "NQ", "name": "Nasdaq"})
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P", "type": "future"})
    assert (await instruments.get_instrument(pool, es.id)) == es
    assert (await instruments.get_instrument_by_symbol(pool, "NQ")) == nq
    assert [i.symbol for i in await instruments.list_instruments(pool)] == ["ES", "NQ"]
    assert await instruments.delete_instrument(pool, nq.id)
    assert not await instruments.delete_instrument(pool, nq.id)
    assert await instruments.get_instrument(pool, nq.id) is None


async def test_duplicate_symbol_is_a_unique_violation(pool) -> None:
    """Registering a symbol twice raises UniqueViolation naming the statement."""
    await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    with pytest.raises(UniqueViolation, match="insert_instrument"):
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "again"})


async def test_bad_instrument_input_is_refused(pool) -> None:
    """An over-long symbol is refused before SQL runs."""
    with pytest.raises(InvalidInput, match="field 'symbol'"):
        await instruments.add_instrument(pool, {"symbol": "X" * 11, "name": "too long"})


async def test_deleting_an_instrument_with_ticks_is_restricted(pool) -> None:
    """RESTRICT: an instrument with ticks cannot be deleted and its ticks stay."""
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    await ticks.insert_ticks(pool, [TickRow(es.id, T0, 1.0)])
    with pytest.raises(ForeignKeyViolation, match="delete_instrument"):
        await instruments.delete_instrument(pool, es.id)
    assert await instruments.get_instrument(pool, es.id) is not None
    assert await ticks.latest_tick(pool, es.id) is not None


async def test_rules_and_logs(pool) -> None:
    """Rules are listed when active; logs come back by rule, instrument and status."""
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    rule = await alerts.add_alert_rule(
        pool, {"instrument_id": es.id, "condition": "above", "threshold": 5000.5}
    )
    other = await alerts.add_alert_rule(
        pool,
        {"instrument_id": es.id, "condition": "below", "threshold": 4000, "active": False},
    )
    assert [r.id for r in await alerts.active_alert_rules(pool)] == [rule.id]
    assert [r.id for r in await alerts.active_alert_rules(pool, es.id)] == [rule.id]
    logs = [
        {
            "timestamp": T0 + timedelta(seconds=i),
            "rule_id": rule.id,
            "instrument_id": es.id,
            "trigger_value": 5001.0 + i,
            "threshold_value": 5000.5,
            "rule_condition": "above",
        }
        for i in range(3)
    ]
    assert await alerts.write_alert_logs(pool, logs) == 3
    by_rule = await alerts.alert_logs_by_rule(pool, rule.id)
    assert [log.trigger_value for log in by_rule] == [5003.0, 5002.0, 5001.0]
    window = await alerts.alert_logs_by_rule(pool, rule.id, T0, T0 + timedelta(seconds=2))
    assert len(window) == 2
    assert len(await alerts.alert_logs_by_instrument(pool, es.id)) == 3
    pending = await alerts.alert_logs_by_status(pool, "fired", "pending")
    assert await alerts.set_delivery_status(
        pool, pending[0].id, "delivered", attempted_at=T0, completed_at=T0
    )
    assert len(await alerts.alert_logs_by_status(pool, "fired", "pending")) == 2
    assert await alerts.mark_rule_triggered(pool, rule.id, T0)
    fetched = await alerts.get_alert_rule(pool, rule.id)
    assert fetched is not None and fetched.last_triggered == T0
    assert await alerts.delete_alert_rule(pool, other.id)
    with pytest.raises(ForeignKeyViolation):
        await alerts.delete_alert_rule(pool, rule.id)


async def test_bad_log_batch_is_refused_whole(pool) -> None:
    """A log with a naive time refuses the batch naming row and field; nothing is written."""
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    rule = await alerts.add_alert_rule(
        pool, {"instrument_id": es.id, "condition": "above", "threshold": 1}
    )
    good = {
        "timestamp": T0,
        "rule_id": rule.id,
        "instrument_id": es.id,
        "trigger_value": 2.0,
        "threshold_value": 1.0,
        "rule_condition": "above",
    }
    with pytest.raises(InvalidInput, match=r"row 1, field 'timestamp'"):
        await alerts.write_alert_logs(pool, [good, {**good, "timestamp": datetime(2026, 1, 1)}])
    with sqlite3.connect(pool.settings.database) as conn:
        assert conn.execute("SELECT count(*) FROM alert_logs").fetchone()[0] == 0
