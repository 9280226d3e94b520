-- Instruments and alert rules hold only the values rawdb accepts, whoever writes them.
--
-- Why: the API refuses a status outside its vocabulary and a symbol with control or bidi
-- characters, but a sqlite3 shell or another program stored them anyway, and a symbol with a
-- bidi override shows as another symbol on a screen. SQLite adds no CHECK to an existing
-- table without rebuilding it (and every tick table refers to instruments), so triggers check
-- each new or changed row. Rows already stored stay as they are: an adopted database keeps
-- its history. The lists are rawdb.models' vocabularies (a test holds them equal). RAISE
-- takes only a literal message, so it names where the rules are.
-- Characters refused in a symbol: C0 and C1 controls, DEL, line and paragraph separators,
-- bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069); and NUL, found in
-- the bytes because SQLite's text functions stop at it.

CREATE TRIGGER rawdb_instruments_checked_insert
BEFORE INSERT ON instruments
WHEN new.type NOT IN ('future', 'index', 'internal', 'etf')
    OR new.status NOT IN ('active', 'inactive', 'error')
    OR new.symbol IS NOT trim(new.symbol)
    OR length(new.symbol) NOT BETWEEN 1 AND 10
    OR instr(cast(new.symbol AS BLOB), x'00') > 0
    OR new.symbol GLOB '*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159)
    || char(8232) || char(8233) || char(8234) || '-' || char(8238) || char(8294) || '-'
    || char(8297) || ']*'
BEGIN
    SELECT raise(
        ABORT,
        'instruments: type, status or symbol not accepted (see rawdb.models: INSTRUMENT_TYPES, INSTRUMENT_STATUSES, Symbol)'
    );
END;

CREATE TRIGGER rawdb_instruments_checked_update
BEFORE UPDATE OF type, status, symbol ON instruments
WHEN new.type NOT IN ('future', 'index', 'internal', 'etf')
    OR new.status NOT IN ('active', 'inactive', 'error')
    OR new.symbol IS NOT trim(new.symbol)
    OR length(new.symbol) NOT BETWEEN 1 AND 10
    OR instr(cast(new.symbol AS BLOB), x'00') > 0
    OR new.symbol GLOB '*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159)
    || char(8232) || char(8233) || char(8234) || '-' || char(8238) || char(8294) || '-'
    || char(8297) || ']*'
BEGIN
    SELECT raise(
        ABORT,
        'instruments: type, status or symbol not accepted (see rawdb.models: INSTRUMENT_TYPES, INSTRUMENT_STATUSES, Symbol)'
    );
END;

CREATE TRIGGER rawdb_alert_rules_checked_insert
BEFORE INSERT ON alert_rules
WHEN new.rule_type NOT IN (
        'threshold', 'crossover', 'rate_of_change', 'volume_spike', 'moving_average',
        'multi_condition'
    )
    OR new.condition NOT IN (
        'above', 'below', 'equals', 'crosses_above', 'crosses_below', 'percent_change_up',
        'percent_change_down', 'volume_above'
    )
BEGIN
    SELECT raise(
        ABORT,
        'alert_rules: rule_type or condition outside rawdb.models.RULE_TYPES / RULE_CONDITIONS'
    );
END;

CREATE TRIGGER rawdb_alert_rules_checked_update
BEFORE UPDATE OF rule_type, condition ON alert_rules
WHEN new.rule_type NOT IN (
        'threshold', 'crossover', 'rate_of_change', 'volume_spike', 'moving_average',
        'multi_condition'
    )
    OR new.condition NOT IN (
        'above', 'below', 'equals', 'crosses_above', 'crosses_below', 'percent_change_up',
        'percent_change_down', 'volume_above'
    )
BEGIN
    SELECT raise(
        ABORT,
        'alert_rules: rule_type or condition outside rawdb.models.RULE_TYPES / RULE_CONDITIONS'
    );
END;
