-- SQLite's planner statistics (sqlite_stat1), read by the partition maintenance and the
-- monitor's schema copy.

-- name: stat1_exists
-- Whether sqlite_stat1 exists (a first ANALYZE creates it).
-- params: none
-- returns: row
SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1';

-- name: stat1_rows
-- Every statistics row: table, index and its stat text.
-- params: none
-- returns: rows
SELECT tbl, idx, stat FROM sqlite_stat1;
