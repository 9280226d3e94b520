-- rawdb copy's reads of the SQLite source: the units' rows and the periods that hold rows.

-- name: source_months
-- The months ('YYYY-MM') a table holds rows of, by its time column.
-- params: none
-- returns: rows
SELECT DISTINCT substr(__column__, 1, 7) AS month FROM __table__;

-- name: source_rows
-- Every row of a table.
-- params: none
-- returns: rows
SELECT __columns__ FROM __table__;

-- name: source_period_rows
-- A table's rows in [start, end) by its time column.
-- params: start, end
-- returns: rows
SELECT __columns__ FROM __table__ WHERE __column__ >= ? AND __column__ < ?;
