-- Partitioned layout: market_data and alert_logs become views over per-period tables.
--
-- From here on ticks live in one table per UTC month (market_data_YYYY_MM) and alert logs in
-- one per quarter (alert_logs_YYYY_qN), made from the templates in sql/partitions/ by
-- rawdb.partitions, which routes every insert and read to the tables of the asked period in
-- Python (SQLite does not skip tables by their CHECK, and a UNION ALL view pays a seek per
-- table). A whole period then leaves the file with one DROP TABLE (0.02 s for 1M rows with
-- secure_delete=FAST) instead of a DELETE (3.8 s) that bloats the WAL.
--
-- This migration is cheap on any size of database: each table is renamed, not copied, to
-- <name>_default, the "default partition" that holds rows no period table takes. An adopted
-- database therefore keeps all its rows there at first; `python -m rawdb.partitions move`
-- moves them into monthly/quarterly tables online, in short batches (resumable; readers and
-- ingest carry on). The default tables keep their indexes under their old names.
--
-- market_data and alert_logs stay usable for ad-hoc SQL as views over the default table and
-- every period table; rawdb rebuilds each view in the transaction that adds or drops a table.
--
-- rawdb_partitions is the registry: one row per period table (half-open [period_start,
-- period_end) in the stored UTC text format) with its state, and one row per default table
-- (state 'default', no bounds). id_floor: new rows get ids above it. A period table's floor
-- is (period number + 1) * 2^36, so an id names its period and ids never repeat across tables;
-- the default tables' floor starts above every id they hold (the ids of adopted rows, which
-- move with their rows) and is raised before rows move out, so an id is never handed out twice.
-- (created_at is NULL for the default tables, which this migration registers.)
-- rawdb_partition_audit records every creation, archival, restore, purge and move.
-- Refused when another table has a foreign key to market_data or alert_logs (an application's
-- own table): a key cannot point into rows spread over many tables. The guard fails with
-- "CHECK constraint failed: refused_foreign_keys_into_partitioned_tables" and nothing changes;
-- drop or rework that key (keep the id as a plain column), then migrate.
CREATE TEMP TABLE partition_guard_0009 (
    referencing_keys INTEGER NOT NULL,
    CONSTRAINT refused_foreign_keys_into_partitioned_tables CHECK (referencing_keys = 0)
);
INSERT INTO partition_guard_0009 (referencing_keys)
SELECT count(*)
FROM sqlite_schema AS s, pragma_foreign_key_list(s.name) AS f
WHERE s.type = 'table' AND f."table" IN ('market_data', 'alert_logs');
DROP TABLE partition_guard_0009;

CREATE TABLE rawdb_partitions (
    name TEXT PRIMARY KEY,
    family TEXT NOT NULL CHECK (family IN ('market_data', 'alert_logs')),
    period_start TEXT,
    period_end TEXT,
    state TEXT NOT NULL CHECK (
        state IN ('default', 'active', 'archiving', 'archived')
    ),
    id_floor INTEGER NOT NULL CHECK (id_floor >= 0),
    created_at TEXT,
    archived_at TEXT,
    archive_file TEXT,
    row_count INTEGER CHECK (row_count >= 0),
    checksum TEXT,
    counted_at TEXT,
    CONSTRAINT ck_rawdb_partitions_bounds CHECK (
        (state = 'default' AND period_start IS NULL AND period_end IS NULL)
        OR (state != 'default' AND period_end > period_start)
    ),
    CONSTRAINT uq_rawdb_partitions_period UNIQUE (family, period_start)
) STRICT;

CREATE TABLE rawdb_partition_audit (
    id INTEGER PRIMARY KEY,
    happened_at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (
        action IN ('create', 'archive', 'restore', 'purge', 'move')
    ),
    table_name TEXT NOT NULL,
    row_count INTEGER,
    checksum TEXT,
    archive_file TEXT,
    detail TEXT
) STRICT;

CREATE INDEX ix_rawdb_partition_audit_table
ON rawdb_partition_audit (table_name, happened_at);

INSERT INTO rawdb_partitions (name, family, state, id_floor)
SELECT
    'market_data_default' AS name, 'market_data' AS family, 'default' AS state,
    coalesce(max(id), 0) AS id_floor
FROM market_data;
INSERT INTO rawdb_partitions (name, family, state, id_floor)
SELECT
    'alert_logs_default' AS name, 'alert_logs' AS family, 'default' AS state,
    coalesce(max(id), 0) AS id_floor
FROM alert_logs;

ALTER TABLE market_data RENAME TO market_data_default;
ALTER TABLE alert_logs RENAME TO alert_logs_default;

CREATE VIEW market_data AS
SELECT id, timestamp, instrument_id, price, volume, bid, ask, bid_size, ask_size, open_price,
    high_price, low_price, deleted_at
FROM market_data_default;

CREATE VIEW alert_logs AS
SELECT id, timestamp, rule_id, instrument_id, trigger_value, threshold_value, fired_status,
    delivery_status, evaluation_time_ms, rule_condition, alert_message, error_message,
    delivery_attempted_at, delivery_completed_at, deleted_at
FROM alert_logs_default;
