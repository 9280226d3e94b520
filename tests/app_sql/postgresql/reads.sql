-- The statements of ../reads.sql for a PostgreSQL pool, loaded as an application loads its
-- files (rawdb.queries.load(folder, dialect="postgresql")).

-- name: slow_pair_count
-- Pairs of a long series with every instrument: a read that takes as long as :rounds says.
-- params: rounds
-- returns: value
WITH RECURSIVE series (n) AS (
    SELECT 1
    UNION ALL
    SELECT series.n + 1 FROM series WHERE series.n < :rounds
)

SELECT count(*) AS pairs
FROM series CROSS JOIN instruments;

-- name: instrument_symbols
-- Every instrument's symbol, in order: a fast read.
-- params: none
-- returns: rows
SELECT symbol FROM instruments ORDER BY symbol;
