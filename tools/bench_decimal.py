"""DECIMAL vs FLOAT for prices: Python arithmetic, SQL arithmetic, and what SQL gets wrong.

    python tools/bench_decimal.py [--rows N] [--rounds K] [--json]

The seeds say "FLOAT is 2-3x faster than DECIMAL". Measured here in one run, the paths taking
turns batch by batch (the order flips every batch), on the same --rows prices:

- Python: percentage changes between consecutive prices and a VWAP, the same function on
  ``decimal.Decimal`` prices and on ``float`` prices. Ratio: Decimal time / float time.
- SQL: ``(price - prev) / prev * 100`` (prev by ``lag``) and a VWAP, on a column declared
  ``DECIMAL(10, 4)`` (NUMERIC affinity, as the legacy schema has) and on ``REAL`` (what
  migration 0004 makes). Ratio: DECIMAL column time / REAL column time.
- Correctness: the prices bound as the legacy ORM binds them (SQLAlchemy passes a Decimal to
  SQLite as a float), NUMERIC affinity stores the whole ones as INTEGER; where a price and the
  one before are both INTEGER the division is an integer division. Counted: changes from the
  DECIMAL column more than 1e-9 away from Python's float result, and the share of INTEGER.

The prices are a seeded random walk on a 1/16 grid (4 decimals: 4500.0625), so about one in
16 is whole, as a feed of sixteenth ticks gives.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10_000
TOLERANCE = 1e-9
# Each column in a table of its own, prices_decimal and prices_real.
COLUMNS = {"decimal": "DECIMAL(10, 4)", "real": "REAL"}
CHANGES = (
    "SELECT (price - prev) / prev * 100 FROM "
    "(SELECT id, price, lag(price) OVER (ORDER BY id) AS prev FROM {table} "
    "WHERE id BETWEEN ? AND ?) WHERE prev IS NOT NULL ORDER BY id"
)
VWAP = "SELECT total(price * volume) / total(volume) FROM {table} WHERE id BETWEEN ? AND ?"


def prices(count: int, seed: int = 11) -> tuple[list[float], list[int]]:
    """A random walk around 4500 in sixteenths (about one point a move) and its volumes."""
    rng = random.Random(seed)
    sixteenths = 4500 * 16
    out: list[float] = []
    for _ in range(count):
        sixteenths = max(16, sixteenths + round(rng.gauss(0, 16)))
        out.append(sixteenths / 16)  # exact in binary and in 4 decimals
    return out, [rng.randint(1, 50) for _ in range(count)]


def changes(values: Sequence[Any]) -> list[Any]:
    """Percentage change of each price from the one before: for Decimal and float alike."""
    return [(price - prev) / prev * 100 for prev, price in itertools.pairwise(values)]


def vwap(values: Sequence[Any], volumes: Sequence[int]) -> Any:
    return sum(price * volume for price, volume in zip(values, volumes, strict=True)) / sum(volumes)


def ratios(spent: dict[tuple[str, str], float], over: str, under: str) -> dict[str, Any]:
    """Seconds per path and ``over`` time / ``under`` time, whole and per computation."""
    total = {name: sum(s for (n, _), s in spent.items() if n == name) for name in (over, under)}
    return {
        f"{over}_s": round(total[over], 3),
        f"{under}_s": round(total[under], 3),
        f"{over}_vs_{under}": round(total[over] / total[under], 2),
        "by_computation": {
            what: round(spent[over, what] / spent[under, what], 2) for what in ("changes", "vwap")
        },
    }


def python_arithmetic(floats: list[float], volumes: list[int], rounds: int) -> dict[str, Any]:
    """Seconds of changes and vwap on Decimal and on float prices, taking turns batch by batch."""
    decimals = [Decimal(f"{value:.4f}") for value in floats]
    paths = {"decimal": decimals, "float": floats}
    spent = {(name, what): 0.0 for name in paths for what in ("changes", "vwap")}
    turn = 0
    for _ in range(rounds):
        for start in range(0, len(floats), BATCH):
            end = start + BATCH
            found = {}
            for name in list(paths) if turn % 2 else list(paths)[::-1]:
                values = paths[name]
                began = time.perf_counter()
                changes(values[max(0, start - 1) : end])
                middle = time.perf_counter()
                found[name] = vwap(values[start:end], volumes[start:end])
                spent[name, "vwap"] += time.perf_counter() - middle
                spent[name, "changes"] += middle - began
            turn += 1
            # Both computed the same figure: the timing compares like with like.
            if abs(float(found["decimal"]) - found["float"]) > TOLERANCE:
                raise RuntimeError("Decimal and float VWAPs differ")
    return ratios(spent, "decimal", "float")


def load(path: Path, floats: list[float], volumes: list[int]) -> sqlite3.Connection:
    """Both tables with the same prices, bound as the legacy ORM binds them."""
    conn = sqlite3.connect(path, isolation_level=None)
    decimals = [Decimal(f"{value:.4f}") for value in floats]
    for kind, declared in COLUMNS.items():
        table = f"prices_{kind}"
        conn.execute(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, price {declared}, volume INTEGER)"
        )
        # SQLAlchemy's Numeric on SQLite binds float(Decimal): no TEXT reaches the column.
        bound = [float(d) for d in decimals] if kind == "decimal" else floats
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {table} (id, price, volume) VALUES (?, ?, ?)",
            zip(range(1, len(floats) + 1), bound, volumes, strict=True),
        )
        conn.execute("COMMIT")
    return conn


def sql_arithmetic(conn: sqlite3.Connection, count: int, rounds: int) -> dict[str, Any]:
    """Seconds of the percentage-change query, and of a VWAP (arithmetic with no window and
    one row out), on each table, taking turns batch by batch."""
    spent = {(kind, what): 0.0 for kind in COLUMNS for what in ("changes", "vwap")}
    kinds = list(COLUMNS)
    turn = 0
    for _ in range(rounds):
        for start in range(0, count, BATCH):
            end = start + BATCH
            for kind in kinds if turn % 2 else kinds[::-1]:
                table = f"prices_{kind}"
                began = time.perf_counter()
                conn.execute(CHANGES.format(table=table), (max(1, start), end)).fetchall()
                middle = time.perf_counter()
                conn.execute(VWAP.format(table=table), (start + 1, end)).fetchone()
                spent[kind, "vwap"] += time.perf_counter() - middle
                spent[kind, "changes"] += middle - began
            turn += 1
    return ratios(spent, "decimal", "real")


def correctness(conn: sqlite3.Connection, floats: list[float]) -> dict[str, Any]:
    """Changes from each table against Python's float result, and how the prices are stored."""
    truth = [(price - prev) / prev * 100 for prev, price in itertools.pairwise(floats)]
    every = (1, len(floats))
    out: dict[str, Any] = {"changes": len(truth)}
    for kind in COLUMNS:
        table = f"prices_{kind}"
        got = [row[0] for row in conn.execute(CHANGES.format(table=table), every)]
        pairs = enumerate(zip(got, truth, strict=True))
        wrong = [n for n, (sql, exact) in pairs if abs(sql - exact) > TOLERANCE]
        share = conn.execute(f"SELECT avg(typeof(price) = 'integer') FROM {table}").fetchone()[0]
        out[kind] = {"stored_as_integer": round(share, 4), "wrong_changes": len(wrong)}
        if wrong and kind == "decimal":
            n = wrong[0]
            prev, price = conn.execute(
                f"SELECT (SELECT price FROM {table} WHERE id = ?), price FROM {table} WHERE id = ?",
                (n + 1, n + 2),
            ).fetchone()
            out["example"] = {"prev": prev, "price": price, "sql": got[n], "float": truth[n]}
    return out


