-- DECIMAL(12, 4) -> REAL for market_data and alert_logs prices, by table rebuild.
-- rawdb: foreign_keys=off
--
-- Columns: market_data price, bid, ask, open_price, high_price, low_price; alert_logs
-- trigger_value, threshold_value. SQLite cannot change a column's type in place, so each table
-- is rebuilt. Values are copied without CAST: a DECIMAL column has NUMERIC affinity and already
-- holds REAL (or INTEGER when whole); REAL affinity turns the integers into the same value as a
-- float and leaves every other value as it is, so no value moves by more than 1e-4 (none moves
-- at all for prices with 4 decimals) and nothing unparseable is silently turned into 0.0.
--
-- The rebuild keeps each table's own name in sqlite_schema (no quoted "market_data" left by a
-- rename of the new table): the old table is renamed away first, with legacy_alter_table on and
-- foreign keys off (header), which is the one combination in which SQLite renames only the
-- table itself and leaves every REFERENCES, view and trigger naming the old name as written,
-- so they resolve to the new table. The old indexes are dropped first and rebuilt after the
-- copy (a sorted build is faster than per-row inserts). Neither table has child tables.
-- The migrator runs PRAGMA foreign_key_check before commit.
PRAGMA legacy_alter_table = ON;

DROP INDEX ix_market_data_timestamp_instrument;
DROP INDEX ix_market_data_instrument_price;
ALTER TABLE market_data RENAME TO market_data_decimal;
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
INSERT INTO market_data (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
)
SELECT
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price
FROM market_data_decimal;
DROP TABLE market_data_decimal;
CREATE INDEX ix_market_data_timestamp_instrument ON market_data (timestamp, instrument_id);
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);

DROP INDEX ix_alert_logs_instrument;
DROP INDEX ix_alert_logs_rule_timestamp;
DROP INDEX ix_alert_logs_timestamp;
DROP INDEX ix_alert_logs_status;
ALTER TABLE alert_logs RENAME TO alert_logs_decimal;
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
INSERT INTO alert_logs (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
)
SELECT
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at
FROM alert_logs_decimal;
DROP TABLE alert_logs_decimal;
CREATE INDEX ix_alert_logs_instrument ON alert_logs (instrument_id);
CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs (rule_id, timestamp);
CREATE INDEX ix_alert_logs_timestamp ON alert_logs (timestamp);
CREATE INDEX ix_alert_logs_status ON alert_logs (fired_status, delivery_status);

PRAGMA legacy_alter_table = OFF;
