-- Drop the bars, the latest prices and their bookkeeping (the ticks keep every fact).
DROP TABLE rawdb_rollup_backfill;
DROP TABLE rawdb_rollup_gaps;
DROP TABLE rawdb_rollup_state;
DROP TABLE market_data_latest;
DROP TABLE market_data_1h;
DROP TABLE market_data_1m;
