-- The migrator's bookkeeping: rawdb_migrations (the applied versions of each migration set)
-- and rawdb_migration_history (an append-only log of what was done).
--
-- The two CREATE TABLE statements are what existing databases hold in sqlite_schema: SQLite
-- stores their text from the table's name on, so a change here changes every new database's
-- schema. The older layouts are read and upgraded in place (rawdb.migrate.history).

-- name: create_versions_table
-- The version table: one row per applied migration of each set.
-- params: none
-- returns: nothing
CREATE TABLE IF NOT EXISTS rawdb_migrations (
    set_name TEXT NOT NULL DEFAULT 'rawdb',
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    baselined INTEGER NOT NULL DEFAULT 0 CHECK (baselined IN (0, 1)),
    depends_on TEXT NOT NULL DEFAULT '{}',
    rollback_checksum TEXT,
    PRIMARY KEY (set_name, version)
);

-- name: create_history_table
-- The append-only history: every apply, rollback, baseline and failure.
-- params: none
-- returns: nothing
CREATE TABLE IF NOT EXISTS rawdb_migration_history (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('apply', 'rollback', 'baseline', 'fail')),
    checksum TEXT,
    at TEXT NOT NULL,
    duration_ms REAL,
    backup TEXT,
    error TEXT,
    set_name TEXT NOT NULL DEFAULT 'rawdb'
);

-- name: versions_table_exists
-- Whether the file has a version table (1) or not (0).
-- params: none
-- returns: value
SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'rawdb_migrations';

-- name: add_rollback_checksum_column
-- Give a version table of sets written before rollback checksums its rollback_checksum column.
-- params: none
-- returns: nothing
ALTER TABLE rawdb_migrations ADD COLUMN rollback_checksum TEXT;

-- name: versions_without_rollback_checksum
-- Applied versions whose rollback checksum is not recorded yet.
-- params: none
-- returns: rows
SELECT set_name, version, checksum FROM rawdb_migrations WHERE rollback_checksum IS NULL;

-- name: set_rollback_checksum
-- Record the rollback checksum of one applied version.
-- params: rollback_checksum, set_name, version
-- returns: nothing
UPDATE rawdb_migrations SET rollback_checksum = ? WHERE set_name = ? AND version = ?;

-- name: single_set_versions
-- The rows of the single-set version table of older rawdb, to move into the table of sets.
-- params: none
-- returns: rows
SELECT version, name, checksum, applied_at, duration_ms, baselined
FROM rawdb_migrations ORDER BY version;

-- name: rename_single_set_table
-- Move the single-set version table aside while the table of sets is built.
-- params: none
-- returns: nothing
ALTER TABLE rawdb_migrations RENAME TO rawdb_migrations_single;

-- name: insert_moved_version
-- One row of the single-set table, written into the table of sets with its set.
-- params: set_name, version, name, checksum, applied_at, duration_ms, baselined
-- returns: nothing
INSERT INTO rawdb_migrations (set_name, version, name, checksum, applied_at, duration_ms, baselined)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: drop_single_set_table
-- Drop the single-set version table once its rows are moved.
-- params: none
-- returns: nothing
DROP TABLE rawdb_migrations_single;

-- name: add_history_set_column
-- Give a history written before sets its set_name column (every old row is rawdb's).
-- params: none
-- returns: nothing
ALTER TABLE rawdb_migration_history ADD COLUMN set_name TEXT NOT NULL DEFAULT 'rawdb';

-- name: applied_versions
-- Applied versions of every set (the current layout).
-- params: none
-- returns: rows
SELECT version, name, checksum, applied_at, duration_ms, baselined, set_name, depends_on,
    rollback_checksum
FROM rawdb_migrations ORDER BY version;

-- name: applied_versions_without_rollback_column
-- Applied versions of every set, from a table of sets without rollback checksums.
-- params: none
-- returns: rows
SELECT version, name, checksum, applied_at, duration_ms, baselined, set_name, depends_on,
    NULL AS rollback_checksum
FROM rawdb_migrations ORDER BY version;

-- name: applied_versions_single_set
-- Applied versions from the single-set table of older rawdb (all of them rawdb's).
-- params: none
-- returns: rows
SELECT version, name, checksum, applied_at, duration_ms, baselined, 'rawdb' AS set_name,
    '{}' AS depends_on, NULL AS rollback_checksum
FROM rawdb_migrations ORDER BY version;

-- name: history_set_names
-- Every set the history records anything of.
-- params: none
-- returns: rows
SELECT DISTINCT set_name FROM rawdb_migration_history;

-- name: history_event_count
-- The number of history rows (of a history written before sets).
-- params: none
-- returns: value
SELECT count(*) FROM rawdb_migration_history;

-- name: insert_applied_version
-- Record one applied (or baselined) version.
-- params: set_name, version, name, checksum, applied_at, duration_ms, baselined, depends_on,
--     rollback_checksum
-- returns: nothing
INSERT INTO rawdb_migrations (set_name, version, name, checksum, applied_at, duration_ms,
    baselined, depends_on, rollback_checksum)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: delete_applied_version
-- Forget one applied version (it was rolled back).
-- params: set_name, version
-- returns: nothing
DELETE FROM rawdb_migrations WHERE set_name = ? AND version = ?;

-- name: insert_history_event
-- Append one event to the history.
-- params: set_name, version, name, action, checksum, at, duration_ms, backup, error
-- returns: nothing
INSERT INTO rawdb_migration_history
(set_name, version, name, action, checksum, at, duration_ms, backup, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: history_events
-- The newest history rows, newest first.
-- params: limit
-- returns: rows
SELECT id, set_name, version, name, action, checksum, at, duration_ms, backup, error
FROM rawdb_migration_history ORDER BY id DESC LIMIT ?;

-- name: history_events_single_set
-- The newest rows of a history written before sets (all of them rawdb's), newest first.
-- params: limit
-- returns: rows
SELECT id, 'rawdb' AS set_name, version, name, action, checksum, at, duration_ms, backup, error
FROM rawdb_migration_history ORDER BY id DESC LIMIT ?;

-- name: last_backup
-- The backup file named by the newest history row that names one.
-- params: none
-- returns: row
SELECT backup FROM rawdb_migration_history WHERE backup IS NOT NULL
ORDER BY id DESC LIMIT 1;
