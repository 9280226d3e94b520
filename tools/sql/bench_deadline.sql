-- The read-deadline benchmark's own statement (tools/bench_deadline.py), loaded as an
-- application loads its statement files (rawdb.queries.load).

-- name: bench_series_count
-- Pairs of a series of :rounds numbers with every instrument: a read as long as :rounds says.
-- params: rounds
-- returns: value
WITH RECURSIVE series (n) AS (
    SELECT 1
    UNION ALL
    SELECT series.n + 1 FROM series WHERE series.n < :rounds
)

SELECT count(*) AS pairs
FROM series CROSS JOIN instruments;
