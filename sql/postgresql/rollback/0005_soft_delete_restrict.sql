-- Back to CASCADE and no soft delete. Refused (nothing changes) while a row is soft-deleted:
-- dropping deleted_at would bring it back to life.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM market_data WHERE deleted_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM alert_logs WHERE deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'soft-deleted rows exist: purge or restore them before rolling back 0005';
    END IF;
END
$$;
ALTER TABLE alert_logs DROP CONSTRAINT alert_logs_rule_id_fkey,
ADD CONSTRAINT alert_logs_rule_id_fkey FOREIGN KEY (rule_id)
REFERENCES alert_rules (id) ON DELETE CASCADE;
ALTER TABLE alert_logs DROP CONSTRAINT alert_logs_instrument_id_fkey,
ADD CONSTRAINT alert_logs_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE CASCADE;
ALTER TABLE market_data DROP CONSTRAINT market_data_instrument_id_fkey,
ADD CONSTRAINT market_data_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE CASCADE;
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_instrument_id_fkey,
ADD CONSTRAINT alert_rules_instrument_id_fkey FOREIGN KEY (instrument_id)
REFERENCES instruments (id) ON DELETE CASCADE;
DROP INDEX ix_alert_logs_deleted_at;
DROP INDEX ix_market_data_deleted_at;
ALTER TABLE alert_logs DROP COLUMN deleted_at;
ALTER TABLE market_data DROP COLUMN deleted_at;
