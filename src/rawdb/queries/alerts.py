"""Alert rules and alert logs: register, evaluate-and-record, query by rule, instrument, status.

Alert logs are stored in quarterly tables; log reads and writes go through ``rawdb.partitions``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rawdb.catalog import reads, routing
from rawdb.catalog.periods import Family
from rawdb.config import FROM_SETTINGS, ReadTimeout
from rawdb.errors import ForeignKeyViolation, InvalidInput
from rawdb.models import (
    DELIVERY_STATUSES,
    FIRED_STATUSES,
    AlertLog,
    AlertLogIn,
    AlertRule,
    AlertRuleIn,
    db_time,
    to_db_time,
    validate_batch,
    validate_one,
)
from rawdb.pool import Pool
from rawdb.queries import STATEMENTS
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

FAMILY: Family = "alert_logs"
INSERTS = routing.Inserts(
    STATEMENTS["insert_alert_log"],
    STATEMENTS["append_alert_logs"],
    STATEMENTS["next_alert_log_id"],
    width=11,
)
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


async def add_alert_rule(pool: Pool, rule: AlertRuleIn | dict[str, Any]) -> AlertRule:
    """Register a rule; an unknown instrument raises :class:`~rawdb.errors.ForeignKeyViolation`."""
    if (api := engine_api(pool)) is not None:
        return await api.add_alert_rule(pool, rule)  # type: ignore[no-any-return]
    item = validate_one(AlertRuleIn, rule, "alert rule")
    params = {**item.model_dump(), "active": int(item.active), "now": _now()}
    async with pool.write() as conn:
        new = await fetch_one(conn, "insert_alert_rule", params)
        row = await fetch_one(conn, "get_alert_rule", (new_id(new),))
    found = to_model(AlertRule, row)
    assert found is not None  # just inserted in this transaction
    return found


async def get_alert_rule(
    pool: Pool, rule_id: int, *, timeout: ReadTimeout = FROM_SETTINGS
) -> AlertRule | None:
    """One rule by id, or None."""
    if (api := engine_api(pool)) is not None:
        return await api.get_alert_rule(pool, rule_id, timeout=timeout)  # type: ignore[no-any-return]
    async with reading(pool, timeout) as conn:
        return to_model(AlertRule, await fetch_one(conn, "get_alert_rule", (rule_id,)))


async def active_alert_rules(
    pool: Pool, instrument_id: int | None = None, *, timeout: ReadTimeout = FROM_SETTINGS
) -> list[AlertRule]:
    """Active rules of one instrument, or of all when ``instrument_id`` is None."""
    if (api := engine_api(pool)) is not None:
        return await api.active_alert_rules(pool, instrument_id, timeout=timeout)  # type: ignore[no-any-return]
    async with reading(pool, timeout) as conn:
        return to_models(AlertRule, await fetch_all(conn, "active_alert_rules", (instrument_id,)))


async def mark_rule_triggered(pool: Pool, rule_id: int, at: datetime) -> bool:
    """Record that a rule fired at ``at`` (its cooldown counts from here)."""
    if (api := engine_api(pool)) is not None:
        return await api.mark_rule_triggered(pool, rule_id, at)  # type: ignore[no-any-return]
    async with pool.write() as conn:
        changed = await execute(conn, "mark_rule_triggered", (db_time(at, "at"), _now(), rule_id))
    return changed == 1


async def delete_alert_rule(pool: Pool, rule_id: int) -> bool:
    """Delete a rule without logs; :class:`~rawdb.errors.ForeignKeyViolation` while logs exist."""
    try:
        if (api := engine_api(pool)) is not None:
            return await api.delete_alert_rule(pool, rule_id)  # type: ignore[no-any-return]
        async with pool.write() as conn:
            return await execute(conn, "delete_alert_rule", (rule_id,)) == 1
    except ForeignKeyViolation as exc:
        raise ForeignKeyViolation(
            f"statement 'delete_alert_rule': rule {rule_id} still has alert logs (foreign keys "
            "RESTRICT); nothing was deleted. Deactivate the rule instead",
            statement="delete_alert_rule",
        ) from exc


async def write_alert_logs(pool: Pool, logs: Iterable[AlertLogIn | dict[str, Any]]) -> int:
    """Record evaluations (a list or any iterable) in one transaction; a bad entry refuses the
    whole batch."""
    if (api := engine_api(pool)) is not None:
        return await api.write_alert_logs(pool, logs)  # type: ignore[no-any-return]
    items = validate_batch(AlertLogIn, logs, "alert logs")
    rows = [
        (
            to_db_time(i.timestamp),
            i.rule_id,
            i.instrument_id,
            i.trigger_value,
            i.threshold_value,
            i.fired_status,
            i.delivery_status,
            i.evaluation_time_ms,
            i.rule_condition,
            i.alert_message,
            i.error_message,
        )
        for i in items
    ]
    if not rows:
        return 0
    async with pool.write() as conn:
        return await routing.write(conn, FAMILY, rows, INSERTS)


async def alert_logs_by_rule(
    pool: Pool,
    rule_id: int,
    start: datetime = FAR_PAST,
    end: datetime = FAR_FUTURE,
    *,
    limit: int = 1000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[AlertLog]:
    """Live logs of one rule in ``[start, end)``, newest first."""
    return await _logs(
        pool, "alert_logs_by_rule", {"rule_id": rule_id}, start, end, limit=limit, timeout=timeout
    )


async def alert_logs_by_instrument(
    pool: Pool,
    instrument_id: int,
    start: datetime = FAR_PAST,
    end: datetime = FAR_FUTURE,
    *,
    limit: int = 1000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[AlertLog]:
    """Live logs of one instrument in ``[start, end)``, newest first."""
    return await _logs(
        pool,
        "alert_logs_by_instrument",
        {"instrument_id": instrument_id},
        start,
        end,
        limit=limit,
        timeout=timeout,
    )


async def alert_logs_by_status(
    pool: Pool,
    fired_status: str,
    delivery_status: str,
    *,
    limit: int = 1000,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[AlertLog]:
    """Live logs in a fired and delivery status (e.g. 'fired', 'pending'), oldest first;
    a status outside :data:`~rawdb.models.FIRED_STATUSES` or
    :data:`~rawdb.models.DELIVERY_STATUSES` is refused (it could only ever find nothing)."""
    _check_one_of("fired_status", fired_status, FIRED_STATUSES)
    _check_one_of("delivery_status", delivery_status, DELIVERY_STATUSES)
    if (api := engine_api(pool)) is not None:
        found: list[AlertLog] = await api.alert_logs_by_status(
            pool, fired_status, delivery_status, limit=limit, timeout=timeout
        )
        return found
    params = {"fired_status": fired_status, "delivery_status": delivery_status}
    async with reading(pool, timeout) as conn:
        rows = await reads.over_range(
            conn, FAMILY, STATEMENTS["alert_logs_by_status"], params, limit=limit
        )
    return to_models(AlertLog, rows)


async def set_delivery_status(
    pool: Pool,
    log_id: int,
    status: str,
    *,
    attempted_at: datetime,
    completed_at: datetime | None = None,
) -> bool:
    """Record a delivery attempt's outcome for one log; ``status`` is one of
    :data:`~rawdb.models.DELIVERY_STATUSES`."""
    _check_one_of("status", status, DELIVERY_STATUSES)
    if (api := engine_api(pool)) is not None:
        updated: bool = await api.set_delivery_status(
            pool, log_id, status, attempted_at=attempted_at, completed_at=completed_at
        )
        return updated
    done = db_time(completed_at, "completed_at") if completed_at is not None else None
    params = (status, db_time(attempted_at, "attempted_at"), done)
    async with pool.write() as conn:
        result = await reads.by_id(conn, FAMILY, STATEMENTS["set_delivery_status"], log_id, params)
    return result is not None


async def _logs(
    pool: Pool,
    name: str,
    params: dict[str, Any],
    start: datetime,
    end: datetime,
    *,
    limit: int,
    timeout: ReadTimeout = FROM_SETTINGS,
) -> list[AlertLog]:
    """Live logs in ``[start, end)`` newest first, from the quarters overlapping the range."""
    if (api := engine_api(pool)) is not None:
        found: list[AlertLog] = await getattr(api, name)(
            pool, *params.values(), start, end, limit=limit, timeout=timeout
        )
        return found
    low, high = db_time(start, "start"), db_time(end, "end")
    async with reading(pool, timeout) as conn:
        rows = await reads.over_range(
            conn, FAMILY, STATEMENTS[name], params, low, high, newest_first=True, limit=limit
        )
    return to_models(AlertLog, rows)


def _now() -> str:
    return to_db_time(datetime.now(UTC))


def _check_one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput(f"{field} {value!r}: must be one of {', '.join(map(repr, allowed))}")
