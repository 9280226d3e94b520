-- QuantumLeap trading tables: signals, orders, trades, portfolio positions, performance, query timings.
--
-- Units, the same in every table (a reader of any row knows what a number means):
--   *_e8      an exact decimal as INTEGER scaled by 10^8: price_e8 = 12345678900 is 123.456789.
--             Prices and quantities (fractional shares and coins need 8 places; every tick size
--             of the legacy instruments, 4 places, fits). Products of two *_e8 values are done
--             in the application with Python integers, never in REAL.
--   *_minor   money as INTEGER in the minor unit of the row's ISO 4217 currency (cents for USD,
--             yen for JPY): cost basis, settlement, commissions, P&L are exact, sums are exact.
--   times     INTEGER microseconds since 1970-01-01 UTC (design brief: same insert speed as text
--             datetimes, 23% smaller); settlement_date is a calendar date 'YYYY-MM-DD'.
--   REAL      only for statistics that are not money: confidence, win rate, Sharpe, drawdown.
-- Tables are STRICT: SQLite refuses a text or a float in an INTEGER column instead of storing
-- it, so an exact amount cannot silently turn into an approximate one.
--
-- Integrity: sides, order types, time in force, statuses and currencies are CHECKed lists;
-- quantities and prices are positive; an order's limit/stop price is present exactly when its
-- type needs it and its filled quantity agrees with its status; a trade's settlement amount is
-- its gross amount less costs (sell) or plus costs, negated (buy). Foreign keys are ON DELETE
-- RESTRICT: a signal with orders or an order with trades cannot be deleted. A trade references
-- its order by (id, symbol, side), so a fill can never disagree with the order it fills.
-- Each child key has an index, so the RESTRICT check on a delete is a seek, not a scan.
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

CREATE INDEX ix_signals_confidence_timestamp ON signals (confidence_score, timestamp);
CREATE INDEX ix_orders_status_created ON orders (status, created_at);
CREATE INDEX ix_orders_signal ON orders (signal_id);
CREATE INDEX ix_trades_symbol_timestamp ON trades (symbol, timestamp);
CREATE INDEX ix_trades_order ON trades (order_id);
CREATE UNIQUE INDEX ux_portfolio_positions_user_symbol ON portfolio_positions (user_id, symbol);
CREATE INDEX ix_query_performance_name_started ON query_performance (query_name, started_at);
