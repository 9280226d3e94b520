"""The shipped schema history on real TradeAssist data: every row kept, every rollback exact."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rawdb.errors import MigrationFailed
from rawdb.migrate import Migrator, discover, shipped_root
from rawdb.migrate.review import round_trip, table_digests
from rawdb.migrate.schema import dump

from conftest import ROOT, schema_rows

REFERENCE = ROOT.parent / "shared" / "reference" / "tradeassist_legacy_schema.sql"
NEWEST = discover(shipped_root()).newest
UNPARTITIONED = 8  # 0009 turns market_data and alert_logs into views over period tables
PRICE_COLUMNS = {
    "market_data": ("price", "bid", "ask", "open_price", "high_price", "low_price"),
    "alert_logs": ("trigger_value", "threshold_value"),
}
LATEST_TICK = "SELECT id FROM market_data WHERE instrument_id = ? ORDER BY timestamp DESC LIMIT 1"


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def migrator(path: Path) -> Migrator:
    return Migrator(path, shipped_root(), backup=False)


def schema_dump(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return dump(conn)


def indexes(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? "
            "AND name NOT LIKE 'sqlite_autoindex_%'",
            (table,),
        ).fetchall()
    return {r[0] for r in rows}


def declared_types(path: Path, table: str) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})")}


def fresh(tmp_path: Path, to: int, name: str = "fresh.sqlite3") -> Path:
    path = tmp_path / name
    migrator(path).up(to=to)
    return path


def test_baseline_is_the_reference_schema_byte_for_byte(tmp_path: Path) -> None:
    """A fresh 0001 stores exactly the CREATE statements of the TradeAssist reference dump."""
    if not REFERENCE.exists():
        pytest.skip(f"reference dump not beside the checkout ({REFERENCE.name})")
    text = REFERENCE.read_text()
    expected = [
        s.strip() for s in text[text.index("CREATE TABLE instruments") :].split(";") if s.strip()
    ]
    with sqlite3.connect(fresh(tmp_path, 1)) as conn:
        stored = [r[0] for r in conn.execute("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL")]
    assert sorted(s for s in stored if "rawdb_" not in s) == sorted(expected)


def test_baseline_holds_the_legacy_shape(tmp_path: Path) -> None:
    """0001: eight tables, 27 indexes, four CASCADE keys and the Alembic row."""
    path = fresh(tmp_path, 1)
    rows = schema_rows(path)
    assert len([r for r in rows if r[0] == "table"]) == 8
    assert len([r for r in rows if r[0] == "index"]) == 27
    assert sum(r[2].count("ON DELETE CASCADE") for r in rows) == 4
    assert len(indexes(path, "market_data")) == 5
    assert len(indexes(path, "alert_logs")) == 10
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("4524473b46fb",)
        ]


def test_legacy_fixture_is_realistic(legacy_template: Path) -> None:
    """The fixture holds months of ticks with 4-decimal prices, bid < ask, and consistent logs."""
    with sqlite3.connect(legacy_template) as conn:
        first, last, ticks = conn.execute(
            "SELECT min(timestamp), max(timestamp), count(*) FROM market_data"
        ).fetchone()
        assert ticks >= 40_000
        assert first[:7] <= "2026-03" and last[:7] >= "2026-06"
        assert len(first) == len("2026-03-02 00:00:00.000000")
        assert conn.execute("SELECT count(*) FROM market_data WHERE bid >= ask").fetchone()[0] == 0
        prices = [r[0] for r in conn.execute("SELECT price FROM market_data LIMIT 5000")]
        assert all(abs(p * 10_000 - round(p * 10_000)) < 1e-6 for p in prices)
        assert conn.execute(
            "SELECT count(*) FROM alert_logs l JOIN alert_rules r ON r.id = l.rule_id "
            "WHERE r.instrument_id <> l.instrument_id"
        ).fetchone() == (0,)
        for table in ("alert_rules", "alert_logs", "market_data_bar", "instruments"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_legacy_fixture_cli_builds_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """The fixture script writes a new database and exits 2 rather than overwrite one."""
    target = tmp_path / "cli.sqlite3"
    command = [sys.executable, str(ROOT / "tools" / "legacy_fixture.py"), str(target)]
    done = subprocess.run(
        [*command, "--ticks", "2000", "--months", "1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "market_data" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 2
    assert "exists" in again.stderr


def test_checksum_sees_values_not_order_or_null_columns(tmp_path: Path, legacy_tool) -> None:
    """The table checksum ignores row order and all-NULL columns but not a changed value."""
    conn = sqlite3.connect(tmp_path / "c.sqlite3")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, price NUMERIC)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 1.5), (2, 2.0), (3, None)])
    base = legacy_tool.table_checksum(conn, "t")
    conn.execute("CREATE TABLE u (price REAL, id INTEGER PRIMARY KEY, deleted_at TEXT)")
    conn.execute("INSERT INTO u (id, price) SELECT id, price FROM t ORDER BY id DESC")
    assert legacy_tool.table_checksum(conn, "u") == base
    conn.execute("UPDATE u SET price = 1.5001 WHERE id = 1")
    assert legacy_tool.table_checksum(conn, "u") != base
    conn.close()


def test_migrated_legacy_database_keeps_every_row(legacy_db: Path, legacy_tool) -> None:
    """Adopt, migrate to the newest version, then move the rows into monthly and quarterly
    tables: every row of every table is still there, value for value, and the checks are clean."""
    with sqlite3.connect(legacy_db) as conn:
        before = legacy_tool.table_checksums(conn)
    result = migrator(legacy_db).up()
    assert result.baselined == 1
    assert result.done == list(range(2, NEWEST + 1))

    def by_name() -> dict[str, tuple[int, str]]:
        # market_data and alert_logs are views over their partitions from 0009 on
        conn = connect(legacy_db)
        try:
            return {name: legacy_tool.table_checksum(conn, name) for name in before}
        finally:
            conn.close()

    assert by_name() == before
    subprocess.run(
        [sys.executable, "-m", "rawdb.partitions", "--db", str(legacy_db), "move"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with sqlite3.connect(legacy_db) as conn:
        left = conn.execute("SELECT count(*) FROM market_data_default").fetchone()[0]
        months = conn.execute(
            "SELECT count(*) FROM rawdb_partitions WHERE family = 'market_data' "
            "AND state = 'active'"
        ).fetchone()[0]
    assert left == 0
    assert months >= 4
    assert by_name() == before
    assert sum(count for count, _ in before.values()) > 50_000
    with sqlite3.connect(legacy_db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_prices_stay_within_a_ten_thousandth(
    legacy_db: Path, legacy_template: Path, tmp_path: Path
) -> None:
    """Every converted price equals its legacy value within 1e-4, row by row, NULLs kept."""
    migrator(legacy_db).up()
    conn = sqlite3.connect(legacy_db)
    conn.execute("ATTACH DATABASE ? AS legacy", (f"file:{legacy_template}?mode=ro",))
    for table, columns in PRICE_COLUMNS.items():
        assert (
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            == conn.execute(f"SELECT count(*) FROM legacy.{table}").fetchone()
        )
        for column in columns:
            off = conn.execute(
                f"SELECT count(*) FROM {table} n JOIN legacy.{table} o USING (id) "
                f"WHERE (n.{column} IS NULL) <> (o.{column} IS NULL) "
                f"OR abs(n.{column} - o.{column}) > 1e-4 OR typeof(n.{column}) "
                "NOT IN ('real', 'null')"
            ).fetchone()[0]
            assert off == 0, f"{table}.{column}: {off} rows differ"
    conn.close()


def test_down_to_baseline_gives_back_the_reference_schema_and_rows(
    legacy_db: Path, tmp_path: Path
) -> None:
    """Newest then down to 1: schema text identical to a fresh 0001, rows identical with types."""
    with sqlite3.connect(legacy_db) as conn:
        before = table_digests(conn)
    migrator(legacy_db).up()
    migrator(legacy_db).down(to=1)
    reference = fresh(tmp_path, 1)
    assert schema_rows(legacy_db) == schema_rows(reference)
    assert schema_dump(legacy_db) == schema_dump(reference)
    with sqlite3.connect(legacy_db) as conn:
        assert table_digests(conn) == before
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_every_step_round_trips_with_data(legacy_db: Path) -> None:
    """Each of 0002..0007 on the adopted data: up, down, up gives identical schema and rows."""
    migrator(legacy_db).up(to=1)
    assert round_trip(shipped_root(), database=legacy_db) == []


def test_rebuilt_tables_keep_their_own_names(legacy_db: Path) -> None:
    """No rebuild leaves a quoted name, a leftover copy, or a key pointing at a missing table."""
    migrator(legacy_db).up(to=UNPARTITIONED)
    rows = schema_rows(legacy_db)
    names = {name for kind, name, _sql in rows if kind == "table"}
    for kind, name, sql in rows:
        if kind == "table":
            assert sql.startswith(f"CREATE TABLE {name} ("), sql[:40]
    assert not [n for n in names if n.endswith(("_decimal", "_cascade", "_real", "_restrict"))]
    with sqlite3.connect(legacy_db) as conn:
        for table in names:
            for key in conn.execute(f"PRAGMA foreign_key_list({table})"):
                assert key[2] in names, f"{table} references missing {key[2]}"


def test_no_cascade_left_in_the_final_schema(legacy_db: Path) -> None:
    """Every foreign key of the newest schema is RESTRICT on delete; none cascades."""
    migrator(legacy_db).up(to=UNPARTITIONED)
    with sqlite3.connect(legacy_db) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        keys = {
            (table, key[3], key[2]): (key[5], key[6])
            for table in tables
            for key in conn.execute(f"PRAGMA foreign_key_list({table})")
        }
    assert keys, "the schema has foreign keys"
    assert not [k for k, actions in keys.items() if "CASCADE" in actions]
    for former in (
        ("alert_rules", "instrument_id", "instruments"),
        ("market_data", "instrument_id", "instruments"),
        ("alert_logs", "instrument_id", "instruments"),
        ("alert_logs", "rule_id", "alert_rules"),
    ):
        assert keys[former][1] == "RESTRICT", former
    legacy_bar_key = keys[("market_data_bar", "data_source_id", "data_source")]
    assert legacy_bar_key == ("NO ACTION", "NO ACTION")  # never was CASCADE; left as it was
    assert not [
        k for k, (_upd, on_delete) in keys.items() if on_delete not in {"RESTRICT", "NO ACTION"}
    ]


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ("instruments", "id = (SELECT instrument_id FROM market_data LIMIT 1)"),
        ("alert_rules", "id = (SELECT rule_id FROM alert_logs LIMIT 1)"),
    ],
)
def test_deleting_a_parent_with_children_is_refused(
    legacy_db: Path, legacy_tool, table: str, where: str
) -> None:
    """Deleting an instrument with ticks or a rule with logs fails and deletes nothing."""
    migrator(legacy_db).up()
    conn = connect(legacy_db)
    before = legacy_tool.table_checksums(conn)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        conn.execute(f"DELETE FROM {table} WHERE {where}")
    assert legacy_tool.table_checksums(conn) == before
    conn.close()


def test_legacy_schema_still_cascades(legacy_db: Path) -> None:
    """The reason for 0005: at version 1 deleting an instrument silently deletes its ticks."""
    conn = connect(legacy_db)
    instrument, ticks = conn.execute(
        "SELECT instrument_id, count(*) FROM market_data GROUP BY 1 LIMIT 1"
    ).fetchone()
    assert ticks > 0
    conn.execute("DELETE FROM instruments WHERE id = ?", (instrument,))
    assert conn.execute(
        "SELECT count(*) FROM market_data WHERE instrument_id = ?", (instrument,)
    ).fetchone() == (0,)
    conn.close()


def test_soft_delete_columns_are_nullable_and_indexed(legacy_db: Path) -> None:
    """0005 adds a nullable, indexed deleted_at to market_data and alert_logs, all NULL."""
    migrator(legacy_db).up(to=5)
    with sqlite3.connect(legacy_db) as conn:
        for table in ("market_data", "alert_logs"):
            column = [
                c for c in conn.execute(f"PRAGMA table_info({table})") if c[1] == "deleted_at"
            ]
            assert column and column[0][3] == 0, table  # notnull = 0
            indexed = [
                name
                for (_seq, name, *_rest) in conn.execute(f"PRAGMA index_list({table})")
                if [c[2] for c in conn.execute(f"PRAGMA index_info({name})")] == ["deleted_at"]
            ]
            assert indexed == [f"ix_{table}_deleted_at"]
            assert conn.execute(
                f"SELECT count(*) FROM {table} WHERE deleted_at IS NOT NULL"
            ).fetchone() == (0,)


def test_rollback_of_soft_delete_refuses_to_revive_rows(legacy_db: Path, legacy_tool) -> None:
    """Down past 0005 with a soft-deleted tick fails, names the guard, and keeps the rows."""
    migrator(legacy_db).up(to=5)
    with connect(legacy_db) as conn:
        conn.execute(
            "UPDATE market_data SET deleted_at = '2026-11-21 10:00:00.000000' WHERE id = 7"
        )
    with sqlite3.connect(legacy_db) as conn:
        before = legacy_tool.table_checksums(conn)
    with pytest.raises(MigrationFailed, match="rollback_refused_soft_deleted_rows"):
        migrator(legacy_db).down(to=4)
    assert migrator(legacy_db).current() == 5
    with sqlite3.connect(legacy_db) as conn:
        assert legacy_tool.table_checksums(conn) == before
        assert conn.execute("SELECT deleted_at FROM market_data WHERE id = 7").fetchone() == (
            "2026-11-21 10:00:00.000000",
        )


def test_index_budgets_at_each_step(tmp_path: Path) -> None:
    """market_data 5 -> 2 (0002), alert_logs 10 -> 4 (0003), the 0007 swap, deleted_at (0005)."""
    path = tmp_path / "steps.sqlite3"
    m = migrator(path)
    m.up(to=2)
    assert indexes(path, "market_data") == {
        "ix_market_data_timestamp_instrument",
        "ix_market_data_instrument_price",
    }
    m.up(to=3)
    assert indexes(path, "alert_logs") == {
        "ix_alert_logs_timestamp",
        "ix_alert_logs_rule_timestamp",
        "ix_alert_logs_instrument",
        "ix_alert_logs_status",
    }
    m.up(to=4)
    assert len(indexes(path, "market_data")) == 2 and len(indexes(path, "alert_logs")) == 4
    assert len(indexes(path, "alert_rules")) == 5
    m.up(to=UNPARTITIONED)
    assert indexes(path, "market_data") == {
        "ix_market_data_timestamp_instrument",
        "ix_market_data_instrument_timestamp",
        "ix_market_data_deleted_at",
    }
    assert indexes(path, "alert_logs") == {
        "ix_alert_logs_timestamp",
        "ix_alert_logs_rule_timestamp",
        "ix_alert_logs_instrument",
        "ix_alert_logs_status",
        "ix_alert_logs_deleted_at",
    }


def test_decimal_columns_become_real_and_come_back(tmp_path: Path) -> None:
    """0004 declares the eight price columns REAL; its rollback declares DECIMAL(12, 4) again."""
    path = tmp_path / "types.sqlite3"
    m = migrator(path)
    m.up(to=4)
    for table, columns in PRICE_COLUMNS.items():
        types = declared_types(path, table)
        assert {types[c] for c in columns} == {"REAL"}, table
    m.down(to=3)
    for table, columns in PRICE_COLUMNS.items():
        types = declared_types(path, table)
        assert {types[c] for c in columns} == {"DECIMAL(12, 4)"}, table


def test_latest_tick_is_one_seek_after_0007(legacy_db: Path) -> None:
    """At 0006 the latest tick of an instrument needs a sort; at 0007 it is an index seek."""
    m = migrator(legacy_db)
    m.up(to=6)
    with sqlite3.connect(legacy_db) as conn:
        plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {LATEST_TICK}", (1,)))
    assert "TEMP B-TREE" in plan
    m.up()
    with sqlite3.connect(legacy_db) as conn:
        plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {LATEST_TICK}", (1,)))
        expected = conn.execute(
            "SELECT id FROM market_data WHERE instrument_id = 1 "
            "ORDER BY timestamp DESC, id DESC LIMIT 1"
        ).fetchone()
        assert conn.execute(LATEST_TICK, (1,)).fetchone() == expected
    assert "ix_market_data_instrument_timestamp" in plan
    assert "TEMP B-TREE" not in plan


def test_readers_keep_reading_during_the_conversion(legacy_db: Path) -> None:
    """A reader on its own connection reads throughout up 1 -> newest without one error."""
    with sqlite3.connect(legacy_db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        max_id = conn.execute("SELECT max(id) FROM market_data").fetchone()[0]
    stop = threading.Event()
    reads: list[int] = []
    errors: list[str] = []

    def read() -> None:
        conn = sqlite3.connect(legacy_db, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        n = 0
        while not stop.is_set():
            try:
                row = conn.execute(
                    "SELECT price FROM market_data WHERE id = ?", (n % max_id + 1,)
                ).fetchone()
                assert row is not None
                n += 1
            except (sqlite3.Error, AssertionError) as exc:
                errors.append(repr(exc))
        reads.append(n)
        conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(0.05)
    try:
        migrator(legacy_db).up()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert reads[0] > 100


def test_rebuilds_leave_other_references_pointing_at_the_rebuilt_tables(tmp_path: Path) -> None:
    """An application's own table and view naming market_data still resolve after 0004/0005."""
    path = tmp_path / "app.sqlite3"
    migrator(path).up(to=3)
    with connect(path) as conn:
        conn.execute(
            "INSERT INTO instruments VALUES (1, 'ES', 'E-mini', 'future', 'active', "
            "NULL, NULL, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        )
        conn.execute(
            "INSERT INTO market_data (id, timestamp, instrument_id, price) "
            "VALUES (10, '2026-01-02 00:00:00.000000', 1, 5210.25)"
        )
        conn.execute(
            "CREATE TABLE tick_notes (id INTEGER PRIMARY KEY, "
            "tick_id INTEGER NOT NULL REFERENCES market_data (id), note TEXT)"
        )
        conn.execute("INSERT INTO tick_notes (tick_id, note) VALUES (10, 'opening print')")
        conn.execute(
            "CREATE VIEW es_ticks AS SELECT id, price FROM market_data WHERE instrument_id = 1"
        )
    migrator(path).up(to=UNPARTITIONED)
    with connect(path) as conn:
        assert [k[2] for k in conn.execute("PRAGMA foreign_key_list(tick_notes)")] == [
            "market_data"
        ]
        assert conn.execute("SELECT * FROM es_ticks").fetchall() == [(10, 5210.25)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute("DELETE FROM market_data WHERE id = 10")


def test_trading_tables_keep_money_exact_and_checked(tmp_path: Path) -> None:
    """0006 refuses floats in exact columns, bad sides, wrong settlements, and orphaning deletes."""
    conn = connect(fresh(tmp_path, NEWEST))
    order = (
        "INSERT INTO orders (client_order_id, user_id, symbol, side, order_type, time_in_force, "
        "quantity_e8, limit_price_e8, filled_quantity_e8, status, created_at, updated_at) "
        "VALUES (?, 1, 'ES', ?, 'limit', 'day', ?, 521025000000, ?, ?, 1, 1)"
    )
    conn.execute(order, ("c1", "buy", 200_000_000, 100_000_000, "partially_filled"))
    trade = (
        "INSERT INTO trades (order_id, execution_id, symbol, side, quantity_e8, price_e8, "
        "currency, gross_amount_minor, commission_minor, fees_minor, settlement_amount_minor, "
        "settlement_date, timestamp) VALUES (1, ?, 'ES', ?, 100000000, 521025000000, 'USD', "
        "?, 125, 3, ?, '2026-11-24', 2)"
    )
    conn.execute(trade, ("x1", "buy", 521025, -521153))
    refused = {
        "float quantity": (order, ("c2", "buy", 1.5, 0, "new")),
        "unknown side": (order, ("c3", "hold", 100_000_000, 0, "new")),
        "zero quantity": (order, ("c4", "buy", 0, 0, "new")),
        "filled but not full": (order, ("c5", "buy", 100_000_000, 0, "filled")),
        "fractional money as text": (trade, ("x2", "buy", "521025.5", -521153)),
        "settlement sign": (trade, ("x3", "buy", 521025, 521153)),
        "side unlike its order": (trade, ("x4", "sell", 521025, 520897)),
    }
    for case, (sql, params) in refused.items():
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql, params)
            pytest.fail(f"{case} was accepted")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute("DELETE FROM orders WHERE id = 1")
    position = (
        "INSERT INTO portfolio_positions (user_id, symbol, quantity_e8, currency, "
        "cost_basis_minor, opened_at, updated_at) VALUES (1, 'ES', 100000000, 'USD', 521153, 1, 1)"
    )
    conn.execute(position)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(position)
    assert conn.execute("SELECT count(*) FROM trades").fetchone() == (1,)
    conn.close()
