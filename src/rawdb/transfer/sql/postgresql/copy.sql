-- rawdb copy's statements on the PostgreSQL side: its progress, and the catalogue it reads.

-- name: create_progress_table
-- One row per unit copied: what the copy recorded of it, so a new run skips it unless changed.
-- params: none
-- returns: nothing
CREATE TABLE IF NOT EXISTS rawdb_copy_progress (
    unit text PRIMARY KEY,
    rows bigint NOT NULL,
    checksum text NOT NULL,
    copied_at timestamptz NOT NULL DEFAULT now()
);

-- name: progress_of
-- What an earlier run recorded of one unit.
-- params: unit
-- returns: row
SELECT rows, checksum FROM rawdb_copy_progress WHERE unit = :unit;

-- name: record_progress
-- Record one unit as copied (in the transaction that copied it).
-- params: unit, rows, checksum
-- returns: nothing
INSERT INTO rawdb_copy_progress (unit, rows, checksum) VALUES (:unit, :rows, :checksum)
ON CONFLICT (unit) DO UPDATE SET
    rows = excluded.rows, checksum = excluded.checksum, copied_at = now();

-- name: table_columns
-- A table's columns with their types, in order.
-- params: table
-- returns: rows
SELECT column_name, data_type, numeric_scale
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = :table
ORDER BY ordinal_position;

-- name: primary_key
-- A table's primary key columns, in key order.
-- params: table
-- returns: rows
SELECT a.attname AS column_name
FROM pg_index AS i
INNER JOIN pg_attribute AS a ON i.indrelid = a.attrelid AND a.attnum = any(i.indkey)
WHERE i.indrelid = to_regclass(:table) AND i.indisprimary
ORDER BY array_position(i.indkey::int2 [], a.attnum);

-- name: id_sequences
-- Every table (not a partition) whose id column owns a sequence (identity or serial).
-- params: none
-- returns: rows
SELECT t.relname AS table_name, s.oid::regclass::text AS sequence
FROM pg_depend AS d
INNER JOIN pg_class AS s ON d.objid = s.oid AND s.relkind = 'S'
INNER JOIN pg_class AS t ON d.refobjid = t.oid
INNER JOIN pg_attribute AS a ON t.oid = a.attrelid AND d.refobjsubid = a.attnum
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND a.attname = 'id'
    AND t.relnamespace = current_schema()::regnamespace AND NOT t.relispartition;

-- name: target_rows
-- Every row of a table, to check against the source.
-- params: none
-- returns: rows
SELECT __columns__ FROM __table__;

-- name: target_period_rows
-- A table's rows in [start, end) by its time column.
-- params: start, end
-- returns: rows
SELECT __columns__ FROM __table__ WHERE __column__ >= :start AND __column__ < :end;

-- name: clear_period
-- Remove a period's rows before copying them again.
-- params: start, end
-- returns: nothing
DELETE FROM __table__ WHERE __column__ >= :start AND __column__ < :end;

-- name: create_stage
-- A temporary table shaped like the table, where a whole table's rows are copied first.
-- params: none
-- returns: nothing
CREATE TEMP TABLE rawdb_copy_stage (LIKE __table__) ON COMMIT DROP;

-- name: merge_stage
-- The staged rows into the table: new keys inserted, existing ones updated in place (every
-- column but the key, so rows others refer to keep their ids, and a trigger on an UPDATE OF
-- the key, such as rawdb_instruments_keep_ticks, is not set off).
-- params: none
-- returns: nothing
INSERT INTO __table__ (__columns__)
SELECT __columns__ FROM rawdb_copy_stage
ON CONFLICT (__keys__) DO UPDATE
SET (__values__) = (
    SELECT __values__ FROM (SELECT excluded.*) AS e  -- noqa: RF01
);

-- name: merge_stage_keys
-- The staged rows of a table that is all key (a link table): the new ones inserted.
-- params: none
-- returns: nothing
INSERT INTO __table__ (__columns__)
SELECT __columns__ FROM rawdb_copy_stage
ON CONFLICT (__keys__) DO NOTHING;

-- name: delete_gone
-- Rows whose key is no longer in the source.
-- params: none
-- returns: nothing
DELETE FROM __table__ WHERE (__keys__) NOT IN (SELECT __keys__ FROM rawdb_copy_stage);

-- name: advance_sequence
-- A sequence's next value after the largest id copied into its table.
-- params: sequence
-- returns: value
SELECT setval(:sequence, coalesce((SELECT max(id) FROM __table__), 0) + 1, FALSE);

-- name: register_archived
-- A period archived on SQLite, registered as archived here with its file, count and checksum
-- (in this engine's canonical form), so `rawdb partitions restore` can bring it in; once.
-- params: name, family, start, end, file, rows, checksum
-- returns: nothing
INSERT INTO rawdb_partitions (
    name, family, period_start, period_end, state, archived_at, archive_file, row_count,
    checksum, counted_at
)
VALUES (:name, :family, :start, :end, 'archived', now(), :file, :rows, :checksum, now())
ON CONFLICT DO NOTHING;
