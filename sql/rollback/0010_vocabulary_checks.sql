-- Back to no checks in the database (the API still checks what it writes).

DROP TRIGGER rawdb_alert_rules_checked_update;
DROP TRIGGER rawdb_alert_rules_checked_insert;
DROP TRIGGER rawdb_instruments_checked_update;
DROP TRIGGER rawdb_instruments_checked_insert;
