-- Statistics upkeep on the writer (upkeep.py): PRAGMA optimize and a full ANALYZE.

-- name: monitor_optimize
-- ANALYZE where SQLite thinks the statistics went stale (analysis_limit keeps it short).
-- params: none
-- returns: rows
PRAGMA optimize;

-- name: monitor_no_analysis_limit
-- Let the next ANALYZE read every row (a sampled one misjudges selectivity after a bulk load).
-- params: none
-- returns: nothing
PRAGMA analysis_limit = 0;

-- name: monitor_analyze
-- Recompute the statistics of one table.
-- params: none
-- returns: nothing
ANALYZE __table__;
