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
