-- deleted_at indexes cover only soft-deleted rows (partial indexes), so live inserts skip them.
--
-- Why: 0005 indexed deleted_at on every row, NULL included, which made a third index on
-- market_data that every insert pays for, past the two-index budget. The only statements that
-- need it look for soft-deleted rows (purge: deleted_at IS NOT NULL AND deleted_at < cutoff),
-- so an index of just those rows serves them and costs a live insert nothing.
-- Measured 2026-11-21 with tools/bench_deleted_at.py (300k ticks, 10k per commit, stdlib
-- executemany, median of 3, runs interleaved, machine shared with other work): full index
-- 61,287 rows/s, partial index 66,485 rows/s (1.08x), on a table starting empty; the gap
-- grows with the table, as every index does once it outgrows the cache.

DROP INDEX ix_market_data_deleted_at;
CREATE INDEX ix_market_data_deleted_at ON market_data (deleted_at) WHERE deleted_at IS NOT NULL;

DROP INDEX ix_alert_logs_deleted_at;
CREATE INDEX ix_alert_logs_deleted_at ON alert_logs (deleted_at) WHERE deleted_at IS NOT NULL;
