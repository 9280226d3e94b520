-- market_data: back to the extension's (instrument_id, price) index.
--
-- The CREATE INDEX text is migration 0002's, byte for byte.
DROP INDEX ix_market_data_instrument_timestamp;
CREATE INDEX ix_market_data_instrument_price ON market_data (instrument_id, price);
