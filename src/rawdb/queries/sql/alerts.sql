-- Alert rules and the log of their evaluations.

-- name: insert_alert_rule
-- Register an alert rule for an instrument.
INSERT INTO alert_rules (
    instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, created_at, updated_at
) VALUES (
    :instrument_id, :rule_type, :condition, :threshold, :active, :name, :description,
    :time_window_seconds, :moving_average_period, :cooldown_seconds, :now, :now
);

-- name: get_alert_rule
-- One alert rule by id.
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules WHERE id = ?;

-- name: active_alert_rules
-- Active rules, of one instrument or (NULL) of all.
SELECT id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered,
    created_at, updated_at
FROM alert_rules WHERE active = 1 AND (?1 IS NULL OR instrument_id = ?1)
ORDER BY id;

-- name: mark_rule_triggered
-- Record when a rule last fired (its cooldown counts from here).
UPDATE alert_rules SET last_triggered = ?, updated_at = ? WHERE id = ?;

-- name: delete_alert_rule
-- Delete a rule; RESTRICT refuses it while alert logs refer to it.
DELETE FROM alert_rules WHERE id = ?;

-- name: insert_alert_log
-- Record one evaluation of a rule.
INSERT INTO alert_logs (
    timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: alert_logs_by_rule
-- Live logs of one rule in [start, end), newest first (index: rule_id, timestamp).
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE rule_id = ? AND timestamp >= ? AND timestamp < ? AND deleted_at IS NULL
ORDER BY timestamp DESC LIMIT ?;

-- name: alert_logs_by_instrument
-- Live logs of one instrument in [start, end), newest first.
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE instrument_id = ? AND timestamp >= ? AND timestamp < ? AND deleted_at IS NULL
ORDER BY timestamp DESC LIMIT ?;

-- name: alert_logs_by_status
-- Live logs with a fired status and delivery status (e.g. fired/pending to deliver), oldest first.
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs
WHERE fired_status = ? AND delivery_status = ? AND deleted_at IS NULL
ORDER BY timestamp LIMIT ?;

-- name: set_delivery_status
-- Record a delivery attempt's outcome for one log.
UPDATE alert_logs
SET delivery_status = ?, delivery_attempted_at = ?, delivery_completed_at = ?
WHERE id = ?;
