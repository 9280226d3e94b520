-- Remove the TradeAssist legacy baseline: every table it created, children before parents.
--
-- Dropping a table drops its indexes. Children go first so no foreign key ever points at a
-- table that is gone, whether or not foreign keys are enforced on the connection.
DROP TABLE alert_logs;
DROP TABLE market_data;
DROP TABLE alert_rules;
DROP TABLE market_data_bar;
DROP TABLE data_source;
DROP TABLE data_query;
DROP TABLE instruments;
DROP TABLE alembic_version;
