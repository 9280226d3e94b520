-- What the partitions hold (status.py): rows by month of a default table, and bytes per
-- table from SQLite's dbstat virtual table (when it is compiled in). Row counts of period
-- tables use partitions_count_rows (maintain.sql).

-- name: partitions_rows_by_month
-- A default table's rows by month ('YYYY-MM' of the stored timestamp), in month order.
-- params: none
-- returns: rows
SELECT substr(timestamp, 1, 7) AS month, count(*) AS row_count FROM __table__
GROUP BY 1 ORDER BY 1;

-- name: partitions_dbstat_available
-- Fails when SQLite was built without the dbstat virtual table.
-- params: none
-- returns: rows
SELECT 1 WHERE EXISTS (SELECT 1 FROM dbstat);

-- name: partitions_bytes
-- Bytes of one table and its indexes: the pages dbstat counts for them.
-- params: tbl_name
-- returns: value
SELECT coalesce(sum(d.pgsize), 0)
FROM sqlite_schema AS s INNER JOIN dbstat('main', 1) AS d ON s.name = d.name
WHERE s.tbl_name = ?;
