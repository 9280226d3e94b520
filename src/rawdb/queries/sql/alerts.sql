-- Alert rules and the log of their evaluations.
--
-- Alert logs live in one table per quarter (alert_logs_YYYY_qN) plus alert_logs_default
-- (rawdb.partitions). Their statements are written against alert_logs_default and rendered
-- for the tables a call needs, like the tick statements (see ticks.sql).

-- name: insert_alert_rule
-- Register an alert rule for an instrument; its new id.
-- params: instrument_id, rule_type, condition, threshold, active, name, description,
--     time_window_seconds, moving_average_period, cooldown_seconds, now
-- returns: value
INSERT INTO alert_rules (
    instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, created_at, updated_at
) VALUES (
    :instrument_id, :rule_type, :condition, :threshold, :active, :name, :description,
    :time_window_seconds, :moving_average_period, :cooldown_seconds, :now, :now
)
RETURNING id;

-- name: get_alert_rule
-- One alert rule by id.
-- params: id
-- returns: row
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules WHERE id = ?;

-- name: active_alert_rules
-- Active rules, of one instrument or (NULL) of all.
-- params: instrument_id
-- returns: rows
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules WHERE active = 1 AND (?1 IS NULL OR instrument_id = ?1)
ORDER BY id;

-- name: mark_rule_triggered
-- Record when a rule last fired (its cooldown counts from here).
-- params: last_triggered, updated_at, id
-- returns: nothing
UPDATE alert_rules SET last_triggered = ?, updated_at = ? WHERE id = ?;

-- name: delete_alert_rule
-- Delete a rule; RESTRICT refuses it while alert logs refer to it.
-- params: id
-- returns: nothing
DELETE FROM alert_rules WHERE id = ?;

-- name: insert_alert_log
-- Record the first evaluation of a batch in one table, with the id next_alert_log_id gives.
-- params: id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
--     delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message
-- returns: nothing
INSERT INTO alert_logs_default (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: append_alert_logs
-- Record the rest of a batch (executemany); SQLite numbers each row one above the table's largest id.
-- params: timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
--     delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message
-- returns: nothing
INSERT INTO alert_logs_default (
    timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: next_alert_log_id
-- Where a batch's ids go on in one table: its largest id (NULL when empty) and its floor.
-- params: none
-- returns: row
SELECT (SELECT max(d.id) FROM alert_logs_default AS d) AS largest, p.id_floor
FROM rawdb_partitions AS p WHERE p.name = 'alert_logs_default';

-- name: alert_logs_by_rule
-- Live logs of one rule in [start, end), newest first (index: rule_id, timestamp).
-- params: rule_id, start, end, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM (
    /* each partition */
    SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
        delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
        delivery_attempted_at, delivery_completed_at, deleted_at
    FROM alert_logs_default
    WHERE rule_id = :rule_id AND timestamp >= :start AND timestamp < :end AND deleted_at IS NULL
    ORDER BY timestamp DESC LIMIT :limit
    /* end */
) AS parts
ORDER BY timestamp DESC LIMIT :limit;

-- name: alert_logs_by_instrument
-- Live logs of one instrument in [start, end), newest first.
-- params: instrument_id, start, end, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM (
    /* each partition */
    SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
        delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
        delivery_attempted_at, delivery_completed_at, deleted_at
    FROM alert_logs_default
    WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
        AND deleted_at IS NULL
    ORDER BY timestamp DESC LIMIT :limit
    /* end */
) AS parts
ORDER BY timestamp DESC LIMIT :limit;

-- name: alert_logs_by_status
-- Live logs with a fired and delivery status (e.g. fired/pending to deliver), oldest first.
-- params: fired_status, delivery_status, start, end, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM (
    /* each partition */
    SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
        delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
        delivery_attempted_at, delivery_completed_at, deleted_at
    FROM alert_logs_default
    WHERE fired_status = :fired_status AND delivery_status = :delivery_status
        AND timestamp >= :start AND timestamp < :end AND deleted_at IS NULL
    ORDER BY timestamp LIMIT :limit
    /* end */
) AS parts
ORDER BY timestamp LIMIT :limit;

-- name: set_delivery_status
-- Record a delivery attempt's outcome for one log (in the table holding it).
-- params: delivery_status, delivery_attempted_at, delivery_completed_at, id
-- returns: nothing
UPDATE alert_logs_default
SET delivery_status = ?, delivery_attempted_at = ?, delivery_completed_at = ?
WHERE id = ?;

-- name: purge_deleted_alert_logs
-- Remove alert logs of one table soft-deleted before a cutoff, for good.
-- params: deleted_at
-- returns: nothing
DELETE FROM alert_logs_default WHERE deleted_at IS NOT NULL AND deleted_at < ?;
