-- Canonical schema, written by `python -m rawdb.migrate dump-schema`; do not edit.
-- version: 11

CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));

CREATE TABLE alert_logs_default (
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

CREATE TABLE market_data_1h (
    instrument_id INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume INTEGER NOT NULL,
    ticks INTEGER NOT NULL,
    open_at TEXT NOT NULL,
    open_id INTEGER NOT NULL,
    close_at TEXT NOT NULL,
    close_id INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, bucket),
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
) WITHOUT ROWID;

CREATE TABLE market_data_1m (
    instrument_id INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume INTEGER NOT NULL,
    ticks INTEGER NOT NULL,
    open_at TEXT NOT NULL,
    open_id INTEGER NOT NULL,
    close_at TEXT NOT NULL,
    close_id INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, bucket),
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
) WITHOUT ROWID;

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

CREATE TABLE market_data_default (
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

CREATE TABLE market_data_latest (
    instrument_id INTEGER NOT NULL PRIMARY KEY,
    id INTEGER NOT NULL,
    timestamp DATETIME NOT NULL,
    price REAL,
    volume INTEGER,
    bid REAL,
    ask REAL,
    bid_size INTEGER,
    ask_size INTEGER,
    open_price REAL,
    high_price REAL,
    low_price REAL,
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    broker_order_id TEXT UNIQUE,
    user_id INTEGER NOT NULL CHECK (user_id > 0),
    signal_id INTEGER REFERENCES signals (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type TEXT NOT NULL CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit')),
    time_in_force TEXT NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
    quantity_e8 INTEGER NOT NULL CHECK (quantity_e8 > 0),
    limit_price_e8 INTEGER CHECK (limit_price_e8 > 0),
    stop_price_e8 INTEGER CHECK (stop_price_e8 > 0),
    filled_quantity_e8 INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (
        status IN (
            'pending_new', 'new', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'
        )
    ),
    reject_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT uq_orders_id_symbol_side UNIQUE (id, symbol, side),
    CONSTRAINT ck_orders_filled_range CHECK (filled_quantity_e8 BETWEEN 0 AND quantity_e8),
    CONSTRAINT ck_orders_limit_price CHECK (
        (limit_price_e8 IS NOT NULL) = (order_type IN ('limit', 'stop_limit'))
    ),
    CONSTRAINT ck_orders_stop_price CHECK (
        (stop_price_e8 IS NOT NULL) = (order_type IN ('stop', 'stop_limit'))
    ),
    CONSTRAINT ck_orders_status_fill CHECK (
        CASE status
            WHEN 'filled' THEN filled_quantity_e8 = quantity_e8
            WHEN 'partially_filled' THEN filled_quantity_e8 > 0 AND filled_quantity_e8 < quantity_e8
            WHEN 'pending_new' THEN filled_quantity_e8 = 0
            WHEN 'new' THEN filled_quantity_e8 = 0
            WHEN 'rejected' THEN filled_quantity_e8 = 0
            ELSE 1
        END
    ),
    CONSTRAINT ck_orders_times CHECK (updated_at >= created_at)
) STRICT;

CREATE TABLE performance_metrics (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL CHECK (user_id > 0),
    strategy TEXT NOT NULL CHECK (length(strategy) BETWEEN 1 AND 64),
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    starting_equity_minor INTEGER NOT NULL,
    ending_equity_minor INTEGER NOT NULL,
    realized_pnl_minor INTEGER NOT NULL,
    unrealized_pnl_minor INTEGER NOT NULL,
    fees_minor INTEGER NOT NULL CHECK (fees_minor >= 0),
    trade_count INTEGER NOT NULL CHECK (trade_count >= 0),
    win_rate REAL CHECK (win_rate BETWEEN 0.0 AND 1.0),
    sharpe_ratio REAL,
    max_drawdown REAL CHECK (max_drawdown BETWEEN 0.0 AND 1.0),
    computed_at INTEGER NOT NULL,
    CONSTRAINT ck_performance_metrics_period CHECK (period_end > period_start),
    CONSTRAINT uq_performance_metrics_period UNIQUE (user_id, strategy, period_start, period_end)
) STRICT;

CREATE TABLE portfolio_positions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL CHECK (user_id > 0),
    symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    quantity_e8 INTEGER NOT NULL,
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    cost_basis_minor INTEGER NOT NULL,
    realized_pnl_minor INTEGER NOT NULL DEFAULT 0,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- quantity is signed (long > 0, short < 0, flat = 0, kept for its realized P&L); the cost
    -- basis of the open quantity carries the same sign (a short's is the proceeds received)
    CONSTRAINT ck_positions_cost_sign CHECK (
        (quantity_e8 > 0 AND cost_basis_minor >= 0)
        OR (quantity_e8 < 0 AND cost_basis_minor <= 0)
        OR (quantity_e8 = 0 AND cost_basis_minor = 0)
    ),
    CONSTRAINT ck_positions_times CHECK (updated_at >= opened_at)
) STRICT;

CREATE TABLE query_performance (
    id INTEGER PRIMARY KEY,
    query_name TEXT NOT NULL CHECK (length(query_name) BETWEEN 1 AND 128),
    started_at INTEGER NOT NULL,
    duration_us INTEGER NOT NULL CHECK (duration_us >= 0),
    row_count INTEGER CHECK (row_count >= 0),
    succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1)),
    error TEXT,
    CONSTRAINT ck_query_performance_error CHECK ((succeeded = 1) = (error IS NULL))
) STRICT;

