-- Instruments: the symbols the application trades and watches.

-- name: insert_instrument
-- Register an instrument; its new id. The symbol is unique.
-- params: symbol, name, type, status, now
-- returns: value
INSERT INTO instruments (symbol, name, type, status, created_at, updated_at)
VALUES (:symbol, :name, :type, :status, :now, :now)
RETURNING id;

-- name: get_instrument
-- One instrument by id.
-- params: id
-- returns: row
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments WHERE id = ?;

-- name: get_instrument_by_symbol
-- One instrument by its unique symbol.
-- params: symbol
-- returns: row
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments WHERE symbol = ?;

-- name: list_instruments
-- Every instrument, by symbol.
-- params: none
-- returns: rows
SELECT id, symbol, name, type, status, last_tick, last_price, created_at, updated_at
FROM instruments ORDER BY symbol;

-- name: instrument_ids
-- Every instrument id (the streaming writer checks puts against this set).
-- params: none
-- returns: rows
SELECT id FROM instruments;

-- name: known_instrument_ids
-- Which of a JSON array of ids exist (used to name unknown instruments in a refused batch).
-- params: ids
-- returns: rows
SELECT id FROM instruments WHERE id IN (SELECT j.value FROM json_each(?) AS j);

-- name: delete_instrument
-- Delete an instrument; RESTRICT foreign keys refuse it while ticks, rules or logs refer to it.
-- params: id
-- returns: nothing
DELETE FROM instruments WHERE id = ?;
