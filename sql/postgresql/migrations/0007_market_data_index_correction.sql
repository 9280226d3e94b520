-- market_data: replace the (instrument_id, price) index with (instrument_id, timestamp), the
-- index of an instrument's history, its bars and its latest tick (as on SQLite).
DROP INDEX ix_market_data_instrument_price;
CREATE INDEX ix_market_data_instrument_timestamp ON market_data (instrument_id, timestamp);
