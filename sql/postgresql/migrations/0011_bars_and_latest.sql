-- Bars and latest prices kept as ticks are written, so a screen's reads never compute them
-- from the tick history (the tables of sql/migrations/0011, in PostgreSQL types).
--
-- bucket is the bar's start (a UTC minute or hour), open_at/close_at the times of the ticks
-- that opened and closed it and open_id/close_id their ids (ties broken by id, as on SQLite).
-- rawdb_rollup_state says whether the rollups are whole; live_since is set by the backfill's
-- first run, so applying this file twice gives the same database. minutes_kept_from starts at
-- the first instant a driver can read (year 1), where SQLite's text says year 0: both mean
-- "every minute bar is kept".
CREATE TABLE market_data_1m (
    instrument_id bigint NOT NULL REFERENCES instruments (id) ON DELETE RESTRICT,
    bucket timestamptz NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume bigint NOT NULL,
    ticks bigint NOT NULL,
    open_at timestamptz NOT NULL,
    open_id bigint NOT NULL,
    close_at timestamptz NOT NULL,
    close_id bigint NOT NULL,
    PRIMARY KEY (instrument_id, bucket)
);

CREATE TABLE market_data_1h (
    instrument_id bigint NOT NULL REFERENCES instruments (id) ON DELETE RESTRICT,
    bucket timestamptz NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume bigint NOT NULL,
    ticks bigint NOT NULL,
    open_at timestamptz NOT NULL,
    open_id bigint NOT NULL,
    close_at timestamptz NOT NULL,
    close_id bigint NOT NULL,
    PRIMARY KEY (instrument_id, bucket)
);

CREATE TABLE market_data_latest (
    instrument_id bigint NOT NULL PRIMARY KEY REFERENCES instruments (id) ON DELETE RESTRICT,
    id bigint NOT NULL,
    timestamp timestamptz NOT NULL,
    price double precision,
    volume bigint,
    bid double precision,
    ask double precision,
    bid_size bigint,
    ask_size bigint,
    open_price double precision,
    high_price double precision,
    low_price double precision
);

CREATE TABLE rawdb_rollup_state (
    family text NOT NULL PRIMARY KEY,
    live_since timestamptz,
    complete boolean NOT NULL,
    minutes_kept_from timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);

CREATE TABLE rawdb_rollup_gaps (
    gap_start timestamptz NOT NULL,
    gap_end timestamptz NOT NULL,
    PRIMARY KEY (gap_start, gap_end)
);

CREATE TABLE rawdb_rollup_backfill (
    instrument_id bigint NOT NULL PRIMARY KEY REFERENCES instruments (id) ON DELETE RESTRICT,
    done_until timestamptz NOT NULL
);

INSERT INTO rawdb_rollup_state (family, live_since, complete)
VALUES ('market_data', NULL, NOT EXISTS (SELECT 1 FROM market_data));