def decimal_vs_float(work: Path, count: int = 200_000, rounds: int = 4) -> dict[str, Any]:
    """The DECIMAL part of the benchmark: ratios (baselines float and REAL) and wrong rows."""
    floats, volumes = prices(count)
    python = python_arithmetic(floats, volumes, rounds)
    with closing(load(work / "decimal.sqlite3", floats, volumes)) as conn:
        sql = sql_arithmetic(conn, count, rounds)
        checked = correctness(conn, floats)
    return {
        "rows": count,
        "batch": BATCH,
        "python": python,
        "sql": sql,
        "stored_as_integer": checked["decimal"]["stored_as_integer"],
        "changes": checked["changes"],
        "wrong_changes": checked["decimal"]["wrong_changes"],
        "wrong_changes_real": checked["real"]["wrong_changes"],
        "example": checked.get("example"),
    }


def row(part: dict[str, Any]) -> str:
    """The one line bench.py prints."""
    return (
        f"DECIMAL vs FLOAT: Python {part['python']['decimal_vs_float']:.1f}x slower "
        f"(Decimal / float time), SQL {part['sql']['decimal_vs_real']:.2f}x "
        f"(DECIMAL / REAL column time), {part['stored_as_integer']:.1%} stored as INTEGER, "
        f"{part['wrong_changes']:,} of {part['changes']:,} percentage changes wrong"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="prices")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the prices")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rawdb-bench-", dir=ROOT) as scratch:
        result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
        result.update(decimal_vs_float(Path(scratch), args.rows, args.rounds))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['date']}, {args.rows:,} prices, {BATCH:,} per turn")
        print(row(result))
        print(f"wrong change, e.g.: {result['example']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