CREATE TABLE rawdb_partition_audit (
    id INTEGER PRIMARY KEY,
    happened_at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (
        action IN ('create', 'archive', 'restore', 'purge', 'move')
    ),
    table_name TEXT NOT NULL,
    row_count INTEGER,
    checksum TEXT,
    archive_file TEXT,
    detail TEXT
) STRICT;

CREATE TABLE rawdb_partitions (
    name TEXT PRIMARY KEY,
    family TEXT NOT NULL CHECK (family IN ('market_data', 'alert_logs')),
    period_start TEXT,
    period_end TEXT,
    state TEXT NOT NULL CHECK (
        state IN ('default', 'active', 'archiving', 'archived')
    ),
    id_floor INTEGER NOT NULL CHECK (id_floor >= 0),
    created_at TEXT,
    archived_at TEXT,
    archive_file TEXT,
    row_count INTEGER CHECK (row_count >= 0),
    checksum TEXT,
    counted_at TEXT,
    CONSTRAINT ck_rawdb_partitions_bounds CHECK (
        (state = 'default' AND period_start IS NULL AND period_end IS NULL)
        OR (state != 'default' AND period_end > period_start)
    ),
    CONSTRAINT uq_rawdb_partitions_period UNIQUE (family, period_start)
) STRICT;

CREATE TABLE rawdb_rollup_backfill (
    instrument_id INTEGER NOT NULL PRIMARY KEY,
    done_until DATETIME NOT NULL,
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT
);

CREATE TABLE rawdb_rollup_gaps (
    gap_start TEXT NOT NULL,
    gap_end TEXT NOT NULL,
    PRIMARY KEY (gap_start, gap_end)
);

CREATE TABLE rawdb_rollup_state (
    family TEXT NOT NULL PRIMARY KEY,
    live_since DATETIME,
    complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
    minutes_kept_from TEXT NOT NULL DEFAULT '0000-01-01 00:00'
);

CREATE TABLE signals (
    id INTEGER PRIMARY KEY,
    strategy TEXT NOT NULL CHECK (length(strategy) BETWEEN 1 AND 64),
    symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    direction TEXT NOT NULL CHECK (direction IN ('long', 'short', 'flat')),
    confidence_score REAL NOT NULL CHECK (confidence_score BETWEEN 0.0 AND 1.0),
    target_price_e8 INTEGER CHECK (target_price_e8 > 0),
    stop_price_e8 INTEGER CHECK (stop_price_e8 > 0),
    timestamp INTEGER NOT NULL,
    expires_at INTEGER,
    payload TEXT CHECK (payload IS NULL OR json_valid(payload)),
    CONSTRAINT ck_signals_expiry CHECK (expires_at IS NULL OR expires_at > timestamp)
) STRICT;

