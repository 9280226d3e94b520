-- The health report's figures of a PostgreSQL server, read on one of the pool's readers.
-- Every name starts with monitor_, so the metrics leave the monitor's own reads out.

-- name: monitor_server
-- The database's size, its sessions, waits for locks, the oldest open transaction, the cache.
-- params: none
-- returns: row
SELECT
    pg_database_size(current_database()) AS database_bytes,
    (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS sessions,
    (
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'rawdb %'
    ) AS rawdb_sessions,
    (
        SELECT count(*) FROM pg_locks AS l
        INNER JOIN pg_stat_activity AS a ON l.pid = a.pid
        WHERE NOT l.granted AND a.datname = current_database()
    ) AS waiting_locks,
    (
        SELECT extract(EPOCH FROM now() - min(a.xact_start))
        FROM pg_stat_activity AS a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
    ) AS oldest_transaction_s,
    (
        SELECT d.blks_hit::float8 / nullif(d.blks_hit + d.blks_read, 0)
        FROM pg_stat_database AS d WHERE d.datname = current_database()
    ) AS cache_hit_ratio;

-- name: monitor_tables
-- Bytes of every table (with its indexes and TOAST) and its row estimate, partitions included.
-- params: none
-- returns: rows
SELECT
    c.relname AS name,
    pg_total_relation_size(c.oid) AS bytes,
    pg_indexes_size(c.oid) AS index_bytes,
    greatest(c.reltuples, 0)::bigint AS rows
FROM pg_class AS c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r';

-- name: monitor_registry
-- The partition registry.
-- params: none
-- returns: rows
SELECT name, family, state FROM rawdb_partitions ORDER BY family, period_start;

-- name: monitor_versions
-- The newest applied version of each migration set.
-- params: none
-- returns: rows
SELECT set_name, max(version) AS version FROM rawdb_migrations GROUP BY set_name;

-- name: monitor_statements_extension
-- Whether pg_stat_statements is installed in this database.
-- params: none
-- returns: value
SELECT to_regclass('pg_stat_statements') IS NOT NULL AS present;

-- name: monitor_top_statements
-- The statements of this database that took the most time, from pg_stat_statements.
-- params: none
-- returns: rows
SELECT
    left(s.query, 200) AS query,
    s.calls,
    s.total_exec_time / 1000 AS total_seconds,
    s.mean_exec_time AS mean_ms,
    s.rows
FROM pg_stat_statements AS s
INNER JOIN pg_database AS d ON s.dbid = d.oid
WHERE d.datname = current_database()
ORDER BY s.total_exec_time DESC
LIMIT 10;
