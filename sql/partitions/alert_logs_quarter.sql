-- One quarter of alert logs: alert_logs' columns, RESTRICT foreign keys and indexes, plus a CHECK on the quarter.
--
-- rawdb.partitions fills the placeholders from validated integers only: alert_logs_yyyy_qn
-- becomes the table name (alert_logs_2026_q1) and PERIOD_START / PERIOD_END the quarter's
-- half-open bounds in the stored UTC text format ('2026-01-01 00:00:00', '2026-04-01 00:00:00').
-- Same indexes as the default table (migrations 0003 and 0008).
CREATE TABLE alert_logs_yyyy_qn (
    id INTEGER NOT NULL,
    timestamp DATETIME NOT NULL,
    rule_id INTEGER NOT NULL,
    instrument_id INTEGER NOT NULL,
    trigger_value REAL NOT NULL,
    threshold_value REAL NOT NULL,
    fired_status VARCHAR(20) NOT NULL,
    delivery_status VARCHAR(20) NOT NULL,
    evaluation_time_ms INTEGER,
    rule_condition VARCHAR(20) NOT NULL,
    alert_message TEXT,
    error_message TEXT,
    delivery_attempted_at DATETIME,
    delivery_completed_at DATETIME,
    deleted_at DATETIME,
    PRIMARY KEY (id),
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT,
    FOREIGN KEY (rule_id) REFERENCES alert_rules (id) ON DELETE RESTRICT,
    CONSTRAINT ck_alert_logs_yyyy_qn_period CHECK (
        timestamp >= 'PERIOD_START' AND timestamp < 'PERIOD_END'
    )
);
CREATE INDEX ix_alert_logs_yyyy_qn_timestamp ON alert_logs_yyyy_qn (timestamp);
CREATE INDEX ix_alert_logs_yyyy_qn_rule_timestamp ON alert_logs_yyyy_qn (rule_id, timestamp);
CREATE INDEX ix_alert_logs_yyyy_qn_instrument ON alert_logs_yyyy_qn (instrument_id);
CREATE INDEX ix_alert_logs_yyyy_qn_status
ON alert_logs_yyyy_qn (fired_status, delivery_status);
CREATE INDEX ix_alert_logs_yyyy_qn_deleted_at
ON alert_logs_yyyy_qn (deleted_at) WHERE deleted_at IS NOT NULL;
