-- QuantumLeap trading on PostgreSQL: the statements of ../trading.sql, in the same units
-- (bigint). What differs: greatest() for SQLite's two-argument max(), a typed NULL test for the
-- optional filters, and settlement_date and payload (date and jsonb here) read back as the
-- text SQLite stores, so one model reads both.

-- name: insert_signal
-- Record a strategy's signal; its new id.
-- params: strategy, symbol, direction, confidence_score, target_price_e8, stop_price_e8, timestamp,
--     expires_at, payload
-- returns: value
INSERT INTO signals (
    strategy, symbol, direction, confidence_score, target_price_e8, stop_price_e8,
    timestamp, expires_at, payload
)
VALUES (
    :strategy, :symbol, :direction, :confidence_score, :target_price_e8, :stop_price_e8,
    :timestamp, :expires_at, :payload::jsonb
)
RETURNING id;

-- name: get_signal
-- One signal by id.
-- params: id
-- returns: row
SELECT id, strategy, symbol, direction, confidence_score, target_price_e8, stop_price_e8,
    timestamp, expires_at, payload::text AS payload
FROM signals WHERE id = :id;

-- name: signals_above_confidence
-- Signals at or above a confidence since a time, strongest first (ix_signals_confidence_timestamp).
-- params: min_confidence, since, symbol, limit
-- returns: rows
SELECT id, strategy, symbol, direction, confidence_score, target_price_e8, stop_price_e8,
    timestamp, expires_at, payload::text AS payload
FROM signals
WHERE confidence_score >= :min_confidence AND timestamp >= :since
    AND (:symbol::text IS NULL OR symbol = :symbol)
ORDER BY confidence_score DESC, timestamp DESC
LIMIT :limit;

-- name: insert_order
-- Place an order; its new id, or no row when client_order_id (the caller's idempotency
-- key) is already taken, by another process too: the caller then compares with that order.
-- params: client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
--     time_in_force, quantity_e8, limit_price_e8, stop_price_e8, now
-- returns: value
INSERT INTO orders (
    client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
    time_in_force, quantity_e8, limit_price_e8, stop_price_e8, filled_quantity_e8, status,
    created_at, updated_at
)
VALUES (
    :client_order_id, :broker_order_id, :user_id, :signal_id, :symbol, :side, :order_type,
    :time_in_force, :quantity_e8, :limit_price_e8, :stop_price_e8, 0, 'pending_new',
    :now, :now
)
ON CONFLICT (client_order_id) DO NOTHING
RETURNING id;

-- name: get_order
-- One order by id.
-- params: id
-- returns: row
SELECT id, client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
    time_in_force, quantity_e8, limit_price_e8, stop_price_e8, filled_quantity_e8, status,
    reject_reason, created_at, updated_at
FROM orders WHERE id = :id;

-- name: lock_order
-- One order by id, locked until the transaction ends: fills and status changes of one order
-- from several processes take turns.
-- params: id
-- returns: row
SELECT id, client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
    time_in_force, quantity_e8, limit_price_e8, stop_price_e8, filled_quantity_e8, status,
    reject_reason, created_at, updated_at
FROM orders WHERE id = :id
FOR UPDATE;

-- name: lock_position
-- Hold a user's position in a symbol until the transaction ends (a lock on the key, so two
-- first fills of one position take turns too, before either row exists).
-- params: user_id, symbol
-- returns: row
SELECT pg_advisory_xact_lock(hashtextextended(:user_id::text || '/' || :symbol, 0))::text
    AS locked;

-- name: get_order_by_client_id
-- One order by its client_order_id.
-- params: client_order_id
-- returns: row
SELECT id, client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
    time_in_force, quantity_e8, limit_price_e8, stop_price_e8, filled_quantity_e8, status,
    reject_reason, created_at, updated_at
FROM orders WHERE client_order_id = :client_order_id;

-- name: set_order_status
-- Move an order to a status the caller checked is reachable; keeps a known broker id and reason.
-- params: status, broker_order_id, reject_reason, now, id, expected_status
-- returns: nothing
UPDATE orders
SET status = :status,
    broker_order_id = coalesce(:broker_order_id, broker_order_id),
    reject_reason = coalesce(:reject_reason, reject_reason),
    updated_at = greatest(updated_at, :now)
WHERE id = :id AND status = :expected_status;

-- name: apply_fill_to_order
-- Add a fill's quantity to an order and set the status it implies (CHECKs refuse an overfill).
-- params: quantity_e8, now, id, expected_status
-- returns: nothing
UPDATE orders
SET filled_quantity_e8 = filled_quantity_e8 + :quantity_e8,
    status = CASE
        WHEN filled_quantity_e8 + :quantity_e8 = quantity_e8 THEN 'filled'
        ELSE 'partially_filled'
    END,
    updated_at = greatest(updated_at, :now)
