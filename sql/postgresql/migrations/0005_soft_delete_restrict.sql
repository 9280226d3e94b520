-- Soft delete (deleted_at) on market_data and alert_logs; every ON DELETE CASCADE -> RESTRICT.
--
-- PostgreSQL swaps each foreign key in place (SQLite rebuilds the tables).
ALTER TABLE market_data ADD COLUMN deleted_at timestamptz;
ALTER TABLE alert_logs ADD COLUMN deleted_at timestamptz;
CREATE INDEX ix_market_data_deleted_at ON market_data (deleted_at);
CREATE INDEX ix_alert_logs_deleted_at ON alert_logs (deleted_at);
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_instrument_id_fkey,
ADD CONSTRAINT alert_rules_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE RESTRICT;
ALTER TABLE market_data DROP CONSTRAINT market_data_instrument_id_fkey,
ADD CONSTRAINT market_data_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE RESTRICT;
ALTER TABLE alert_logs DROP CONSTRAINT alert_logs_instrument_id_fkey,
ADD CONSTRAINT alert_logs_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE RESTRICT;
ALTER TABLE alert_logs DROP CONSTRAINT alert_logs_rule_id_fkey,
ADD CONSTRAINT alert_logs_rule_id_fkey FOREIGN KEY (rule_id)
REFERENCES alert_rules (id) ON DELETE RESTRICT;
