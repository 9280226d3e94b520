-- Back to deleted_at indexes over every row.
DROP INDEX ix_alert_logs_deleted_at;
CREATE INDEX ix_alert_logs_deleted_at ON alert_logs (deleted_at);
DROP INDEX ix_market_data_deleted_at;
CREATE INDEX ix_market_data_deleted_at ON market_data (deleted_at);
