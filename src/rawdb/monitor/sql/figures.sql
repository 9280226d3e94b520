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
