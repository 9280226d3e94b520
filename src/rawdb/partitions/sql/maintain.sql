-- Partition maintenance (maintain.py): sampled statistics of the tables still filling, and
-- moving rows between a family's default table and its period tables.
--
-- __table__, __source__ and __target__ are partition tables (default or period). A
-- "/* columns */ id" list is filled with the family's columns, in the order of its DDL
-- template (rawdb.catalog.templates.with_columns). Ids of a batch are bound as one JSON array.

-- name: partitions_has_rows
-- Whether a table holds any row (an empty one is not analyzed).
-- params: none
-- returns: row
SELECT 1 WHERE EXISTS (SELECT 1 FROM __table__);

-- name: partitions_analyze
-- Gather the planner's statistics of one table (sampled: analysis_limit is set first).
-- params: none
-- returns: nothing
ANALYZE __table__;

-- name: partitions_count_rows
-- Rows of one partition table.
-- params: none
-- returns: value
SELECT count(*) FROM __table__;

-- name: partitions_move_batch
-- The next batch of a default table's rows, by id: id and timestamp (which period it goes to).
-- params: after_id, batch
-- returns: rows
SELECT id, timestamp FROM __table__
WHERE id > ? ORDER BY id LIMIT ?;

-- name: partitions_raise_floor
-- Raise a table's id floor, so no id that left it is ever handed out again.
-- params: id_floor, name
-- returns: nothing
UPDATE rawdb_partitions
SET id_floor = max(id_floor, ?) WHERE name = ?;

-- name: partitions_move
-- Copy the rows with the given ids from one partition table into another.
-- params: ids
-- returns: nothing
INSERT INTO __target__ (/* columns */ id)
SELECT /* columns */ id FROM __source__
WHERE id IN (SELECT j.value FROM json_each(?) AS j);

-- name: partitions_move_delete
-- Delete the rows with the given ids from a partition table (once copied).
-- params: ids
-- returns: nothing
DELETE FROM __table__
WHERE id IN (SELECT j.value FROM json_each(?) AS j);

-- name: partitions_merge_batch
-- The first batch of ids of a period table being merged back into the default table.
-- params: batch
-- returns: rows
SELECT id FROM __table__ ORDER BY id LIMIT ?;

-- name: partitions_drop
-- Drop an emptied period table.
-- params: none
-- returns: nothing
DROP TABLE __table__;

-- name: partitions_forget
-- Remove a dropped period table from the registry.
-- params: name
-- returns: nothing
DELETE FROM rawdb_partitions WHERE name = ?;
