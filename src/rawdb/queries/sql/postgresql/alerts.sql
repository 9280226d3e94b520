-- Alert rules and alert logs on PostgreSQL: the statements of ../alerts.sql; alert_logs is
-- partitioned by quarter, and the planner prunes the quarters a range does not touch.

-- name: insert_alert_rule
-- Register a rule; an unknown instrument is refused by the foreign key.
-- params: instrument_id, rule_type, condition, threshold, active, name, description,
--     time_window_seconds, moving_average_period, cooldown_seconds
-- returns: row
INSERT INTO alert_rules (
    instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, created_at, updated_at
) VALUES (
    :instrument_id, :rule_type, :condition, :threshold, :active, :name, :description,
    :time_window_seconds, :moving_average_period, :cooldown_seconds, now(), now()
)
RETURNING id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at;

-- name: get_alert_rule
-- One rule by id.
-- params: id
-- returns: row
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules WHERE id = :id;

-- name: active_alert_rules
-- Active rules of one instrument (NULL: of all), by id.
-- params: instrument_id
-- returns: rows
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules
WHERE active AND (:instrument_id::bigint IS NULL OR instrument_id = :instrument_id)
ORDER BY id;

-- name: mark_rule_triggered
-- Record that a rule fired (its cooldown counts from here).
-- params: at, id
-- returns: nothing
UPDATE alert_rules SET last_triggered = :at, updated_at = now() WHERE id = :id;

-- name: delete_alert_rule
-- Delete a rule; RESTRICT foreign keys refuse it while logs refer to it.
-- params: id
-- returns: nothing
DELETE FROM alert_rules WHERE id = :id;

-- name: alert_logs_by_rule
-- Live logs of one rule in [start, end), newest first.
-- params: rule_id, start, end, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE rule_id = :rule_id AND timestamp >= :start AND timestamp < :end AND deleted_at IS NULL
ORDER BY timestamp DESC, id DESC LIMIT :limit;

-- name: alert_logs_by_instrument
-- Live logs of one instrument in [start, end), newest first.
-- params: instrument_id, start, end, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
    AND deleted_at IS NULL
ORDER BY timestamp DESC, id DESC LIMIT :limit;

-- name: alert_logs_by_status
-- Live logs in a fired and delivery status, oldest first.
-- params: fired_status, delivery_status, limit
-- returns: rows
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE fired_status = :fired_status AND delivery_status = :delivery_status
    AND deleted_at IS NULL
ORDER BY timestamp, id LIMIT :limit;

-- name: set_delivery_status
-- Record a delivery attempt's outcome for one log (its key's id leads; every quarter is looked
-- at by index).
-- params: status, attempted_at, completed_at, id
-- returns: row
UPDATE alert_logs
SET delivery_status = :status, delivery_attempted_at = :attempted_at,
    delivery_completed_at = :completed_at
WHERE id = :id
RETURNING id;
