-- File figures (figures.py): bytes per table and index, from the dbstat virtual table.

-- name: monitor_dbstat
-- Bytes and pages of every table and index in the file, largest first.
-- params: none
-- returns: rows
SELECT
    d.name,
    coalesce(m.tbl_name, d.name) AS "table",
    coalesce(m.type, 'table') AS kind,
    sum(d.pgsize) AS bytes,
    count(*) AS pages
FROM dbstat AS d LEFT JOIN sqlite_schema AS m ON d.name = m.name
GROUP BY d.name ORDER BY bytes DESC;

-- name: monitor_partition_states
-- Every table of the partition registry: its family, period and state (a small table).
-- params: none
-- returns: rows
SELECT p.name, p.family, p.state, p.period_start
FROM rawdb_partitions AS p ORDER BY p.family, p.period_start;

-- name: monitor_table_rows
-- Rows per table as the last ANALYZE counted them (the first number of an index's stat).
-- params: none
-- returns: rows
SELECT s.tbl, max(cast(substr(s.stat, 1, instr(s.stat || ' ', ' ') - 1) AS INTEGER)) AS counted
FROM sqlite_stat1 AS s GROUP BY s.tbl;

-- name: monitor_schema_versions
-- The newest applied version of each migration set.
-- params: none
-- returns: rows
SELECT m.set_name, max(m.version) AS version FROM rawdb_migrations AS m GROUP BY m.set_name;
