-- deleted_at indexes cover only soft-deleted rows (partial indexes), so live inserts skip them.
DROP INDEX ix_market_data_deleted_at;
CREATE INDEX ix_market_data_deleted_at ON market_data (deleted_at) WHERE deleted_at IS NOT NULL;
DROP INDEX ix_alert_logs_deleted_at;
CREATE INDEX ix_alert_logs_deleted_at ON alert_logs (deleted_at) WHERE deleted_at IS NOT NULL;
