"""The migrator on a real PostgreSQL server: the shipped PostgreSQL set, transactional files,
checksums, the advisory lock between concurrent migrators, and the CLI's answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rawdb.errors import MigrationFailed, MigrationStateError
from rawdb.migrate.files import discover

from conftest import ROOT, MigrationDir

psycopg = pytest.importorskip("psycopg")

from rawdb.migrate.postgresql import PostgresMigrator  # noqa: E402 -- needs psycopg

SHIPPED = ROOT / "sql"


def schema(url: str) -> dict[str, list[str]]:
    """Every table's columns, constraints and indexes, as PostgreSQL's catalogue states them."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' '"
            " || is_nullable || ' ' || coalesce(column_default, '')"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name NOT LIKE 'rawdb_migration%' ORDER BY 1"
        ).fetchall()
        constraints = conn.execute(
            "SELECT c.conrelid::regclass::text || ' ' || c.conname || ' '"
            " || pg_get_constraintdef(c.oid) FROM pg_constraint AS c"
            " JOIN pg_namespace AS n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
            " AND c.conrelid::regclass::text NOT LIKE 'rawdb_migration%' ORDER BY 1"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename NOT LIKE 'rawdb_migration%' ORDER BY 1"
        ).fetchall()
        partitioned = conn.execute(
            "SELECT c.relname || ' ' || pg_get_partkeydef(c.oid) FROM pg_class AS c"
            " WHERE c.relkind = 'p' ORDER BY 1"
        ).fetchall()
    return {
        "columns": [r[0] for r in columns],
        "constraints": [r[0] for r in constraints],
        "indexes": [r[0] for r in indexes],
        "partitioned": [r[0] for r in partitioned],
    }


def test_the_postgresql_set_has_the_versions_and_slugs_of_the_sqlite_set() -> None:
    sqlite = discover(SHIPPED)
    postgresql = discover(SHIPPED / "postgresql")
    assert not sqlite.problems and not postgresql.problems
    assert [m.name for m in postgresql.migrations] == [m.name for m in sqlite.migrations]
    assert all(m.down is not None for m in postgresql.migrations)


def test_up_builds_the_partitioned_schema_and_refuses_a_tick_outside_every_month(
    pg_url: str,
) -> None:
    lines: list[str] = []
    migrator = PostgresMigrator(pg_url, report=lines.append)
    result = migrator.up()
    newest = discover(SHIPPED).newest
    assert result.done == list(range(1, newest + 1))
    assert migrator.current() == newest
    assert any(line.startswith("back it up first") and "pg_dump" in line for line in lines)
    found = schema(pg_url)
    assert 'market_data RANGE ("timestamp")' in found["partitioned"]
    assert 'alert_logs RANGE ("timestamp")' in found["partitioned"]
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at)"
            " VALUES ('ES', 'E-mini', 'future', 'active', now(), now())"
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="no partition"):
            conn.execute("INSERT INTO market_data (timestamp, instrument_id) VALUES (now(), 1)")
    # the vocabulary checks hold for every writer, as the SQLite triggers do
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at)"
            " VALUES ('NQ', 'x', 'stock', 'active', now(), now())"
        )


def test_each_rollback_restores_the_schema_before_its_migration(pg_url: str) -> None:
    migrator = PostgresMigrator(pg_url)
    newest = discover(SHIPPED).newest
    before: dict[int, dict[str, list[str]]] = {0: schema(pg_url)}
    for version in range(1, newest + 1):
        migrator.up(to=version)
        before[version] = schema(pg_url)
    for version in range(newest, 0, -1):
        assert migrator.down(steps=1).done == [version]
        assert schema(pg_url) == before[version - 1], f"rollback of {version:04d}"
    migrator.up()
    assert schema(pg_url) == before[newest]


def test_rows_survive_the_partitioning_migration_and_its_rollback(pg_url: str) -> None:
    migrator = PostgresMigrator(pg_url)
    migrator.up(to=8)
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "INSERT INTO instruments (symbol, name, type, status, created_at, updated_at)"
            " VALUES ('ES', 'E-mini', 'future', 'active', now(), now())"
        )
        conn.execute(
            "INSERT INTO market_data (timestamp, instrument_id, price) SELECT"
            " timestamptz '2026-01-31 23:59:59+00' + n * interval '1 day', 1, n"
            " FROM generate_series(0, 40) AS n"
        )
    migrator.up(to=9)
    with psycopg.connect(pg_url) as conn:
        parts = conn.execute("SELECT name FROM rawdb_partitions ORDER BY name").fetchall()
        assert [p[0] for p in parts] == [
            "market_data_2026_01",
            "market_data_2026_02",
            "market_data_2026_03",
        ]
        assert conn.execute("SELECT count(*), sum(price) FROM market_data").fetchone() == (41, 820)
        # ids go on above the moved rows
        conn.execute("INSERT INTO market_data (timestamp, instrument_id) VALUES ('2026-02-02', 1)")
        assert conn.execute("SELECT max(id) FROM market_data").fetchone()[0] == 42
    migrator.down(to=8)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM market_data").fetchone() == (42, 42)


