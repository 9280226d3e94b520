-- market_data indexes 5 -> 2, as on SQLite: keep (timestamp, instrument_id), add
-- (instrument_id, price), drop the single-column ones and ix_market_data_latest.
DROP INDEX ix_market_data_timestamp;
DROP INDEX ix_market_data_instrument;
DROP INDEX ix_market_data_price;
DROP INDEX ix_market_data_latest;
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);
