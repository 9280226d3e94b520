-- Instruments on PostgreSQL: the statements of ../instruments.sql.

-- name: insert_instrument
-- Register an instrument; the symbol is unique.
-- params: symbol, name, type, status
-- returns: row
INSERT INTO instruments (symbol, name, type, status, created_at, updated_at)
VALUES (:symbol, :name, :type, :status, now(), now())
RETURNING id, symbol, name, type, status, last_tick, last_price, created_at, updated_at;

-- name: get_instrument
-- One instrument by id.
-- params: id
-- returns: row
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments WHERE id = :id;

-- name: get_instrument_by_symbol
-- One instrument by its unique symbol.
-- params: symbol
-- returns: row
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments WHERE symbol = :symbol;

-- name: list_instruments
-- Every instrument, by symbol.
-- params: none
-- returns: rows
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments ORDER BY symbol;

-- name: known_instrument_ids
-- Which of an array of ids exist (used to name unknown instruments in a refused batch).
-- params: ids
-- returns: rows
SELECT id FROM instruments WHERE id = any(:ids);
