-- A PostgreSQL period's archive file (rawdb.partitions.postgresql): the SQLite file SQLite's
-- own archive makes, written from the detached partition's rows and read back to compare.

-- name: archive_file_durable
-- The archive file is written with a full sync at its commit (it is the only copy then).
-- params: none
-- returns: nothing
PRAGMA synchronous = FULL;

-- name: archive_file_market_data
-- One tick into the archive file's month table.
-- params: id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size,
--     open_price, high_price, low_price, deleted_at
-- returns: nothing
INSERT INTO __table__ (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price, deleted_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: archive_file_alert_logs
-- One alert log into the archive file's quarter table.
-- params: id, timestamp, rule_id, instrument_id, trigger_value, threshold_value,
--     fired_status, delivery_status, evaluation_time_ms, rule_condition, alert_message,
--     error_message, delivery_attempted_at, delivery_completed_at, deleted_at
-- returns: nothing
INSERT INTO __table__ (
    id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
