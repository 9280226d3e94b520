-- alert_logs indexes 10 -> 4, as on SQLite: keep timestamp, (rule_id, timestamp) and
-- instrument_id (it serves the foreign key), add (fired_status, delivery_status).
DROP INDEX ix_alert_logs_delivery_status;
DROP INDEX ix_alert_logs_evaluation_time;
DROP INDEX ix_alert_logs_fired_status;
DROP INDEX ix_alert_logs_recent;
DROP INDEX ix_alert_logs_rule;
DROP INDEX ix_alert_logs_timestamp_instrument;
DROP INDEX ix_alert_logs_timestamp_rule;
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);
