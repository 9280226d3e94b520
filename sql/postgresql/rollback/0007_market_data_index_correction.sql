-- Back to the (instrument_id, price) index.
DROP INDEX ix_market_data_instrument_timestamp;
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);
