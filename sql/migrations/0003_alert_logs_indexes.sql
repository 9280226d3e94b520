-- alert_logs indexes 10 -> 4, as the integrity extension specified.
--
-- Keeps ix_alert_logs_timestamp, ix_alert_logs_rule_timestamp and ix_alert_logs_instrument
-- (the last also serves the foreign key to instruments), adds ix_alert_logs_status on
-- (fired_status, delivery_status), and drops the other seven: the single-column status and
-- evaluation-time indexes, ix_alert_logs_rule (a prefix of rule_timestamp, which serves the
-- foreign key to alert_rules), and the three timestamp-led composites that
-- ix_alert_logs_timestamp already answers.
DROP INDEX ix_alert_logs_delivery_status;
DROP INDEX ix_alert_logs_evaluation_time;
DROP INDEX ix_alert_logs_fired_status;
DROP INDEX ix_alert_logs_recent;
DROP INDEX ix_alert_logs_rule;
DROP INDEX ix_alert_logs_timestamp_instrument;
DROP INDEX ix_alert_logs_timestamp_rule;
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);
