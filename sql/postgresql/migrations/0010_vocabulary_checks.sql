-- Instruments and alert rules hold only the values rawdb accepts, whoever writes them.
--
-- SQLite cannot add a CHECK to an existing table, so it uses triggers; PostgreSQL adds the
-- constraints (validated against the rows already stored: a bad row fails this migration,
-- and nothing changes). The vocabularies are rawdb.models' INSTRUMENT_TYPES,
-- INSTRUMENT_STATUSES, RULE_TYPES and RULE_CONDITIONS; a symbol is 1-10 characters, trimmed,
-- without control or bidi-override characters (PostgreSQL text cannot hold NUL at all).
ALTER TABLE instruments
ADD CONSTRAINT ck_instruments_type CHECK (type IN ('future', 'index', 'internal', 'etf')),
ADD CONSTRAINT ck_instruments_status CHECK (status IN ('active', 'inactive', 'error')),
ADD CONSTRAINT ck_instruments_symbol CHECK (
    symbol = btrim(symbol)
    AND length(symbol) BETWEEN 1 AND 10
    AND symbol !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]'
);
ALTER TABLE alert_rules
ADD CONSTRAINT ck_alert_rules_type CHECK (
    rule_type IN (
        'threshold', 'crossover', 'rate_of_change', 'volume_spike', 'moving_average',
        'multi_condition'
    )
),
ADD CONSTRAINT ck_alert_rules_condition CHECK (
    condition IN (
        'above', 'below', 'equals', 'crosses_above', 'crosses_below', 'percent_change_up',
        'percent_change_down', 'volume_above'
    )
);
