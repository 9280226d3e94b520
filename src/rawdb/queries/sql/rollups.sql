-- Bars and latest prices kept as ticks are written (migration 0011, rawdb.queries.rollups).
--
-- The writer folds each batch in Python into one row per instrument and bucket (a bucket is its
-- start as 'YYYY-MM-DD HH:MM', UTC) and merges those rows here, in the transaction that writes
-- the ticks. Order inside a bucket is (timestamp, id): a late tick older than the open becomes
-- the open, one newer than the close the close. Ticks without a price (quotes) make no bar.

-- name: fold_bars_1m
-- Merge a batch's 1-minute bars (folded in Python, one row per instrument and bucket) into the stored ones.
-- params: instrument_id, bucket, open, high, low, close, volume, ticks, open_at, open_id,
--     close_at, close_id
-- returns: nothing
INSERT INTO market_data_1m (
    instrument_id, bucket, open, high, low, close, volume, ticks,
    open_at, open_id, close_at, close_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (instrument_id, bucket) DO UPDATE SET
    open = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1m.open_at, market_data_1m.open_id)
        THEN excluded.open ELSE market_data_1m.open END,
    open_at = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1m.open_at, market_data_1m.open_id)
        THEN excluded.open_at ELSE market_data_1m.open_at END,
    open_id = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1m.open_at, market_data_1m.open_id)
        THEN excluded.open_id ELSE market_data_1m.open_id END,
    close = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1m.close_at, market_data_1m.close_id)
        THEN excluded.close ELSE market_data_1m.close END,
    close_at = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1m.close_at, market_data_1m.close_id)
        THEN excluded.close_at ELSE market_data_1m.close_at END,
    close_id = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1m.close_at, market_data_1m.close_id)
        THEN excluded.close_id ELSE market_data_1m.close_id END,
    high = max(market_data_1m.high, excluded.high),
    low = min(market_data_1m.low, excluded.low),
    volume = market_data_1m.volume + excluded.volume,
    ticks = market_data_1m.ticks + excluded.ticks;

-- name: fold_bars_1h
-- Merge a batch's 1-hour bars (folded in Python, one row per instrument and bucket) into the stored ones.
-- params: instrument_id, bucket, open, high, low, close, volume, ticks, open_at, open_id,
--     close_at, close_id
-- returns: nothing
INSERT INTO market_data_1h (
    instrument_id, bucket, open, high, low, close, volume, ticks,
    open_at, open_id, close_at, close_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (instrument_id, bucket) DO UPDATE SET
    open = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1h.open_at, market_data_1h.open_id)
        THEN excluded.open ELSE market_data_1h.open END,
    open_at = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1h.open_at, market_data_1h.open_id)
        THEN excluded.open_at ELSE market_data_1h.open_at END,
    open_id = CASE WHEN (excluded.open_at, excluded.open_id) < (market_data_1h.open_at, market_data_1h.open_id)
        THEN excluded.open_id ELSE market_data_1h.open_id END,
    close = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1h.close_at, market_data_1h.close_id)
        THEN excluded.close ELSE market_data_1h.close END,
    close_at = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1h.close_at, market_data_1h.close_id)
        THEN excluded.close_at ELSE market_data_1h.close_at END,
    close_id = CASE WHEN (excluded.close_at, excluded.close_id) > (market_data_1h.close_at, market_data_1h.close_id)
        THEN excluded.close_id ELSE market_data_1h.close_id END,
    high = max(market_data_1h.high, excluded.high),
    low = min(market_data_1h.low, excluded.low),
    volume = market_data_1h.volume + excluded.volume,
    ticks = market_data_1h.ticks + excluded.ticks;

