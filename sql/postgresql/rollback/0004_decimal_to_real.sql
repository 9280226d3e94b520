-- double precision -> numeric(12, 4) (values round to four places, as the legacy type held).
ALTER TABLE market_data
ALTER COLUMN price TYPE numeric(12, 4),
ALTER COLUMN bid TYPE numeric(12, 4),
ALTER COLUMN ask TYPE numeric(12, 4),
ALTER COLUMN open_price TYPE numeric(12, 4),
ALTER COLUMN high_price TYPE numeric(12, 4),
ALTER COLUMN low_price TYPE numeric(12, 4);
ALTER TABLE alert_logs
ALTER COLUMN trigger_value TYPE numeric(12, 4),
ALTER COLUMN threshold_value TYPE numeric(12, 4);
