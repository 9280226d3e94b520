-- The registry of partition tables (rawdb_partitions), its audit trail, and the family views.
--
-- The view itself is composed over the present tables (templates.view_sql); only dropping it
-- is a plain statement.

-- name: partitions_list
-- Every registry row of one family: the default table first, then the periods in order.
-- params: family
-- returns: rows
SELECT name, family, state, period_start, period_end,
    id_floor, created_at, archived_at, archive_file, row_count, checksum, counted_at
FROM rawdb_partitions WHERE family = ? ORDER BY period_start IS NOT NULL, period_start;

-- name: partitions_register
-- Register a new period table as active.
-- params: name, family, period_start, period_end, id_floor, created_at
-- returns: nothing
INSERT INTO rawdb_partitions
(name, family, period_start, period_end, state, id_floor, created_at)
VALUES (?, ?, ?, ?, 'active', ?, ?);

-- name: partitions_set_state
-- Move a table from one state to another (nothing changes when it is not in the first).
-- params: state, name, from_state
-- returns: nothing
UPDATE rawdb_partitions SET state = ?
WHERE name = ? AND state = ?;

-- name: partitions_audit
-- Record one change of the layout (create, move, archive, restore, ...).
-- params: happened_at, action, table_name, row_count, checksum, archive_file, detail
-- returns: nothing
INSERT INTO rawdb_partition_audit
(happened_at, action, table_name, row_count, checksum, archive_file, detail)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: partitions_drop_view
-- Drop a family's view (market_data, alert_logs) before it is made again over its tables.
-- params: none
-- returns: nothing
DROP VIEW IF EXISTS __view__;