def test_a_failing_migration_leaves_nothing_and_says_where(pg_url: str, mdir: MigrationDir) -> None:
    mdir.add(
        "0001_notes.sql",
        "CREATE TABLE app_notes (id bigint PRIMARY KEY);\n"
        "INSERT INTO app_notes VALUES (1);\n"
        "INSERT INTO app_notes VALUES (1);\n",
        "DROP TABLE app_notes;\n",
    )
    from rawdb.config import MigrationSource  # noqa: PLC0415

    migrator = PostgresMigrator(pg_url, sets=[MigrationSource(name="app", folder=mdir.root)])
    with pytest.raises(MigrationFailed) as caught:
        migrator.up()
    assert "0001_notes.sql:3" in str(caught.value)
    assert "UniqueViolation" in type(caught.value.__cause__).__name__ or "duplicate" in str(
        caught.value
    )
    assert migrator.current() == discover(SHIPPED).newest  # rawdb's own set went in first
    assert migrator.current("app") == 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('app_notes')").fetchone()[0] is None
        failed = conn.execute(
            "SELECT action FROM rawdb_migration_history WHERE set_name = 'app'"
        ).fetchall()
    assert failed == [("fail",)]


def test_an_applied_file_that_changed_stops_up(pg_url: str, mdir: MigrationDir) -> None:
    path = mdir.add(
        "0001_notes.sql", "CREATE TABLE app_notes (id bigint);\n", "DROP TABLE app_notes;\n"
    )
    mdir.add("0002_more.sql", "CREATE TABLE app_more (id bigint);\n", "DROP TABLE app_more;\n")
    from rawdb.config import MigrationSource  # noqa: PLC0415

    sets = [MigrationSource(name="app", folder=mdir.root)]
    PostgresMigrator(pg_url, sets=sets).up(to=1, set_name="app")
    path.write_text("CREATE TABLE app_notes (id bigint, body text);\n")
    migrator = PostgresMigrator(pg_url, sets=sets)
    assert any("0001_notes" in p for p in migrator.status().problems)
    with pytest.raises(MigrationStateError, match="0001_notes"):
        migrator.up()
    assert migrator.current("app") == 1
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('app_more')").fetchone()[0] is None


def test_dry_run_prints_the_sql_and_changes_nothing(pg_url: str) -> None:
    lines: list[str] = []
    result = PostgresMigrator(pg_url, report=lines.append).up(dry_run=True)
    assert result.done == list(range(1, discover(SHIPPED).newest + 1))
    assert any("CREATE TABLE instruments" in line for line in lines)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('instruments')").fetchone()[0] is None
        assert conn.execute("SELECT to_regclass('rawdb_migrations')").fetchone()[0] is None


@pytest.mark.slow
def test_concurrent_migrators_apply_each_version_once(
    pg_url: str, mdir: MigrationDir, tmp_path: Path
) -> None:
    # A slow first file keeps the first migrator inside the lock while the others arrive.
    mdir.add(
        "0001_slow.sql",
        "SELECT pg_sleep(1.5);\nCREATE TABLE app_slow (id bigint);\n",
        "DROP TABLE app_slow;\n",
    )
    command = [
        sys.executable,
        "-m",
        "rawdb.migrate",
        "--db",
        pg_url,
        "--migrations",
        f"app={mdir.root}",
        "--json",
        "up",
    ]
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], outputs
    done = [len(json.loads(out)["done"]) for out, _ in outputs]
    assert sorted(done) == [0, 0, discover(SHIPPED).newest + 1]
    with psycopg.connect(pg_url) as conn:
        applies = conn.execute(
            "SELECT set_name, version, count(*) FROM rawdb_migration_history"
            " WHERE action = 'apply' GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
    assert applies == []


def test_the_cli_names_an_unreachable_server_and_refuses_what_sqlite_only_does(
    pg_url: str, run_cli
) -> None:
    missing = run_cli("--db", "postgresql://nobody@/nothing?host=/nonexistent", "status")
    assert missing.returncode == 1
    assert "cannot connect to PostgreSQL" in missing.stderr
    assert "Traceback" not in missing.stderr
    secret = run_cli("--db", "postgresql://u:hunter2@/x?host=/nonexistent", "status")
    assert "hunter2" not in secret.stderr and "***" in secret.stderr
    refused = run_cli("--db", pg_url, "baseline", "3")
    assert refused.returncode == 2
    assert "on PostgreSQL rawdb migrate runs up, down, status, validate" in refused.stderr
    up = run_cli("--db", pg_url, "--json", "up")
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["current"] == discover(SHIPPED).newest
    status = run_cli("--db", pg_url, "--json", "status")
    assert json.loads(status.stdout)["problems"] == []
