-- Market data ticks. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', which sorts in time order.

-- name: insert_tick
-- Store one tick (executemany runs it once per row of a batch).
INSERT INTO market_data (
    timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: latest_tick
-- The newest live tick of one instrument: one seek down the (instrument_id, timestamp) index.
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM market_data
WHERE instrument_id = ? AND deleted_at IS NULL
ORDER BY timestamp DESC LIMIT 1;

-- name: latest_ticks
-- The newest live tick of each instrument of a JSON id array (NULL: all), one seek per instrument.
SELECT m.id, m.instrument_id, m.timestamp, m.price, m.volume, m.bid, m.ask, m.bid_size,
    m.ask_size, m.open_price, m.high_price, m.low_price, m.deleted_at
FROM instruments AS i
INNER JOIN market_data AS m ON m.id = (
    SELECT l.id FROM market_data AS l
    WHERE l.instrument_id = i.id AND l.deleted_at IS NULL
    ORDER BY l.timestamp DESC LIMIT 1
)
WHERE ?1 IS NULL OR i.id IN (SELECT value FROM json_each(?1))
ORDER BY i.id;

-- name: tick_range
-- Ticks of one instrument in [start, end), oldest first; soft-deleted rows only when asked.
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM market_data
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
    AND (deleted_at IS NULL OR :include_deleted)
ORDER BY timestamp
LIMIT :limit;

-- name: ohlc_bars
-- OHLC bars of one instrument over [start, end) in buckets of :seconds, computed in SQL.
SELECT bucket, open, max(price) AS high, min(price) AS low, close,
    coalesce(sum(volume), 0) AS volume, count(*) AS ticks
FROM (
    SELECT bucket, price, volume,
        first_value(price) OVER w AS open,
        last_value(price) OVER w AS close
    FROM (
        SELECT (CAST(strftime('%s', timestamp) AS INTEGER) / :seconds) * :seconds AS bucket,
            timestamp, price, volume
        FROM market_data
        WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
            AND deleted_at IS NULL AND price IS NOT NULL
    )
    WINDOW w AS (
        PARTITION BY bucket ORDER BY timestamp
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
)
GROUP BY bucket
ORDER BY bucket;

-- name: price_range
-- Low, high, average price and tick count of one instrument since a time, for alert evaluation.
SELECT min(price) AS low, max(price) AS high, avg(price) AS average, count(price) AS ticks
FROM market_data
WHERE instrument_id = ? AND timestamp >= ? AND deleted_at IS NULL;

-- name: soft_delete_tick
-- Mark a tick deleted (kept until purged); a second call changes nothing.
UPDATE market_data SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL;

-- name: restore_tick
-- Undo a soft delete.
UPDATE market_data SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL;

-- name: purge_deleted_ticks
-- Remove ticks soft-deleted before a cutoff, for good.
DELETE FROM market_data WHERE deleted_at IS NOT NULL AND deleted_at < ?;
