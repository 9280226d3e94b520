-- Drop deleted_at from market_data and alert_logs; foreign keys back to ON DELETE CASCADE.
-- rawdb: foreign_keys=off
--
-- Refused while any row is soft-deleted: dropping deleted_at would bring those rows back to
-- life. The guard below fails with "CHECK constraint failed: rollback_refused_soft_deleted_rows"
-- and the migrator rolls back whole; restore (deleted_at = NULL) or purge those rows first.
--
-- Same rebuild procedure as the migration. The CREATE TABLE texts are those migration 0004
-- leaves (alert_rules: the legacy baseline's), byte for byte, so the schema after this rollback
-- is the one 0004 builds.
CREATE TEMP TABLE rollback_guard_0005 (
    soft_deleted_rows INTEGER NOT NULL,
    CONSTRAINT rollback_refused_soft_deleted_rows CHECK (soft_deleted_rows = 0)
);
INSERT INTO rollback_guard_0005 (soft_deleted_rows)
SELECT
    (SELECT count(*) FROM market_data WHERE deleted_at IS NOT NULL)
    + (SELECT count(*) FROM alert_logs WHERE deleted_at IS NOT NULL);
DROP TABLE rollback_guard_0005;

PRAGMA legacy_alter_table = ON;

DROP INDEX ix_alert_rules_active;
DROP INDEX ix_alert_rules_active_instrument;
DROP INDEX ix_alert_rules_instrument;
DROP INDEX ix_alert_rules_last_triggered;
DROP INDEX ix_alert_rules_type;
DROP INDEX ix_market_data_timestamp_instrument;
DROP INDEX ix_market_data_instrument_price;
DROP INDEX ix_market_data_deleted_at;
DROP INDEX ix_alert_logs_instrument;
DROP INDEX ix_alert_logs_rule_timestamp;
DROP INDEX ix_alert_logs_timestamp;
DROP INDEX ix_alert_logs_status;
DROP INDEX ix_alert_logs_deleted_at;

ALTER TABLE alert_logs RENAME TO alert_logs_restrict;
ALTER TABLE market_data RENAME TO market_data_restrict;
ALTER TABLE alert_rules RENAME TO alert_rules_restrict;

CREATE TABLE alert_rules (
	id INTEGER NOT NULL, 
	instrument_id INTEGER NOT NULL, 
	rule_type VARCHAR(50) NOT NULL, 
	condition VARCHAR(20) NOT NULL, 
	threshold DECIMAL(12, 4) NOT NULL, 
	active BOOLEAN NOT NULL, 
	name VARCHAR(100), 
	description TEXT, 
	time_window_seconds INTEGER, 
	moving_average_period INTEGER, 
	cooldown_seconds INTEGER NOT NULL, 
	last_triggered DATETIME, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE CASCADE
);
CREATE TABLE market_data (
	id INTEGER NOT NULL, 
	timestamp DATETIME NOT NULL, 
	instrument_id INTEGER NOT NULL, 
	price REAL, 
	volume INTEGER, 
	bid REAL, 
	ask REAL, 
	bid_size INTEGER, 
	ask_size INTEGER, 
	open_price REAL, 
	high_price REAL, 
	low_price REAL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE CASCADE
);
CREATE TABLE alert_logs (
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
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE CASCADE, 
	FOREIGN KEY(rule_id) REFERENCES alert_rules (id) ON DELETE CASCADE
);

INSERT INTO alert_rules (
    id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered, created_at,
    updated_at
)
SELECT
    id, instrument_id, rule_type, condition, threshold, active, name, description,
    time_window_seconds, moving_average_period, cooldown_seconds, last_triggered, created_at,
    updated_at
FROM alert_rules_restrict;
INSERT INTO market_data (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
)
SELECT
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
FROM market_data_restrict;
INSERT INTO alert_logs (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
)
SELECT
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
FROM alert_logs_restrict;

DROP TABLE alert_logs_restrict;
DROP TABLE market_data_restrict;
DROP TABLE alert_rules_restrict;

CREATE INDEX ix_alert_rules_active ON alert_rules (active);
CREATE INDEX ix_alert_rules_active_instrument ON alert_rules (active, instrument_id);
CREATE INDEX ix_alert_rules_instrument ON alert_rules (instrument_id);
CREATE INDEX ix_alert_rules_last_triggered ON alert_rules (last_triggered);
CREATE INDEX ix_alert_rules_type ON alert_rules (rule_type);
CREATE INDEX ix_market_data_timestamp_instrument ON market_data (timestamp, instrument_id);
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);
CREATE INDEX ix_alert_logs_instrument ON alert_logs (instrument_id);
CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs (rule_id, timestamp);
CREATE INDEX ix_alert_logs_timestamp ON alert_logs (timestamp);
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);

PRAGMA legacy_alter_table = OFF;
