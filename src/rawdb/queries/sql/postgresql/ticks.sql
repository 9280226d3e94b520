-- Market data ticks on PostgreSQL: one partitioned market_data table, pruned by the planner.
--
-- Times are timestamptz; rawdb hands and takes aware UTC datetimes. Ties in time are broken
-- by id (the order the ticks were stored), as on SQLite.

-- name: partitions_of
-- The registered partitions of a family and their state.
-- params: family
-- returns: rows
SELECT name, period_start, period_end, state FROM rawdb_partitions WHERE family = :family;

-- name: attach_partition
-- Make a period's partition (once, whoever asks): the function of migration 0009.
-- params: family, name, start, end, detail
-- returns: value
SELECT rawdb_attach_partition(:family, :name, :start, :end, :detail) AS made;

-- name: latest_tick
-- The newest live tick of one instrument before :horizon: one index seek, newest month first.
-- params: instrument_id, horizon
-- returns: row
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM market_data
WHERE instrument_id = :instrument_id AND timestamp < :horizon AND deleted_at IS NULL
ORDER BY timestamp DESC, id DESC
LIMIT 1;

-- name: latest_ticks
-- The newest live tick before :horizon of each instrument of an id array (NULL: all).
-- params: horizon, ids
-- returns: rows
SELECT m.id, m.instrument_id, m.timestamp, m.price, m.volume, m.bid, m.ask, m.bid_size,
    m.ask_size, m.open_price, m.high_price, m.low_price, m.deleted_at
FROM instruments AS i
CROSS JOIN LATERAL (
    SELECT l.id, l.instrument_id, l.timestamp, l.price, l.volume, l.bid, l.ask, l.bid_size,
        l.ask_size, l.open_price, l.high_price, l.low_price, l.deleted_at
    FROM market_data AS l
    WHERE l.instrument_id = i.id AND l.timestamp < :horizon AND l.deleted_at IS NULL
    ORDER BY l.timestamp DESC, l.id DESC
    LIMIT 1
) AS m
WHERE :ids::bigint [] IS NULL OR i.id = any(:ids::bigint [])
ORDER BY m.instrument_id;

-- name: tick_range
-- Ticks of one instrument in [start, end), oldest first; soft-deleted rows only when asked.
-- params: instrument_id, start, end, include_deleted, limit
-- returns: rows
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM market_data
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
    AND (deleted_at IS NULL OR :include_deleted)
ORDER BY timestamp, id
LIMIT :limit;

-- name: ohlc_bars
-- OHLC bars of one instrument over [start, end) in buckets of :seconds from the epoch.
-- params: seconds, instrument_id, start, end
-- returns: rows
SELECT date_bin(make_interval(secs => :seconds), timestamp, timestamptz 'epoch') AS start,
    (array_agg(price ORDER BY timestamp, id))[1] AS open,
    max(price) AS high,
    min(price) AS low,
    (array_agg(price ORDER BY timestamp DESC, id DESC))[1] AS close,
    coalesce(sum(volume), 0)::bigint AS volume,
    count(*) AS ticks
FROM market_data
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
    AND deleted_at IS NULL AND price IS NOT NULL
GROUP BY start
ORDER BY start;

-- name: begin_tick_batch
-- Everything a batch of ticks needs before its COPY, in one round trip: the batch's
-- instruments that exist, locked against deletion until it commits (what a foreign key's
-- trigger does row by row, once a batch); the rollups marked stale, as the ticks are not
-- folded into bars here; and the months' partitions with their states.
-- params: ids
-- returns: row
WITH locked AS (
    SELECT i.id FROM instruments AS i WHERE i.id = any(:ids) FOR KEY SHARE
),

stale AS (
    UPDATE rawdb_rollup_state SET complete = FALSE, live_since = NULL
    WHERE family = 'market_data' AND (complete OR live_since IS NOT NULL)
    RETURNING family
)

SELECT
    (SELECT coalesce(array_agg(l.id), '{}') FROM locked AS l) AS found,
    (SELECT count(*) FROM stale) AS marked_stale,
    (
        SELECT coalesce(jsonb_object_agg(p.name, p.state), '{}')
        FROM rawdb_partitions AS p WHERE p.family = 'market_data'
    ) AS partitions;

-- name: price_range
-- Low, high, sum and count of live prices of one instrument in [start, end), for alert evaluation.
-- params: instrument_id, start, end
-- returns: row
SELECT min(price) AS low, max(price) AS high, coalesce(sum(price), 0) AS total,
    count(price) AS ticks
FROM market_data
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
    AND deleted_at IS NULL;

-- name: soft_delete_tick
-- Mark a tick deleted (kept until purged); a second call changes nothing. The BRIN index on id
-- finds its block range in whichever month holds it.
-- params: deleted_at, id
-- returns: row
UPDATE market_data SET deleted_at = :deleted_at WHERE id = :id AND deleted_at IS NULL
RETURNING id;

-- name: restore_tick
-- Undo a soft delete.
-- params: id
-- returns: row
UPDATE market_data SET deleted_at = NULL WHERE id = :id AND deleted_at IS NOT NULL
RETURNING id;

-- name: purge_deleted_ticks
-- Remove ticks soft-deleted before a cutoff, for good (the partial deleted_at index finds them).
-- params: deleted_at
-- returns: nothing
DELETE FROM market_data WHERE deleted_at IS NOT NULL AND deleted_at < :deleted_at;
