-- REAL -> DECIMAL(12, 4) again for market_data and alert_logs prices, by table rebuild.
-- rawdb: foreign_keys=off
--
-- The CREATE TABLE texts are the legacy baseline's, byte for byte. NUMERIC affinity stores a
-- whole-valued REAL as INTEGER, as the legacy application's rows were stored, and keeps every
-- other value. Same procedure as the migration: rename the table away with legacy_alter_table
-- on and foreign keys off, create it under its own name, copy, drop, rebuild the indexes.
PRAGMA legacy_alter_table = ON;

DROP INDEX ix_market_data_timestamp_instrument;
DROP INDEX ix_market_data_instrument_price;
ALTER TABLE market_data RENAME TO market_data_real;
CREATE TABLE market_data (
	id INTEGER NOT NULL, 
	timestamp DATETIME NOT NULL, 
	instrument_id INTEGER NOT NULL, 
	price DECIMAL(12, 4), 
	volume INTEGER, 
	bid DECIMAL(12, 4), 
	ask DECIMAL(12, 4), 
	bid_size INTEGER, 
	ask_size INTEGER, 
	open_price DECIMAL(12, 4), 
	high_price DECIMAL(12, 4), 
	low_price DECIMAL(12, 4), 
	PRIMARY KEY (id), 
	FOREIGN KEY(instrument_id) REFERENCES instruments (id) ON DELETE CASCADE
);
INSERT INTO market_data (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
)
SELECT
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
FROM market_data_real;
DROP TABLE market_data_real;
CREATE INDEX ix_market_data_timestamp_instrument ON market_data (timestamp, instrument_id);
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);

DROP INDEX ix_alert_logs_instrument;
DROP INDEX ix_alert_logs_rule_timestamp;
DROP INDEX ix_alert_logs_timestamp;
DROP INDEX ix_alert_logs_status;
ALTER TABLE alert_logs RENAME TO alert_logs_real;
CREATE TABLE alert_logs (
	id INTEGER NOT NULL, 
	timestamp DATETIME NOT NULL, 
	rule_id INTEGER NOT NULL, 
	instrument_id INTEGER NOT NULL, 
	trigger_value DECIMAL(12, 4) NOT NULL, 
	threshold_value DECIMAL(12, 4) NOT NULL, 
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
INSERT INTO alert_logs (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
)
SELECT
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
FROM alert_logs_real;
DROP TABLE alert_logs_real;
CREATE INDEX ix_alert_logs_instrument ON alert_logs (instrument_id);
CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs (rule_id, timestamp);
CREATE INDEX ix_alert_logs_timestamp ON alert_logs (timestamp);
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);

PRAGMA legacy_alter_table = OFF;
