"""Statement files: each statement named, described, with its parameters and result declared;
a file that breaks the contract is refused at load with file:line, and a statement is never run
for a result it does not declare."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from rawdb.errors import InternalError
from rawdb.queries import STATEMENTS
from rawdb.queries.registry import load
from rawdb.statements import RETURNS, parse

GOOD = """\
-- A header comment for the file.

-- name: one_tick
-- The tick with this id.
-- params: id
-- returns: row
SELECT id, price FROM market_data_default WHERE id = ?;

-- name: ticks_between
-- Ticks of one instrument in [start, end).
-- params: instrument_id,
--     start, end
-- returns: rows
SELECT id FROM market_data_default
WHERE instrument_id = :instrument_id AND timestamp >= :start AND timestamp < :end;

-- name: rules_of
-- Rules of one instrument, or of all (NULL); ?1 is used twice.
-- params: instrument_id
-- returns: rows
SELECT id FROM alert_rules WHERE ?1 IS NULL OR instrument_id = ?1;

-- name: count_ticks
-- How many ticks one table holds (a '?' inside a string is not a placeholder).
-- params: none
-- returns: value
SELECT count(*) FROM market_data_default WHERE symbol != '?' /* :not_one */;
"""


def block(declarations: str, sql: str = "SELECT id FROM t WHERE id = ?;") -> str:
    return f"\n\n-- name: broken\n-- A statement.\n{declarations}{sql}\n"


def test_a_good_file_gives_its_declarations() -> None:
    found = parse(GOOD, "good.sql")
    assert found["one_tick"].params == ("id",) and found["one_tick"].returns == "row"
    assert found["ticks_between"].params == ("instrument_id", "start", "end")
    assert found["rules_of"].params == ("instrument_id",)
    assert found["count_ticks"].params == () and found["count_ticks"].returns == "value"
    assert found["one_tick"].source == "good.sql:3"
    assert found["one_tick"].sql.startswith("/* rawdb:one_tick */ SELECT")


@pytest.mark.parametrize(
    ("declarations", "sql", "words"),
    [
        ("-- returns: row\n", "SELECT 1 WHERE 1 = ?;", "lacks -- params:"),
        ("-- params: id\n", "SELECT 1 WHERE 1 = ?;", "lacks -- returns:"),
        ("", "SELECT 1;", "lacks -- params: and -- returns:"),
        ("-- params: id\n-- returns: some\n", "SELECT 1 WHERE 1 = ?;", "write one of"),
        ("-- params: id, other\n-- returns: row\n", "SELECT 1 WHERE 1 = ?;", "2 parameter"),
        ("-- params: none\n-- returns: row\n", "SELECT 1 WHERE 1 = ?;", "0 parameter"),
        ("-- params: id\n-- returns: row\n", "SELECT 1 WHERE 1 = ?2;", "2 placeholder"),
        ("-- params: a\n-- returns: row\n", "SELECT 1 WHERE :b = 1;", "uses ['b']"),
        ("-- params: a\n-- returns: row\n", "SELECT 1 WHERE :a = ?;", "mixes named"),
        ("-- params: a, a\n-- returns: row\n", "SELECT 1 WHERE ? = ?;", "distinct"),
        ("-- params: Id\n-- returns: row\n", "SELECT 1 WHERE 1 = ?;", "snake_case"),
        ("-- params: id\n-- params: id\n-- returns: row\n", "SELECT ?;", "twice"),
    ],
)
def test_a_statement_breaking_the_contract_is_refused_with_its_line(
    declarations: str, sql: str, words: str
) -> None:
    text = GOOD + block(declarations, sql)
    broken_line = text.split("\n").index("-- name: broken") + 1
    with pytest.raises(InternalError, match=rf"^bad\.sql:{broken_line}: .*{re.escape(words)}"):
        parse(text, "bad.sql")


def test_the_loader_refuses_a_folder_with_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "good.sql").write_text(GOOD)
    (tmp_path / "late.sql").write_text(block("-- returns: rows\n"))
    with pytest.raises(InternalError, match=r"late\.sql:3: 'broken' lacks -- params:"):
        load(tmp_path)


def test_a_statement_runs_only_for_the_result_it_declares() -> None:
    one = parse(GOOD, "good.sql")["one_tick"]
    one.expect("row", "value")
    with pytest.raises(InternalError, match=r"good\.sql:3: 'one_tick' declares 'returns: row'"):
        one.expect("nothing")


def test_every_shipped_statement_declares_a_known_result() -> None:
    assert STATEMENTS, "no statements loaded"
    for stmt in STATEMENTS.values():
        assert stmt.returns in RETURNS, stmt.source
        assert stmt.description, stmt.source


def test_a_template_fills_its_slots_with_quoted_identifiers_only() -> None:
    """Any name stays one identifier (an application's table may be called "my table"); a
    hostile one names a table that does not exist instead of running its SQL."""
    text = (
        "-- name: count_rows\n-- Rows of one table.\n-- params: none\n-- returns: value\n"
        "SELECT count(*) FROM __table__;\n"
    )
    stmt = parse(text, "t.sql")["count_rows"]
    assert stmt.slots == ("table",)
    assert stmt.render(table="market_data_2026_01").endswith('FROM "market_data_2026_01"')
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "my ""odd"" table" (x)')
    conn.execute("CREATE TABLE instruments (x)")
    assert conn.execute(stmt.render(table='my "odd" table')).fetchone() == (0,)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        conn.execute(stmt.render(table='x"; DROP TABLE instruments; --'))
    assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (0,)
    for impossible in ("", "a\x00b"):
        with pytest.raises(InternalError, match="cannot be an identifier"):
            stmt.render(table=impossible)
    with pytest.raises(InternalError, match="fills"):
        stmt.render(other="x")
    listed = parse(text.replace("count(*)", "__columns__"), "t.sql")["count_rows"]
    assert listed.render(table="t", columns=("a", "b c")).endswith('SELECT "a", "b c" FROM "t"')
