-- Drop the vocabulary checks.
ALTER TABLE alert_rules
DROP CONSTRAINT ck_alert_rules_condition,
DROP CONSTRAINT ck_alert_rules_type;
ALTER TABLE instruments
DROP CONSTRAINT ck_instruments_symbol,
DROP CONSTRAINT ck_instruments_status,
DROP CONSTRAINT ck_instruments_type;
