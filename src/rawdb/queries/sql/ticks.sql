-- Market data ticks. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', which sorts in time order.
--
-- Ticks live in one table per month (market_data_YYYY_MM) plus market_data_default for rows no
-- month table takes (rawdb.partitions). Each statement is written against market_data_default;
-- rawdb.partitions renders it for the tables a call needs, replacing that name: a write runs on
-- one table, a read repeats the part between "each partition" and "end" for every table whose
-- month overlaps the asked range, joined with UNION ALL.

-- name: insert_tick
-- Store the first tick of a batch in one table, with the id next_tick_id gives.
-- params: id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
--     high_price, low_price
-- returns: nothing
INSERT INTO market_data_default (
    id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: append_ticks
-- Store the rest of a batch (executemany); SQLite numbers each row one above the table's largest id.
-- params: timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
--     high_price, low_price
-- returns: nothing
INSERT INTO market_data_default (
    timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: append_quotes
-- The rest of a batch without bar fields: three columns fewer to bind (a bound NULL costs ~1 us).
-- params: timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size
-- returns: nothing
INSERT INTO market_data_default (
    timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size
) VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: next_tick_id
-- Where a batch's ids go on in one table: its largest id (NULL when empty) and its floor.
-- params: none
-- returns: row
SELECT (SELECT max(d.id) FROM market_data_default AS d) AS largest, p.id_floor
FROM rawdb_partitions AS p WHERE p.name = 'market_data_default';

-- name: latest_tick
-- The newest live tick of one instrument before :horizon (later rows are bad stamps, not live):
-- one seek down each table's (instrument_id, timestamp) index.
-- params: instrument_id, horizon
-- returns: row
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM (
    /* each partition */
    SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
        open_price, high_price, low_price, deleted_at
    FROM market_data_default
    WHERE instrument_id = :instrument_id AND timestamp < :horizon AND deleted_at IS NULL
    ORDER BY timestamp DESC LIMIT 1
    /* end */
) AS parts
ORDER BY timestamp DESC LIMIT 1;

-- name: latest_ticks
-- The newest live tick before :horizon of each instrument of a JSON id array (NULL: all), one seek
-- per instrument and table.
-- params: horizon, ids
-- returns: rows
SELECT id, instrument_id, max(timestamp) AS timestamp, price, volume, bid, ask, bid_size,
    ask_size, open_price, high_price, low_price, deleted_at
FROM (
    /* each partition */
    SELECT m.id, m.instrument_id, m.timestamp, m.price, m.volume, m.bid, m.ask, m.bid_size,
        m.ask_size, m.open_price, m.high_price, m.low_price, m.deleted_at
    FROM instruments AS i
    INNER JOIN market_data_default AS m ON m.id = (
        SELECT l.id FROM market_data_default AS l
        WHERE l.instrument_id = i.id AND l.timestamp < :horizon AND l.deleted_at IS NULL
        ORDER BY l.timestamp DESC LIMIT 1
    )
    WHERE :ids IS NULL OR i.id IN (SELECT j.value FROM json_each(:ids) AS j)
    /* end */
) AS parts
GROUP BY instrument_id
ORDER BY instrument_id;

-- name: tick_range
-- Ticks of one instrument in [start, end), oldest first; soft-deleted rows only when asked.
-- params: instrument_id, start, end, include_deleted, limit
-- returns: rows
SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price, deleted_at
FROM (
    /* each partition */
    SELECT id, instrument_id, timestamp, price, volume, bid, ask, bid_size, ask_size,
        open_price, high_price, low_price, deleted_at
    FROM market_data_default
    WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
        AND (deleted_at IS NULL OR :include_deleted)
    ORDER BY timestamp
    LIMIT :limit
    /* end */
) AS parts
ORDER BY timestamp
LIMIT :limit;

-- name: ohlc_bars
-- OHLC bars of one instrument over [start, end) in buckets of :seconds, computed in SQL. The
-- bucket is taken from the whole seconds: strftime('%s') rounds .9995 s up to the next second.
-- params: seconds, instrument_id, start, end
-- returns: rows
SELECT bucket, open, max(price) AS high, min(price) AS low, close,
    coalesce(sum(volume), 0) AS volume, count(*) AS ticks
FROM (
    SELECT bucket, price, volume,
        first_value(price) OVER w AS open,
        last_value(price) OVER w AS close
    FROM (
        SELECT (cast(strftime('%s', substr(timestamp, 1, 19)) AS INTEGER) / :seconds) * :seconds
            AS bucket,
            timestamp, price, volume
        FROM (
            /* each partition */
            SELECT timestamp, price, volume
            FROM market_data_default
            WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
                AND deleted_at IS NULL AND price IS NOT NULL
            /* end */
        ) AS parts
    ) AS bucketed
    WINDOW w AS (
        PARTITION BY bucket ORDER BY timestamp
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
) AS windowed
GROUP BY bucket
ORDER BY bucket;

-- name: price_range
-- Low, high, sum and count of live prices of one instrument in [start, end), for alert evaluation.
-- params: instrument_id, start, end
-- returns: row
SELECT min(price) AS low, max(price) AS high, total(price) AS total, count(price) AS ticks
FROM (
    /* each partition */
    SELECT price
    FROM market_data_default
    WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end
        AND deleted_at IS NULL
    /* end */
) AS parts;

-- name: soft_delete_tick
-- Mark a tick deleted (kept until purged); a second call changes nothing.
-- params: deleted_at, id
-- returns: nothing
UPDATE market_data_default SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL;

-- name: restore_tick
-- Undo a soft delete.
-- params: id
-- returns: nothing
UPDATE market_data_default SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL;

-- name: purge_deleted_ticks
-- Remove ticks of one table soft-deleted before a cutoff, for good.
-- params: deleted_at
-- returns: nothing
DELETE FROM market_data_default WHERE deleted_at IS NOT NULL AND deleted_at < ?;