-- name: fold_latest
-- Keep an instrument's newest tick of a batch when it is newer than the one held.
-- params: instrument_id, id, timestamp, price, volume, bid, ask, bid_size, ask_size,
--     open_price, high_price, low_price
-- returns: nothing
INSERT INTO market_data_latest (
    instrument_id, id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (instrument_id) DO UPDATE SET
    id = excluded.id, timestamp = excluded.timestamp, price = excluded.price,
    volume = excluded.volume, bid = excluded.bid, ask = excluded.ask,
    bid_size = excluded.bid_size, ask_size = excluded.ask_size,
    open_price = excluded.open_price, high_price = excluded.high_price,
    low_price = excluded.low_price
WHERE (excluded.timestamp, excluded.id) > (market_data_latest.timestamp, market_data_latest.id);

-- name: rollups_stale
-- Ticks were written without folding (rollups off): reads compute from the ticks until the
-- backfill runs again (its first run sets live_since anew).
-- params: none
-- returns: nothing
UPDATE rawdb_rollup_state SET complete = 0, live_since = NULL
WHERE family = 'market_data' AND (complete = 1 OR live_since IS NOT NULL);

-- name: rollup_state
-- Whether the rollups hold every tick, since when the writer keeps them, and from when the
-- 1-minute bars are kept.
-- params: none
-- returns: row
SELECT complete, live_since, minutes_kept_from
FROM rawdb_rollup_state WHERE family = 'market_data';

-- name: bars_1m_retention
-- Delete the 1-minute bars before a cutoff bucket, and say reads before it come from the ticks.
-- params: cutoff
-- returns: nothing
DELETE FROM market_data_1m WHERE bucket < :cutoff;

-- name: bars_1m_kept_from
-- Record from which bucket on the 1-minute bars are kept.
-- params: cutoff
-- returns: nothing
UPDATE rawdb_rollup_state SET minutes_kept_from = max(minutes_kept_from, :cutoff)
WHERE family = 'market_data';

-- name: bars_1m
-- One instrument's 1-minute bars whose bucket starts in [:start, :end), oldest first, in the
-- columns of a Bar (its start as stored time text).
-- params: instrument_id, start, end
-- returns: rows
SELECT instrument_id, bucket || ':00' AS start, open, high, low, close, volume, ticks
FROM market_data_1m
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
ORDER BY bucket;

-- name: bars_1h
-- One instrument's 1-hour bars whose bucket starts in [:start, :end), oldest first, in the
-- columns of a Bar.
-- params: instrument_id, start, end
-- returns: rows
SELECT instrument_id, bucket || ':00' AS start, open, high, low, close, volume, ticks
FROM market_data_1h
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
ORDER BY bucket;

-- name: bars_from_1m
-- Bars of :minutes minutes (5, 15) merged from the 1-minute ones in [:start, :end), as Bars.
-- params: minutes, instrument_id, start, end
-- returns: rows
SELECT :instrument_id AS instrument_id, slot || ':00' AS start, open, max(high) AS high,
    min(low) AS low, close, sum(volume) AS volume, sum(ticks) AS ticks
FROM (
    SELECT substr(bucket, 1, 14)
        || printf('%02d', cast(substr(bucket, 15, 2) AS INTEGER) / :minutes * :minutes) AS slot,
        high, low, volume, ticks,
        first_value(open) OVER w AS open,
        last_value(close) OVER w AS close
    FROM market_data_1m
    WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
    WINDOW w AS (
        PARTITION BY substr(bucket, 1, 14)
            || printf('%02d', cast(substr(bucket, 15, 2) AS INTEGER) / :minutes * :minutes)
        ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
) AS slots
GROUP BY slot
ORDER BY slot;

-- name: bars_1d
-- Daily bars merged from the 1-hour ones in [:start, :end) (days of UTC), as Bars.
-- params: instrument_id, start, end
-- returns: rows
SELECT :instrument_id AS instrument_id, day || ' 00:00:00' AS start, open, max(high) AS high,
    min(low) AS low, close, sum(volume) AS volume, sum(ticks) AS ticks
FROM (
    SELECT substr(bucket, 1, 10) AS day, high, low, volume, ticks,
        first_value(open) OVER w AS open,
        last_value(close) OVER w AS close
    FROM market_data_1h
    WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
    WINDOW w AS (
        PARTITION BY substr(bucket, 1, 10)
        ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
) AS days
GROUP BY day
ORDER BY day;

-- name: latest_held
-- The newest live tick of one instrument as the writer keeps it.
-- params: instrument_id
-- returns: row
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, NULL AS deleted_at
FROM market_data_latest
WHERE instrument_id = ?;

-- name: latest_held_all
-- The newest live tick of each instrument of a JSON id array (NULL: all) as the writer keeps it.
-- params: ids
-- returns: rows
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, NULL AS deleted_at
FROM market_data_latest
WHERE :ids IS NULL OR instrument_id IN (SELECT j.value FROM json_each(:ids) AS j)
ORDER BY instrument_id;

-- name: bars_from_ticks
-- One instrument's bars computed from its live ticks in [:start, :end), in the stored bars'
-- columns: what a bucket must hold (repairs after a soft delete or restore, the backfill, the
-- operators' check). A bucket is the first :chars characters of the time and then :pad:
-- 16 and '' for minutes, 13 and ':00' for hours.
-- params: chars, pad, instrument_id, start, end
-- returns: rows
SELECT instrument_id, bucket, open, max(price) AS high, min(price) AS low, close,
    coalesce(sum(volume), 0) AS volume, count(*) AS ticks,
    min(timestamp) AS open_at, open_id, max(timestamp) AS close_at, close_id
FROM (
    SELECT instrument_id, substr(timestamp, 1, :chars) || :pad AS bucket, price, volume,
        timestamp,
        first_value(price) OVER w AS open, first_value(id) OVER w AS open_id,
        last_value(price) OVER w AS close, last_value(id) OVER w AS close_id
    FROM (
        /* each partition */
        SELECT id, instrument_id, timestamp, price, volume
        FROM market_data_default
        WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
            AND deleted_at IS NULL AND price IS NOT NULL
        /* end */
    ) AS parts
    WINDOW w AS (
        PARTITION BY substr(timestamp, 1, :chars) ORDER BY timestamp, id
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
) AS ordered
GROUP BY bucket
ORDER BY bucket;

-- name: forget_bars_1m
-- Drop one instrument's 1-minute bars in [:start, :end) before they are computed again.
-- params: instrument_id, start, end
-- returns: nothing
DELETE FROM market_data_1m
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end;

-- name: hours_from_minutes
-- Compute one instrument's 1-hour bars in [:start, :end) again from its 1-minute bars.
-- params: instrument_id, start, end
-- returns: nothing
INSERT OR REPLACE INTO market_data_1h (
    instrument_id, bucket, open, high, low, close, volume, ticks,
    open_at, open_id, close_at, close_id
)
SELECT instrument_id, hour, open, max(high) AS high, min(low) AS low, close,
    sum(volume) AS volume, sum(ticks) AS ticks, min(open_at) AS open_at, open_id,
    max(close_at) AS close_at, close_id
FROM (
    SELECT instrument_id, substr(bucket, 1, 13) || ':00' AS hour, high, low, volume, ticks,
        open_at, close_at,
        first_value(open) OVER w AS open, first_value(open_id) OVER w AS open_id,
        last_value(close) OVER w AS close, last_value(close_id) OVER w AS close_id
    FROM market_data_1m
    WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
    WINDOW w AS (
        PARTITION BY substr(bucket, 1, 13) ORDER BY bucket
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
) AS minutes
GROUP BY hour;

-- name: forget_bars_1h
-- Drop one instrument's 1-hour bars in [:start, :end) before they are computed again.
-- params: instrument_id, start, end
-- returns: nothing
DELETE FROM market_data_1h
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end;

-- name: forget_latest
-- Drop one instrument's held latest tick (it was deleted); the next write or a refresh sets it.
-- params: instrument_id
-- returns: nothing
DELETE FROM market_data_latest WHERE instrument_id = ?;

-- name: tick_place
-- Which instrument and time a tick has, in one table.
-- params: id
-- returns: row
SELECT instrument_id, timestamp FROM market_data_default WHERE id = ?;

-- name: oldest_tick_time
-- The oldest live tick time of one instrument in [:start, :end), per table.
-- params: instrument_id, start, end
-- returns: rows
SELECT min(first_at) AS first_at
FROM (
    /* each partition */
    SELECT min(timestamp) AS first_at
    FROM market_data_default
    WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
        AND deleted_at IS NULL
    /* end */
) AS parts;

-- name: bars_1m_stored
-- One instrument's stored 1-minute bars in [:start, :end), every column, for the check.
-- params: instrument_id, start, end
-- returns: rows
SELECT instrument_id, bucket, open, high, low, close, volume, ticks,
    open_at, open_id, close_at, close_id
FROM market_data_1m
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
ORDER BY bucket;

-- name: bars_1h_stored
-- One instrument's stored 1-hour bars in [:start, :end), for the check.
-- params: instrument_id, start, end
-- returns: rows
SELECT bucket, open, high, low, close, volume, ticks
FROM market_data_1h
WHERE instrument_id = :instrument_id AND bucket >= :start AND bucket < :end
ORDER BY bucket;

-- name: backfill_cursor
-- Where the backfill of one instrument stopped (no row: it has not started).
-- params: instrument_id
-- returns: row
SELECT done_until FROM rawdb_rollup_backfill WHERE instrument_id = ?;

-- name: backfill_advance
-- Record that one instrument's bars are computed up to :done_until.
-- params: instrument_id, done_until
-- returns: nothing
INSERT INTO rawdb_rollup_backfill (instrument_id, done_until) VALUES (:instrument_id, :done_until)
ON CONFLICT (instrument_id) DO UPDATE SET done_until = excluded.done_until;

-- name: backfill_begin
-- The backfill's first run: the rollups are said to hold every tick written from now on.
-- params: now
-- returns: nothing
UPDATE rawdb_rollup_state SET live_since = :now
WHERE family = 'market_data' AND live_since IS NULL;

-- name: backfill_done
-- The backfill is over: the rollups hold every tick (unless ticks came in unfolded meanwhile,
-- with the rollups off: that set live_since back to NULL).
-- params: none
-- returns: nothing
UPDATE rawdb_rollup_state SET complete = 1
WHERE family = 'market_data' AND live_since IS NOT NULL;

-- name: backfill_forget
-- Drop the backfill's progress rows once it is done.
-- params: none
-- returns: nothing
DELETE FROM rawdb_rollup_backfill;

-- name: rollup_gap_overlaps
-- Whether a restored month's gap overlaps the buckets [:start, :end).
-- params: start, end
-- returns: rows
SELECT 1 FROM rawdb_rollup_gaps WHERE gap_start < :end AND gap_end > :start
ORDER BY gap_start LIMIT 1;

-- name: rollup_gaps
-- The gaps the backfill has to fold in (restored months), oldest first.
-- params: none
-- returns: rows
SELECT gap_start, gap_end FROM rawdb_rollup_gaps ORDER BY gap_start;

-- name: rollup_gap_done
-- A gap is folded in.
-- params: start, end
-- returns: nothing
DELETE FROM rawdb_rollup_gaps WHERE gap_start = :start AND gap_end = :end;
