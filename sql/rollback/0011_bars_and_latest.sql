-- Back to bars and latest prices computed from the ticks on every read.

DROP TABLE rawdb_rollup_backfill;
DROP TABLE rawdb_rollup_gaps;
DROP TABLE rawdb_rollup_state;
DROP TABLE market_data_latest;
DROP TABLE market_data_1h;
DROP TABLE market_data_1m;
