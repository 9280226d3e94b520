-- Back to the ten legacy alert_logs indexes.
DROP INDEX ix_alert_logs_status;
CREATE INDEX ix_alert_logs_delivery_status ON alert_logs (delivery_status);
CREATE INDEX ix_alert_logs_evaluation_time ON alert_logs (evaluation_time_ms);
CREATE INDEX ix_alert_logs_fired_status ON alert_logs (fired_status);
CREATE INDEX ix_alert_logs_recent ON alert_logs (timestamp, fired_status, instrument_id);
CREATE INDEX ix_alert_logs_rule ON alert_logs (rule_id);
CREATE INDEX ix_alert_logs_timestamp_instrument ON alert_logs (timestamp, instrument_id);
CREATE INDEX ix_alert_logs_timestamp_rule ON alert_logs (timestamp, rule_id);
