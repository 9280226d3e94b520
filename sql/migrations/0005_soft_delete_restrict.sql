-- Soft delete (deleted_at) on market_data and alert_logs; every ON DELETE CASCADE -> RESTRICT.
-- rawdb: foreign_keys=off
--
-- The legacy schema deletes an instrument's ticks, rules and alert logs, and a rule's logs,
-- silently through ON DELETE CASCADE. After this migration deleting a parent that still has
-- children fails with "FOREIGN KEY constraint failed" and deletes nothing; rows are retired
-- by setting deleted_at instead (DATETIME text like the other columns, NULL = live; indexed).
--
-- SQLite cannot alter a foreign key, so alert_rules, market_data and alert_logs (every table
-- with a CASCADE) are rebuilt. The three are renamed away first, with legacy_alter_table on
-- and foreign keys off (header): in that combination SQLite renames only the table itself and
-- leaves every REFERENCES naming the old name as written, so alert_logs' reference to
-- alert_rules is never pointed at the old copy, and each new table keeps its own unquoted name
-- in sqlite_schema. Then: create the three under their names (parents first), copy every row
-- with its id, drop the old copies (children first), rebuild every index. With foreign keys
-- on, renames would rewrite references and dropping a table would run its ON DELETE actions:
-- hence the header. The migrator runs PRAGMA foreign_key_check before commit.
PRAGMA legacy_alter_table = ON;

DROP INDEX ix_alert_rules_active;
DROP INDEX ix_alert_rules_active_instrument;
DROP INDEX ix_alert_rules_instrument;
DROP INDEX ix_alert_rules_last_triggered;
DROP INDEX ix_alert_rules_type;
DROP INDEX ix_market_data_timestamp_instrument;
DROP INDEX ix_market_data_instrument_price;
DROP INDEX ix_alert_logs_instrument;
DROP INDEX ix_alert_logs_rule_timestamp;
DROP INDEX ix_alert_logs_timestamp;
DROP INDEX ix_alert_logs_status;

ALTER TABLE alert_logs RENAME TO alert_logs_cascade;
ALTER TABLE market_data RENAME TO market_data_cascade;
ALTER TABLE alert_rules RENAME TO alert_rules_cascade;

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
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
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
	deleted_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
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
	deleted_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT, 
	FOREIGN KEY(rule_id) REFERENCES alert_rules (id) ON DELETE RESTRICT
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
FROM alert_rules_cascade;
INSERT INTO market_data (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
)
SELECT
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
FROM market_data_cascade;
INSERT INTO alert_logs (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
)
SELECT
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
FROM alert_logs_cascade;

DROP TABLE alert_logs_cascade;
DROP TABLE market_data_cascade;
DROP TABLE alert_rules_cascade;

CREATE INDEX ix_alert_rules_active ON alert_rules (active);
CREATE INDEX ix_alert_rules_active_instrument ON alert_rules (active, instrument_id);
CREATE INDEX ix_alert_rules_instrument ON alert_rules (instrument_id);
CREATE INDEX ix_alert_rules_last_triggered ON alert_rules (last_triggered);
CREATE INDEX ix_alert_rules_type ON alert_rules (rule_type);
CREATE INDEX ix_market_data_timestamp_instrument ON market_data (timestamp, instrument_id);
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);
CREATE INDEX ix_market_data_deleted_at ON market_data (deleted_at);
CREATE INDEX ix_alert_logs_instrument ON alert_logs (instrument_id);
CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs (rule_id, timestamp);
CREATE INDEX ix_alert_logs_timestamp ON alert_logs (timestamp);
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);
CREATE INDEX ix_alert_logs_deleted_at ON alert_logs (deleted_at);

PRAGMA legacy_alter_table = OFF;
