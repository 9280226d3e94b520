-- TradeAssist legacy baseline: the schema Alembic leaves at revision 4524473b46fb.
-- rawdb: adopt alembic=4524473b46fb
--
-- Every CREATE below is, byte for byte, the DDL SQLAlchemy emitted for TradeAssist (tabs, the
-- blank after each comma and all). SQLite keeps the text of each CREATE in sqlite_schema, so a
-- database built from this file and one built by Alembic hold the same schema text, and an
-- existing TradeAssist database is adopted as version 1 without anything to tell them apart
-- afterwards. The alembic_version row is inserted for the same reason. Do not reformat.
--
-- What the later migrations change: DECIMAL prices (NUMERIC affinity: values are stored as
-- REAL, or INTEGER when whole), DATETIME as text 'YYYY-MM-DD HH:MM:SS.ffffff', BOOLEAN as
-- INTEGER 0/1, too many indexes on market_data and alert_logs, and ON DELETE CASCADE.

CREATE TABLE instruments (
	id INTEGER NOT NULL, 
	symbol VARCHAR(10) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	type VARCHAR(20) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	last_tick DATETIME, 
	last_price DECIMAL(10, 4), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_instruments_last_tick ON instruments (last_tick);
CREATE INDEX ix_instruments_type_status ON instruments (type, status);
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
CREATE INDEX ix_alert_rules_active ON alert_rules (active);
CREATE INDEX ix_alert_rules_active_instrument ON alert_rules (active, instrument_id);
CREATE INDEX ix_alert_rules_instrument ON alert_rules (instrument_id);
CREATE INDEX ix_alert_rules_last_triggered ON alert_rules (last_triggered);
CREATE INDEX ix_alert_rules_type ON alert_rules (rule_type);
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
CREATE INDEX ix_market_data_instrument ON market_data (instrument_id);
CREATE INDEX ix_market_data_latest ON market_data (instrument_id, timestamp, price);
CREATE INDEX ix_market_data_price ON market_data (price);
CREATE INDEX ix_market_data_timestamp ON market_data (timestamp);
CREATE INDEX ix_market_data_timestamp_instrument ON market_data (timestamp, instrument_id);
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
CREATE INDEX ix_alert_logs_delivery_status ON alert_logs (delivery_status);
CREATE INDEX ix_alert_logs_evaluation_time ON alert_logs (evaluation_time_ms);
CREATE INDEX ix_alert_logs_fired_status ON alert_logs (fired_status);
CREATE INDEX ix_alert_logs_instrument ON alert_logs (instrument_id);
CREATE INDEX ix_alert_logs_recent ON alert_logs (timestamp, fired_status, instrument_id);
CREATE INDEX ix_alert_logs_rule ON alert_logs (rule_id);
CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs (rule_id, timestamp);
CREATE INDEX ix_alert_logs_timestamp ON alert_logs (timestamp);
CREATE INDEX ix_alert_logs_timestamp_instrument ON alert_logs (timestamp, instrument_id);
CREATE INDEX ix_alert_logs_timestamp_rule ON alert_logs (timestamp, rule_id);
CREATE TABLE data_query (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	description VARCHAR(500), 
	symbols TEXT NOT NULL, 
	start_date DATETIME, 
	end_date DATETIME, 
	frequency VARCHAR(10) NOT NULL, 
	filters TEXT, 
	is_favorite BOOLEAN NOT NULL, 
	last_executed DATETIME, 
	execution_count INTEGER NOT NULL, 
	average_execution_time_ms INTEGER, 
	tags VARCHAR(500), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE data_source (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	provider_type VARCHAR(50) NOT NULL, 
	base_url VARCHAR(255), 
	api_key_secret_id VARCHAR(255), 
	rate_limit_per_minute INTEGER NOT NULL, 
	is_active BOOLEAN NOT NULL, 
	configuration TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE market_data_bar (
	id INTEGER NOT NULL, 
	symbol VARCHAR(50) NOT NULL, 
	timestamp DATETIME NOT NULL, 
	frequency VARCHAR(10) NOT NULL, 
	open_price DECIMAL(10, 4) NOT NULL, 
	high_price DECIMAL(10, 4) NOT NULL, 
	low_price DECIMAL(10, 4) NOT NULL, 
	close_price DECIMAL(10, 4) NOT NULL, 
	volume INTEGER NOT NULL, 
	open_interest INTEGER, 
	contract_month VARCHAR(10), 
	data_source_id INTEGER NOT NULL, 
	is_adjusted BOOLEAN NOT NULL, 
	quality_score INTEGER, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_high_price_valid CHECK (high_price >= open_price AND high_price >= close_price), 
	CONSTRAINT ck_low_price_valid CHECK (low_price <= open_price AND low_price <= close_price), 
	CONSTRAINT ck_positive_prices CHECK (open_price > 0 AND high_price > 0 AND low_price > 0 AND close_price > 0), 
	CONSTRAINT ck_quality_score_range CHECK (quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 100)), 
	CONSTRAINT ck_volume_non_negative CHECK (volume >= 0), 
	FOREIGN KEY(data_source_id) REFERENCES data_source (id), 
	CONSTRAINT uq_market_data_bar UNIQUE (symbol, timestamp, frequency, data_source_id)
);
CREATE INDEX idx_symbol_freq_timestamp ON market_data_bar (symbol, frequency, timestamp);
CREATE INDEX idx_symbol_timestamp_freq ON market_data_bar (symbol, timestamp, frequency);
CREATE INDEX ix_market_data_bar_symbol ON market_data_bar (symbol);
CREATE INDEX ix_market_data_bar_timestamp ON market_data_bar (timestamp);
CREATE UNIQUE INDEX ix_instruments_symbol ON instruments (symbol);
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version (version_num) VALUES ('4524473b46fb');