CREATE TABLE trades (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    execution_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity_e8 INTEGER NOT NULL CHECK (quantity_e8 > 0),
    price_e8 INTEGER NOT NULL CHECK (price_e8 > 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    gross_amount_minor INTEGER NOT NULL CHECK (gross_amount_minor >= 0),
    commission_minor INTEGER NOT NULL DEFAULT 0 CHECK (commission_minor >= 0),
    fees_minor INTEGER NOT NULL DEFAULT 0 CHECK (fees_minor >= 0),
    settlement_amount_minor INTEGER NOT NULL,
    settlement_date TEXT NOT NULL CHECK (settlement_date IS date(settlement_date)),
    timestamp INTEGER NOT NULL,
    CONSTRAINT ck_trades_settlement CHECK (
        settlement_amount_minor = CASE side
            WHEN 'sell' THEN gross_amount_minor - commission_minor - fees_minor
            ELSE -(gross_amount_minor + commission_minor + fees_minor)
        END
    ),
    CONSTRAINT fk_trades_order FOREIGN KEY (order_id, symbol, side)
    REFERENCES orders (id, symbol, side) ON DELETE RESTRICT ON UPDATE RESTRICT
) STRICT;

CREATE VIEW alert_logs AS
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs_default;

CREATE VIEW market_data AS
SELECT id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price, deleted_at
FROM market_data_default;

CREATE INDEX idx_symbol_freq_timestamp ON market_data_bar (symbol, frequency, timestamp);

CREATE INDEX idx_symbol_timestamp_freq ON market_data_bar (symbol, timestamp, frequency);

CREATE INDEX ix_alert_logs_deleted_at ON alert_logs_default (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE INDEX ix_alert_logs_instrument ON alert_logs_default (instrument_id);

CREATE INDEX ix_alert_logs_rule_timestamp ON alert_logs_default (rule_id, timestamp);

CREATE INDEX ix_alert_logs_status ON alert_logs_default (fired_status, delivery_status);

CREATE INDEX ix_alert_logs_timestamp ON alert_logs_default (timestamp);

CREATE INDEX ix_alert_rules_active ON alert_rules (active);

CREATE INDEX ix_alert_rules_active_instrument ON alert_rules (active, instrument_id);

CREATE INDEX ix_alert_rules_instrument ON alert_rules (instrument_id);

CREATE INDEX ix_alert_rules_last_triggered ON alert_rules (last_triggered);

CREATE INDEX ix_alert_rules_type ON alert_rules (rule_type);

CREATE INDEX ix_instruments_last_tick ON instruments (last_tick);

CREATE UNIQUE INDEX ix_instruments_symbol ON instruments (symbol);

CREATE INDEX ix_instruments_type_status ON instruments (type, status);

CREATE INDEX ix_market_data_bar_symbol ON market_data_bar (symbol);

CREATE INDEX ix_market_data_bar_timestamp ON market_data_bar (timestamp);

CREATE INDEX ix_market_data_deleted_at ON market_data_default (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE INDEX ix_market_data_instrument_timestamp ON market_data_default (instrument_id, timestamp);

CREATE INDEX ix_market_data_timestamp_instrument ON market_data_default (timestamp, instrument_id);

CREATE INDEX ix_orders_signal ON orders (signal_id);

CREATE INDEX ix_orders_status_created ON orders (status, created_at);

CREATE INDEX ix_query_performance_name_started ON query_performance (query_name, started_at);

CREATE INDEX ix_rawdb_partition_audit_table
ON rawdb_partition_audit (table_name, happened_at);

CREATE INDEX ix_signals_confidence_timestamp ON signals (confidence_score, timestamp);

CREATE INDEX ix_trades_order ON trades (order_id);

CREATE INDEX ix_trades_symbol_timestamp ON trades (symbol, timestamp);

CREATE UNIQUE INDEX ux_portfolio_positions_user_symbol ON portfolio_positions (user_id, symbol);

CREATE TRIGGER rawdb_alert_rules_checked_insert
BEFORE INSERT ON alert_rules
WHEN new.rule_type NOT IN (
        'threshold', 'crossover', 'rate_of_change', 'volume_spike', 'moving_average',
        'multi_condition'
    )
    OR new.condition NOT IN (
        'above', 'below', 'equals', 'crosses_above', 'crosses_below', 'percent_change_up',
        'percent_change_down', 'volume_above'
    )
BEGIN
    SELECT raise(
        ABORT,
        'alert_rules: rule_type or condition outside rawdb.models.RULE_TYPES / RULE_CONDITIONS'
    );
END;

CREATE TRIGGER rawdb_alert_rules_checked_update
BEFORE UPDATE OF rule_type, condition ON alert_rules
WHEN new.rule_type NOT IN (
        'threshold', 'crossover', 'rate_of_change', 'volume_spike', 'moving_average',
        'multi_condition'
    )
    OR new.condition NOT IN (
        'above', 'below', 'equals', 'crosses_above', 'crosses_below', 'percent_change_up',
        'percent_change_down', 'volume_above'
    )
BEGIN
    SELECT raise(
        ABORT,
        'alert_rules: rule_type or condition outside rawdb.models.RULE_TYPES / RULE_CONDITIONS'
    );
END;

CREATE TRIGGER rawdb_instruments_checked_insert
BEFORE INSERT ON instruments
WHEN new.type NOT IN ('future', 'index', 'internal', 'etf')
    OR new.status NOT IN ('active', 'inactive', 'error')
    OR new.symbol IS NOT trim(new.symbol)
    OR length(new.symbol) NOT BETWEEN 1 AND 10
    OR instr(cast(new.symbol AS BLOB), x'00') > 0
    OR new.symbol GLOB '*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159)
    || char(8232) || char(8233) || char(8234) || '-' || char(8238) || char(8294) || '-'
    || char(8297) || ']*'
BEGIN
    SELECT raise(
        ABORT,
        'instruments: type, status or symbol not accepted (see rawdb.models: INSTRUMENT_TYPES, INSTRUMENT_STATUSES, Symbol)'
    );
END;

CREATE TRIGGER rawdb_instruments_checked_update
BEFORE UPDATE OF type, status, symbol ON instruments
WHEN new.type NOT IN ('future', 'index', 'internal', 'etf')
    OR new.status NOT IN ('active', 'inactive', 'error')
    OR new.symbol IS NOT trim(new.symbol)
    OR length(new.symbol) NOT BETWEEN 1 AND 10
    OR instr(cast(new.symbol AS BLOB), x'00') > 0
    OR new.symbol GLOB '*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159)
    || char(8232) || char(8233) || char(8234) || '-' || char(8238) || char(8294) || '-'
    || char(8297) || ']*'
BEGIN
    SELECT raise(
        ABORT,
        'instruments: type, status or symbol not accepted (see rawdb.models: INSTRUMENT_TYPES, INSTRUMENT_STATUSES, Symbol)'
    );
END;