WHERE id = :id AND status = :expected_status;

-- name: open_orders
-- Orders that may still fill, oldest first, optionally of one user (ix_orders_status_created).
-- params: user_id, limit
-- returns: rows
SELECT id, client_order_id, broker_order_id, user_id, signal_id, symbol, side, order_type,
    time_in_force, quantity_e8, limit_price_e8, stop_price_e8, filled_quantity_e8, status,
    reject_reason, created_at, updated_at
FROM orders
WHERE status IN ('pending_new', 'new', 'partially_filled')
    AND (:user_id::bigint IS NULL OR user_id = :user_id)
ORDER BY created_at, id
LIMIT :limit;

-- name: insert_trade
-- Record one fill of an order; its new id. execution_id is unique, (order_id, symbol, side)
-- must match the order.
-- params: order_id, execution_id, symbol, side, quantity_e8, price_e8, currency,
--     gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor, settlement_date,
--     timestamp
-- returns: value
INSERT INTO trades (
    order_id, execution_id, symbol, side, quantity_e8, price_e8, currency, gross_amount_minor,
    commission_minor, fees_minor, settlement_amount_minor, settlement_date, timestamp
)
VALUES (
    :order_id, :execution_id, :symbol, :side, :quantity_e8, :price_e8, :currency,
    :gross_amount_minor, :commission_minor, :fees_minor, :settlement_amount_minor,
    :settlement_date::date, :timestamp
)
RETURNING id;

-- name: get_trade
-- One trade by id.
-- params: id
-- returns: row
SELECT id, order_id, execution_id, symbol, side, quantity_e8, price_e8, currency,
    gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor,
    to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, timestamp
FROM trades WHERE id = :id;

-- name: get_trade_by_execution_id
-- One trade by the broker's execution id.
-- params: execution_id
-- returns: row
SELECT id, order_id, execution_id, symbol, side, quantity_e8, price_e8, currency,
    gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor,
    to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, timestamp
FROM trades WHERE execution_id = :execution_id;

-- name: trades_by_symbol
-- Trades of one symbol in [start, end), oldest first (ix_trades_symbol_timestamp).
-- params: symbol, start, end, limit
-- returns: rows
SELECT id, order_id, execution_id, symbol, side, quantity_e8, price_e8, currency,
    gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor,
    to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, timestamp
FROM trades
WHERE symbol = :symbol AND timestamp >= :start AND timestamp < :end
ORDER BY timestamp, id
LIMIT :limit;

-- name: trades_of_order
-- The fills of one order, oldest first (ix_trades_order).
-- params: order_id
-- returns: rows
SELECT id, order_id, execution_id, symbol, side, quantity_e8, price_e8, currency,
    gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor,
    to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, timestamp
FROM trades WHERE order_id = :order_id
ORDER BY timestamp, id;

-- name: get_position
-- A user's position in one symbol (ux_portfolio_positions_user_symbol).
-- params: user_id, symbol
-- returns: row
SELECT id, user_id, symbol, quantity_e8, currency, cost_basis_minor, realized_pnl_minor,
    opened_at, updated_at
FROM portfolio_positions WHERE user_id = :user_id AND symbol = :symbol;

-- name: positions_of_user
-- Every position of a user by symbol; flat ones (kept for their realized P&L) only when asked.
-- params: user_id, include_flat
-- returns: rows
SELECT id, user_id, symbol, quantity_e8, currency, cost_basis_minor, realized_pnl_minor,
    opened_at, updated_at
FROM portfolio_positions
WHERE user_id = :user_id AND (:include_flat::boolean OR quantity_e8 != 0)
ORDER BY symbol;

-- name: upsert_position
-- Write a position as the fill accounting computed it (one row per user and symbol).
-- params: user_id, symbol, quantity_e8, currency, cost_basis_minor, realized_pnl_minor, opened_at,
--     updated_at
-- returns: nothing
INSERT INTO portfolio_positions (
    user_id, symbol, quantity_e8, currency, cost_basis_minor, realized_pnl_minor, opened_at,
    updated_at
)
VALUES (
    :user_id, :symbol, :quantity_e8, :currency, :cost_basis_minor, :realized_pnl_minor,
    :opened_at, :updated_at
)
ON CONFLICT (user_id, symbol) DO UPDATE SET
    quantity_e8 = excluded.quantity_e8,
    cost_basis_minor = excluded.cost_basis_minor,
    realized_pnl_minor = excluded.realized_pnl_minor,
    opened_at = excluded.opened_at,
    updated_at = excluded.updated_at;
