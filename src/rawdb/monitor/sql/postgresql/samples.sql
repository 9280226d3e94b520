-- Stored statement samples on PostgreSQL: the statements of ../samples.sql (succeeded is a
-- boolean here).

-- name: monitor_has_query_performance
-- Whether query_performance exists (migration 0006); no row when it does not.
-- params: none
-- returns: row
SELECT 1 AS present WHERE to_regclass('query_performance') IS NOT NULL;

-- name: monitor_insert_query_performance
-- Store one sample (executemany over a batch).
-- params: query_name, started_at, duration_us, row_count, succeeded, error
-- returns: nothing
INSERT INTO query_performance (query_name, started_at, duration_us, row_count, succeeded, error)
VALUES (:query_name, :started_at, :duration_us, :row_count, :succeeded::boolean, :error);

-- name: monitor_prune_query_performance
-- Delete the samples older than the retention (started_at in microseconds).
-- params: cutoff
-- returns: nothing
DELETE FROM query_performance WHERE started_at < :cutoff;

-- name: monitor_recent_query_performance
-- Samples since a time, by statement name, at most a limit of them.
-- params: since, limit
-- returns: rows
SELECT query_name, duration_us, succeeded
FROM query_performance WHERE started_at >= :since ORDER BY query_name LIMIT :limit;
