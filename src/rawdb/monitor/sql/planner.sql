-- What the query advisor reads of a database and runs on its planner's copy (schema_copy.py).
--
-- The real file is only read (schema, row counts); the statements that change anything run on
-- the in-memory copy, which holds the schema and sqlite_stat1 but no rows.

-- name: monitor_schema
-- Every table, index and view with its DDL, tables first, in creation order.
-- params: none
-- returns: rows
SELECT type, name, tbl_name, sql FROM sqlite_schema
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
    AND type IN ('table', 'index', 'view')
ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid;

-- name: monitor_count
-- The rows of one table, counted (for a table the statistics do not cover).
-- params: none
-- returns: value
SELECT count(*) FROM __table__;

-- name: monitor_table_columns
-- The columns of one table, in order (what PRAGMA table_info gives).
-- params: table_name
-- returns: rows
SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(:table_name);

-- name: monitor_foreign_key_columns
-- The foreign keys of one table, a row per column (what PRAGMA foreign_key_list gives).
-- params: table_name
-- returns: rows
SELECT id, seq, "table", "from", "to", on_update, on_delete, "match"
FROM pragma_foreign_key_list(:table_name);

-- name: monitor_load_statistics
-- On the copy: make sqlite_stat1 exist, or reload every table's statistics from it.
-- params: none
-- returns: nothing
ANALYZE sqlite_schema;

-- name: monitor_clear_statistics
-- On the copy: empty sqlite_stat1 before the real file's rows go in.
-- params: none
-- returns: nothing
DELETE FROM sqlite_stat1;

-- name: monitor_insert_statistics
-- On the copy: one row of the real file's sqlite_stat1 (executemany).
-- params: tbl, idx, stat
-- returns: nothing
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?);

-- name: monitor_create_candidate_index
-- On the copy: the index a suggestion is tried with (a template: its table and columns).
-- params: none
-- returns: nothing
CREATE INDEX rawdb_advisor_candidate ON __table__ (__columns__);

-- name: monitor_drop_candidate_index
-- On the copy: drop the candidate index a suggestion was tried with.
-- params: none
-- returns: nothing
DROP INDEX rawdb_advisor_candidate;
