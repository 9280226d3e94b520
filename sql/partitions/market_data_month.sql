-- One month of market data: market_data's columns and RESTRICT foreign key, plus a CHECK on the month.
--
-- rawdb.partitions fills the placeholders from validated integers only: market_data_yyyy_mm
-- becomes the table name (market_data_2026_03) and PERIOD_START / PERIOD_END the month's
-- half-open bounds in the stored UTC text format ('2026-03-01 00:00:00', '2026-04-01 00:00:00').
-- The CHECK keeps a misrouted row out; it does not make SQLite skip the table in a query.
-- Indexes: (instrument_id, timestamp) for an instrument's history, bars and latest tick, and
-- soft-deleted rows only for deleted_at (migration 0008). Unlike the default table, no
-- (timestamp, instrument_id) index: every rawdb read names an instrument, the month already
-- bounds the time, and that index was a second B-tree insert for every row (tools/bench_ingest.py:
-- the plain insert runs 0.85-0.97x as fast into the default table, which keeps it). A time
-- window over all instruments is a skip-scan of (instrument_id, timestamp) once the table has
-- statistics (rawdb.partitions.analyze_recent, run daily), one seek per instrument; without
-- statistics it reads the whole month.
CREATE TABLE market_data_yyyy_mm (
    id INTEGER NOT NULL,
    timestamp DATETIME NOT NULL,
    instrument_id INTEGER NOT NULL,
    price REAL,
    volume INTEGER,
    bid REAL,
    ask REAL,
    bid_size INTEGER,
    ask_size INTEGER,
    open_price REAL,
    high_price REAL,
    low_price REAL,
    deleted_at DATETIME,
    PRIMARY KEY (id),
    FOREIGN KEY (instrument_id) REFERENCES instruments (id) ON DELETE RESTRICT,
    CONSTRAINT ck_market_data_yyyy_mm_period CHECK (
        timestamp >= 'PERIOD_START' AND timestamp < 'PERIOD_END'
    )
);
CREATE INDEX ix_market_data_yyyy_mm_instrument_timestamp
ON market_data_yyyy_mm (instrument_id, timestamp);
CREATE INDEX ix_market_data_yyyy_mm_deleted_at
ON market_data_yyyy_mm (deleted_at) WHERE deleted_at IS NOT NULL;
