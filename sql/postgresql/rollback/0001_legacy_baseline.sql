-- Drop TradeAssist's tables (an empty database again).
DROP TABLE market_data_bar;
DROP TABLE data_source;
DROP TABLE data_query;
DROP TABLE alert_logs;
DROP TABLE market_data;
DROP TABLE alert_rules;
DROP TABLE instruments;
