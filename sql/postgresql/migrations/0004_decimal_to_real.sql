-- numeric(12, 4) -> double precision for market_data and alert_logs prices.
--
-- SQLite rebuilds each table for this; PostgreSQL changes the types in place (one rewrite
-- of each table under an ACCESS EXCLUSIVE lock, inside this migration's transaction).
ALTER TABLE market_data
ALTER COLUMN price TYPE double precision,
ALTER COLUMN bid TYPE double precision,
ALTER COLUMN ask TYPE double precision,
ALTER COLUMN open_price TYPE double precision,
ALTER COLUMN high_price TYPE double precision,
ALTER COLUMN low_price TYPE double precision;
ALTER TABLE alert_logs
ALTER COLUMN trigger_value TYPE double precision,
ALTER COLUMN threshold_value TYPE double precision;
