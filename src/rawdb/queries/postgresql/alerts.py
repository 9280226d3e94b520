"""Alert rules and logs on PostgreSQL: what :mod:`rawdb.queries.alerts` does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rawdb.catalog.periods import Family
from rawdb.config import ReadTimeout
from rawdb.models import (
    AlertLog,
    AlertLogIn,
    AlertRule,
    AlertRuleIn,
    to_db_time,
    validate_batch,
    validate_one,
)
from rawdb.pool import Pool
from rawdb.queries.postgresql.common import SQL, aware, pg
from rawdb.queries.postgresql.ticks import ensure_partitions
from rawdb.queries.run import dicts_to_models

FAMILY: Family = "alert_logs"
LOG_COLUMNS = (
    "timestamp", "rule_id", "instrument_id", "trigger_value", "threshold_value", "fired_status",
    "delivery_status", "evaluation_time_ms", "rule_condition", "alert_message", "error_message",
)  # fmt: skip
LOG_TYPES = (
    "timestamptz", "int8", "int8", "float8", "float8", "text", "text", "int4", "text", "text",
    "text",
)  # fmt: skip


async def add_alert_rule(pool: Pool, rule: AlertRuleIn | dict[str, Any]) -> AlertRule:
    item = validate_one(AlertRuleIn, rule, "alert rule")
    async with pg(pool).write() as conn:
        row = await conn.fetchone(
            SQL["insert_alert_rule"].sql, item.model_dump(), name="insert_alert_rule"
        )
    return AlertRule.model_validate(row)


async def get_alert_rule(pool: Pool, rule_id: int, *, timeout: ReadTimeout) -> AlertRule | None:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        row = await conn.fetchone(SQL["get_alert_rule"].sql, {"id": rule_id}, name="get_alert_rule")
    return None if row is None else AlertRule.model_validate(row)


async def active_alert_rules(
    pool: Pool, instrument_id: int | None, *, timeout: ReadTimeout
) -> list[AlertRule]:
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(
            SQL["active_alert_rules"].sql, {"instrument_id": instrument_id},
            name="active_alert_rules",
        )  # fmt: skip
    return dicts_to_models(AlertRule, rows)


async def mark_rule_triggered(pool: Pool, rule_id: int, at: datetime) -> bool:
    async with pg(pool).write() as conn:
        changed = await conn.execute(
            SQL["mark_rule_triggered"].sql, {"at": aware(at, "at"), "id": rule_id},
            name="mark_rule_triggered",
        )  # fmt: skip
    return changed == 1


async def delete_alert_rule(pool: Pool, rule_id: int) -> bool:
    async with pg(pool).write() as conn:
        return await conn.execute(SQL["delete_alert_rule"].sql, {"id": rule_id}) == 1


async def write_alert_logs(pool: Pool, logs: Iterable[AlertLogIn | dict[str, Any]]) -> int:
    items = validate_batch(AlertLogIn, logs, "alert logs")
    if not items:
        return 0
    keys = [(to_db_time(i.timestamp),) for i in items]  # to name the row a refusal is about
    rows = [
        (i.timestamp, i.rule_id, i.instrument_id, i.trigger_value, i.threshold_value,
         i.fired_status, i.delivery_status, i.evaluation_time_ms, i.rule_condition,
         i.alert_message, i.error_message)
        for i in items
    ]  # fmt: skip
    async with pg(pool).write() as conn:
        await ensure_partitions(conn, FAMILY, {k[0][:7] for k in keys}, keys)
        return await conn.copy_rows(
            "alert_logs", LOG_COLUMNS, LOG_TYPES, rows, name="insert_alert_logs"
        )


async def _logs(
    pool: Pool, name: str, params: dict[str, Any], start: datetime, end: datetime, *,
    limit: int, timeout: ReadTimeout,
) -> list[AlertLog]:  # fmt: skip
    bounds = {"start": aware(start, "start"), "end": aware(end, "end"), "limit": limit}
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(SQL[name].sql, params | bounds, name=name)
    return dicts_to_models(AlertLog, rows)


async def alert_logs_by_rule(
    pool: Pool, rule_id: int, start: datetime, end: datetime, *, limit: int, timeout: ReadTimeout
) -> list[AlertLog]:
    params = {"rule_id": rule_id}
    return await _logs(pool, "alert_logs_by_rule", params, start, end, limit=limit, timeout=timeout)


async def alert_logs_by_instrument(
    pool: Pool,
    instrument_id: int,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    timeout: ReadTimeout,
) -> list[AlertLog]:
    params = {"instrument_id": instrument_id}
    return await _logs(
        pool, "alert_logs_by_instrument", params, start, end, limit=limit, timeout=timeout
    )


async def alert_logs_by_status(
    pool: Pool, fired_status: str, delivery_status: str, *, limit: int, timeout: ReadTimeout
) -> list[AlertLog]:
    params = {"fired_status": fired_status, "delivery_status": delivery_status, "limit": limit}
    async with pg(pool).read(own_writes=True, timeout=timeout) as conn:
        rows = await conn.fetchall(
            SQL["alert_logs_by_status"].sql, params, name="alert_logs_by_status"
        )
    return dicts_to_models(AlertLog, rows)


async def set_delivery_status(
    pool: Pool,
    log_id: int,
    status: str,
    *,
    attempted_at: datetime,
    completed_at: datetime | None,
) -> bool:
    params = {
        "status": status,
        "attempted_at": aware(attempted_at, "attempted_at"),
        "completed_at": None if completed_at is None else aware(completed_at, "completed_at"),
        "id": log_id,
    }
    async with pg(pool).write() as conn:
        done = await conn.fetchone(
            SQL["set_delivery_status"].sql, params, name="set_delivery_status"
        )
    return done is not None
