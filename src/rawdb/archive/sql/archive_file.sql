-- The archive file of a period, attached to the main connection as "archive": opening it,
-- copying a period table out and in, and reading both copies to compare them.
--
-- __table__ is the period table (the same name in both files), __schema__ 'main' or
-- 'archive'. A "/* columns */ id" list is filled with the family's columns, in the order of
-- its DDL template (rawdb.catalog.templates.with_columns), so a column added there is copied,
-- compared and checksummed too.

-- name: archive_attach
-- Attach a period's archive file (created when missing) as the schema "archive".
-- params: path
-- returns: nothing
ATTACH DATABASE ? AS archive;

-- name: archive_journal_mode
-- The archive file keeps a rollback journal (one file to move, nothing beside it).
-- params: none
-- returns: value
PRAGMA archive.journal_mode = DELETE;

-- name: archive_synchronous
-- Every commit of the archive file reaches the disk before the main table is dropped.
-- params: none
-- returns: nothing
PRAGMA archive.synchronous = FULL;

-- name: archive_detach
-- Detach the archive file again.
-- params: none
-- returns: nothing
DETACH DATABASE archive;

-- name: archive_foreign_keys_off
-- The archive file has no instruments table: its copy's foreign keys go unenforced.
-- params: none
-- returns: nothing
PRAGMA foreign_keys = OFF;

-- name: archive_foreign_keys_on
-- Foreign keys enforced again, as every rawdb connection has them.
-- params: none
-- returns: nothing
PRAGMA foreign_keys = ON;

-- name: archive_rows_waiting
-- Rows of a period's time range still in the default table (they must move before archiving).
-- params: start, end
-- returns: value
SELECT count(*) FROM __table__
WHERE timestamp >= ? AND timestamp < ?;

-- name: archive_count
-- Rows of one period table in the main database (what a dry run would archive).
-- params: none
-- returns: value
SELECT count(*) FROM __table__;

-- name: archive_drop_copy
-- Remove an earlier copy from the archive file before copying afresh.
-- params: none
-- returns: nothing
DROP TABLE IF EXISTS archive.__table__;

-- name: archive_copy_out
-- Copy every row of a period table into its (just created) table in the archive file.
-- params: none
-- returns: nothing
INSERT INTO archive.__table__ (/* columns */ id)
SELECT /* columns */ id FROM main.__table__;

-- name: archive_copy_in
-- Copy every row of an archive file's table into the period table recreated in main.
-- params: none
-- returns: nothing
INSERT INTO main.__table__ (/* columns */ id)
SELECT /* columns */ id FROM archive.__table__;

-- name: partitions_drop_table
-- Drop an archived period table from the main database.
-- params: none
-- returns: nothing
DROP TABLE main.__table__;

-- name: archive_checksum_rows
-- Every row of a period table in one schema, columns in their fixed order (for the checksum).
-- params: none
-- returns: rows
SELECT /* columns */ id FROM __schema__.__table__;

-- name: archive_rows_in
-- Rows of a period table in one schema.
-- params: none
-- returns: value
SELECT count(*) FROM __schema__.__table__;

-- name: archive_identical_rows
-- Rows of the main table with an identical row (every column compared with IS, so NULLs and
-- REALs compare exactly) under the same id in the archive copy.
-- params: none
-- returns: value
SELECT count(*) FROM main.__table__ AS m INNER JOIN archive.__table__ AS a ON m.id = a.id
WHERE (/* columns */ a.id) IS (/* columns */ m.id);

-- name: archive_shape
-- Rows and largest id of a period table in one schema: one index walk, to re-check a frozen table.
-- params: none
-- returns: row
SELECT count(*) AS row_count, max(id) AS largest_id FROM __schema__.__table__;

-- name: archive_held_in_period
-- Instruments whose held latest tick lies in an archived month [?, ?).
-- params: start, end
-- returns: rows
SELECT instrument_id FROM market_data_latest WHERE timestamp >= ? AND timestamp < ?;

-- name: archive_forget_held
-- Forget one instrument's held latest tick (its month is being archived).
-- params: instrument_id
-- returns: nothing
DELETE FROM market_data_latest WHERE instrument_id = ?;

-- name: archive_newest_in
-- One instrument's newest live tick in one table, as the held latest tick's columns.
-- params: instrument_id
-- returns: rows
SELECT instrument_id, id, timestamp, price, volume, bid, ask, bid_size, ask_size,
    open_price, high_price, low_price
FROM __table__
WHERE instrument_id = ? AND deleted_at IS NULL
ORDER BY timestamp DESC, id DESC
LIMIT 1;

-- name: archive_restored_instruments
-- The instruments a restored month holds live ticks of.
-- params: none
-- returns: rows
SELECT DISTINCT instrument_id FROM __table__ WHERE deleted_at IS NULL;

-- name: archive_bars_gap
-- A restored month's bars are computed from its ticks until the backfill folds them in again
-- (they were kept while it was archived, unless the month left before the rollups began or
-- the minute bars' retention passed it).
-- params: start, end
-- returns: nothing
INSERT OR IGNORE INTO rawdb_rollup_gaps (gap_start, gap_end) VALUES (?, ?);
