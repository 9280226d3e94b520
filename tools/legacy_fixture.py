"""Build a real TradeAssist legacy database (Alembic revision 4524473b46fb) filled with data.

The schema is the one ``sql/migrations/0001_legacy_baseline.sql`` holds, byte for byte, with
its ``alembic_version`` row; the data look like months of a trading desk's use: instruments,
a random-walk tick stream (bid < price < ask, prices with 4 decimals, DATETIME as SQLAlchemy
writes it), alert rules, alert logs that point at those rules and instruments, daily and hourly
bars that satisfy the bar table's CHECK constraints, saved queries and data sources.

Usable as a module (tests import :func:`build` and :func:`table_checksums`) and as a script::

    python tools/legacy_fixture.py PATH --ticks 1000000 --months 6 --seed 7

Speed: everything is written in one transaction with ``executemany``, and the CREATE INDEX
statements run after the rows are in (a sorted index build instead of a B-tree insert per
row). The stored schema text is the same either way; only the order of the rows of
sqlite_schema differs, which neither adoption nor the canonical dump looks at. One million
ticks take about 15 s on the 2-core machine (5 s making rows in Python, 2 s inserting, 4 s
building the indexes).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "sql" / "migrations" / "0001_legacy_baseline.sql"
ALEMBIC_REVISION = "4524473b46fb"
START = datetime(2026, 3, 2)  # a Monday; futures trade around the clock
BATCH = 50_000
DAY_US = 86_400_000_000

# Bookkeeping tables of the migrator: not application data, left out of checksums.
BOOKKEEPING_PREFIX = "rawdb_"

# symbol, name, type, starting price, tick size
INSTRUMENTS = (
    ("ES", "E-mini S&P 500", "future", 5210.25, 0.25),
    ("NQ", "E-mini Nasdaq-100", "future", 18250.50, 0.25),
    ("YM", "E-mini Dow", "future", 39120.0, 1.0),
    ("RTY", "E-mini Russell 2000", "future", 2071.3, 0.1),
    ("CL", "Crude Oil", "future", 81.37, 0.01),
    ("GC", "Gold", "future", 2188.4, 0.1),
    ("6E", "Euro FX", "future", 1.0871, 0.00005),
    ("ZN", "10-Year T-Note", "future", 110.515625, 0.015625),
    ("SPX", "S&P 500 Index", "index", 5203.58, 0.01),
    ("VIX", "CBOE Volatility Index", "index", 14.33, 0.01),
    ("SPY", "SPDR S&P 500 ETF", "etf", 519.82, 0.01),
    ("QQQ", "Invesco QQQ Trust", "etf", 444.07, 0.01),
)
RULE_TYPES = ("threshold", "crossover", "rate_of_change", "volume_spike", "moving_average")
CONDITIONS = ("above", "below", "crosses_above", "crosses_below")
FIRED = ("fired", "fired", "fired", "suppressed", "error")
DELIVERY = ("delivered", "delivered", "delivered", "pending", "failed", "skipped")


@dataclass
class Summary:
    """What :func:`build` wrote."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def stamp(moment: datetime) -> str:
    """A DATETIME as SQLAlchemy stores it in SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def baseline_statements(path: Path = BASELINE) -> list[str]:
    """The statements of the baseline migration, split where SQLite says a statement ends."""
    statements: list[str] = []
    buffer = ""
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            body = "\n".join(
                part for part in buffer.strip().split("\n") if not part.startswith("--")
            ).strip()
            if body:
                statements.append(body)
            buffer = ""
    if buffer.strip() and any(not p.startswith("--") for p in buffer.strip().split("\n")):
        raise ValueError(f"{path}: unterminated statement at the end of the file")
    return statements


def create_schema(conn: sqlite3.Connection, *, indexes: bool = True) -> list[str]:
    """Run the baseline's tables and its alembic row; returns the CREATE INDEX statements.

    With ``indexes`` False the index statements are returned for the caller to run later.
    """
    deferred: list[str] = []
    for sql in baseline_statements():
        if sql.upper().startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")) and not indexes:
            deferred.append(sql)
            continue
        conn.execute(sql)
    return deferred


def _round(value: float) -> float:
    return round(value, 4)


def _ticks(
    rng: random.Random, count: int, months: int, instrument_ids: list[int]
) -> Iterator[tuple[object, ...]]:
    """Ticks in time order spread over ``months`` of 30 days, one random walk per instrument.

    Prices move in whole units of 0.0001 (so each is exactly a 4-decimal value when divided
    back), and one 64-bit draw per tick feeds every random choice: a million ticks in seconds.
    """
    span_us = 30 * months * DAY_US
    mean_gap = span_us / max(count, 1)
    walk = {i: float(INSTRUMENTS[i - 1][3]) for i in instrument_ids}
    floor = {i: max(round(INSTRUMENTS[i - 1][4] * 40_000), 1) for i in instrument_ids}
    half_spreads = {
        i: [max(round(INSTRUMENTS[i - 1][4] * 10_000 * k), 1) for k in (0.5, 0.5, 1.0, 1.5)]
        for i in instrument_ids
    }
    sessions: dict[int, list[int]] = {}
    days: dict[int, str] = {}
    n_ids = len(instrument_ids)
    now = 0.0
    for tick_id in range(1, count + 1):
        bits = rng.getrandbits(64)
        now += mean_gap * (0.2 + 1.6 * (bits & 0x3FF) / 1023)
        instrument = instrument_ids[((bits >> 10) & 0xFFFF) % n_ids]
        # a multiplicative step of -4..+4 basis points, never below four ticks
        level = walk[instrument] * (1.0 + (((bits >> 26) & 0xFFF) - 2048) / 5_120_000)
        walk[instrument] = level
        price = max(round(level * 10_000), floor[instrument])
        half = half_spreads[instrument][(bits >> 38) & 3]
        micros = int(now)
        day, rest = divmod(micros, DAY_US)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (START + timedelta(days=day)).strftime("%Y-%m-%d ")
        seconds, fraction = divmod(rest, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        session = sessions.get(instrument)
        if session is None or session[0] != day:
            session = sessions[instrument] = [day, price, price, price]
        elif price > session[2]:
            session[2] = price
        elif price < session[3]:
            session[3] = price
        with_ohlc = (bits >> 40) & 7 != 0
        yield (
            tick_id,
            f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{fraction:06d}",
            instrument,
            price / 10_000,
            ((bits >> 43) & 31) + 1,
            (price - half) / 10_000,
            (price + half) / 10_000,
            ((bits >> 48) & 255) + 1,
            ((bits >> 56) & 255) + 1,
            session[1] / 10_000 if with_ohlc else None,
            session[2] / 10_000 if with_ohlc else None,
            session[3] / 10_000 if with_ohlc else None,
        )


def build(
    path: Path | str,
    *,
    ticks: int = 50_000,
    months: int = 4,
    seed: int = 7,
    instruments: int = 10,
) -> Summary:
    """Write a new legacy database at ``path`` (which must not exist) and say what it holds."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} exists; the fixture writes a new file only")
    if not 1 <= instruments <= len(INSTRUMENTS):
        raise ValueError(f"instruments must be 1..{len(INSTRUMENTS)}, got {instruments}")
    if ticks < 0 or months < 1:
        raise ValueError("ticks must be >= 0 and months >= 1")
    started = time.perf_counter()
    rng = random.Random(seed)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # a fixture: rebuilt, never recovered
        conn.execute("BEGIN")
        deferred = create_schema(conn, indexes=False)
        ids = list(range(1, instruments + 1))
        created = START - timedelta(days=90)
        _sources(conn, created)
        _queries(conn, rng, created)
        _instruments(conn, ids, created)
        rules = _rules(conn, rng, ids, created)
        insert = "INSERT INTO market_data VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        batch: list[tuple[object, ...]] = []
        last: dict[int, tuple[str, float]] = {}
        for row in _ticks(rng, ticks, months, ids):
            batch.append(row)
            last[row[2]] = (row[1], row[3])
            if len(batch) >= BATCH:
                conn.executemany(insert, batch)
                batch.clear()
        conn.executemany(insert, batch)
        conn.executemany(
            "UPDATE instruments SET last_tick = ?, last_price = ? WHERE id = ?",
            [(when, price, instrument) for instrument, (when, price) in last.items()],
        )
        _alert_logs(conn, rng, rules, max(ticks // 25, 50), months)
        _bars(conn, rng, ids, months)
        for sql in deferred:
            conn.execute(sql)
        conn.execute("COMMIT")
        rows = {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in user_tables(conn)
        }
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
        target.unlink(missing_ok=True)
        raise
    conn.close()
    return Summary(target, rows, time.perf_counter() - started)


def _sources(conn: sqlite3.Connection, created: datetime) -> None:
    rows = [
        (1, "CQG", "market_data_feed", "https://api.cqg.example", "cqg-api-key", 600, 1, None),
        (2, "Schwab", "broker", "https://api.schwab.example", "schwab-oauth", 120, 1, None),
        (3, "CSV import", "file", None, None, 60, 0, '{"delimiter": ","}'),
    ]
    conn.executemany(
        "INSERT INTO data_source VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, stamp(created), stamp(created)) for row in rows],
    )


def _queries(conn: sqlite3.Connection, rng: random.Random, created: datetime) -> None:
    rows = []
    for query_id, (name, symbols) in enumerate(
        (("Index futures", "ES,NQ,YM,RTY"), ("Energy", "CL"), ("Metals", "GC"), ("FX", "6E")),
        start=1,
    ):
        rows.append(
            (
                query_id,
                name,
                f"Saved query for {name.lower()}",
                symbols,
                stamp(created),
                None,
                rng.choice(("1m", "5m", "1h", "1d")),
                None,
                query_id % 2,
                stamp(created + timedelta(days=query_id)),
                rng.randint(0, 400),
                rng.randint(5, 900),
                "futures" if query_id < 3 else None,
                stamp(created),
                stamp(created),
            )
        )
    conn.executemany(
        "INSERT INTO data_query VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def _instruments(conn: sqlite3.Connection, ids: list[int], created: datetime) -> None:
    rows = []
    for instrument in ids:
        symbol, name, kind, _price, _tick = INSTRUMENTS[instrument - 1]
        status = "inactive" if symbol == "VIX" else "active"
        rows.append(
            (instrument, symbol, name, kind, status, None, None, stamp(created), stamp(created))
        )
    conn.executemany("INSERT INTO instruments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _rules(
    conn: sqlite3.Connection, rng: random.Random, ids: list[int], created: datetime
) -> list[tuple[int, int, str, float]]:
    """Two to four rules per instrument; returns (rule id, instrument id, condition, threshold)."""
    rules: list[tuple[int, int, str, float]] = []
    rows = []
    for instrument in ids:
        symbol, _name, _kind, price, _tick = INSTRUMENTS[instrument - 1]
        for _ in range(rng.randint(2, 4)):
            rule_id = len(rules) + 1
            rule_type = rng.choice(RULE_TYPES)
            condition = rng.choice(CONDITIONS)
            threshold = _round(price * rng.uniform(0.97, 1.03))
            rules.append((rule_id, instrument, condition, threshold))
            rows.append(
                (
                    rule_id,
                    instrument,
                    rule_type,
                    condition,
                    threshold,
                    1 if rng.random() < 0.8 else 0,
                    f"{symbol} {condition.replace('_', ' ')} {threshold:g}",
                    None if rng.random() < 0.5 else f"{rule_type} alert for {symbol}",
                    rng.choice((None, 60, 300, 900)),
                    rng.choice((None, 20, 50, 200)) if rule_type == "moving_average" else None,
                    rng.choice((30, 60, 300)),
                    None,
                    stamp(created),
                    stamp(created),
                )
            )
    conn.executemany(
        "INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    return rules


def _alert_logs(
    conn: sqlite3.Connection,
    rng: random.Random,
    rules: list[tuple[int, int, str, float]],
    count: int,
    months: int,
) -> None:
    span = timedelta(days=30 * months)
    moments = sorted(START + span * rng.random() for _ in range(count))
    rows = []
    last_fired: dict[int, str] = {}
    for log_id, moment in enumerate(moments, start=1):
        rule_id, instrument, condition, threshold = rng.choice(rules)
        fired = rng.choice(FIRED)
        delivery = "skipped" if fired != "fired" else rng.choice(DELIVERY)
        trigger = _round(threshold * rng.uniform(0.995, 1.005))
        attempted = stamp(moment + timedelta(milliseconds=rng.randint(5, 80)))
        completed = (
            stamp(moment + timedelta(milliseconds=rng.randint(90, 900)))
            if delivery == "delivered"
            else None
        )
        if fired == "fired":
            last_fired[rule_id] = stamp(moment)
        rows.append(
            (
                log_id,
                stamp(moment),
                rule_id,
                instrument,
                trigger,
                threshold,
                fired,
                delivery,
                rng.randint(0, 40),
                condition,
                f"rule {rule_id}: value {trigger:g} {condition.replace('_', ' ')} {threshold:g}",
                "delivery timed out after 5000 ms" if delivery == "failed" else None,
                attempted if delivery != "skipped" else None,
                completed,
            )
        )
    conn.executemany(
        "INSERT INTO alert_logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    conn.executemany(
        "UPDATE alert_rules SET last_triggered = ? WHERE id = ?",
        [(when, rule_id) for rule_id, when in last_fired.items()],
    )


def _bars(conn: sqlite3.Connection, rng: random.Random, ids: list[int], months: int) -> None:
    """Daily bars from two sources and hourly bars from one, all within the CHECKs."""
    rows = []
    bar_id = 0
    days = 30 * months
    for instrument in ids:
        symbol, _name, _kind, price, tick = INSTRUMENTS[instrument - 1]
        for frequency, source, count, step in (
            ("1d", 1, days, timedelta(days=1)),
            ("1d", 2, days, timedelta(days=1)),
            ("1h", 1, min(days * 7, 2_000), timedelta(hours=1)),
        ):
            level = price
            for n in range(count):
                open_price = max(level, tick * 4)
                close_price = max(open_price * (1 + rng.gauss(0, 0.006)), tick * 4)
                high = max(open_price, close_price) * (1 + abs(rng.gauss(0, 0.002)))
                low = min(open_price, close_price) * (1 - abs(rng.gauss(0, 0.002)))
                level = close_price
                bar_id += 1
                moment = START + step * n
                rows.append(
                    (
                        bar_id,
                        symbol,
                        stamp(moment),
                        frequency,
                        _round(open_price),
                        _round(max(high, open_price, close_price)),
                        _round(min(low, open_price, close_price)),
                        _round(close_price),
                        rng.randint(0, 2_000_000),
                        rng.randint(100_000, 3_000_000) if symbol != "SPX" else None,
                        "2026M06"
                        if frequency == "1d" and INSTRUMENTS[instrument - 1][2] == "future"
                        else None,
                        source,
                        rng.randint(0, 1),
                        rng.choice((None, rng.randint(60, 100))),
                        stamp(moment + timedelta(minutes=5)),
                        stamp(moment + timedelta(minutes=5)),
                    )
                )
    conn.executemany(
        "INSERT INTO market_data_bar VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def user_tables(conn: sqlite3.Connection) -> list[str]:
    """The application's tables: neither SQLite's own nor the migrator's bookkeeping."""
    names = conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [n[0] for n in names if not n[0].startswith(BOOKKEEPING_PREFIX)]


def _canonical(value: object) -> str:
    """One value as text that survives a change of declared type but not of the value itself.

    An integral float and the equal integer give the same text (NUMERIC affinity stores 101.0
    as INTEGER 101, REAL affinity as REAL 101.0: the same price); anything else keeps its type.
    """
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return f"n{int(value)}"
        return f"r{value!r}"
    if isinstance(value, int):
        return f"n{value}"
    if isinstance(value, bytes):
        return f"b{value.hex()}"
    return f"t{value}"


def table_checksum(conn: sqlite3.Connection, table: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of one table.

    Each row is the sorted set of its non-NULL (column, value) pairs, hashed with BLAKE2b; the
    checksum is the sum of the row hashes modulo 2**128, so row order, column order and an added
    all-NULL column (a new nullable ``deleted_at``) do not change it, while any changed, lost or
    extra value does.
    """
    cursor = conn.execute(f'SELECT * FROM "{table}"')
    names = [d[0] for d in cursor.description]
    order = sorted(range(len(names)), key=names.__getitem__)
    total = 0
    count = 0
    for row in cursor:
        count += 1
        text = "\x1f".join(f"{names[i]}={_canonical(row[i])}" for i in order if row[i] is not None)
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
        total = (total + int.from_bytes(digest, "big")) % 2**128
    return count, f"{total:032x}"


def table_checksums(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """:func:`table_checksum` of every application table, by name."""
    return {name: table_checksum(conn, name) for name in user_tables(conn)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="database file to create (must not exist)")
    parser.add_argument("--ticks", type=int, default=50_000, help="market_data rows")
    parser.add_argument("--months", type=int, default=4, help="months the ticks span")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same file)")
    parser.add_argument("--instruments", type=int, default=10, help=f"1..{len(INSTRUMENTS)}")
    args = parser.parse_args(argv)
    try:
        summary = build(
            args.path,
            ticks=args.ticks,
            months=args.months,
            seed=args.seed,
            instruments=args.instruments,
        )
    except (FileExistsError, ValueError) as exc:
        print(f"legacy_fixture: {exc}", file=sys.stderr)
        return 2
    for name, rows in sorted(summary.rows.items()):
        print(f"{name:20} {rows:>10,}")
    print(f"built {summary.path} in {summary.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
