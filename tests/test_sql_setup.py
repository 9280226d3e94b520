"""The application's SQL functions and collations on every connection rawdb opens: migrations,
baseline's schema check, the pool, the commands and the converter's trial run use them; without
them, one clear error naming the file, the line and the setting, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rawdb.backend.sqlite.connection import open_sync
from rawdb.config import MigrationSource, Settings
from rawdb.errors import ConfigError
from rawdb.migrate.convert import convert
from rawdb.pool import Pool

APP_SQL = """
import sqlite3


def normalize(text):
    return None if text is None else " ".join(text.split()).upper()


def reverse(a, b):
    return (a < b) - (a > b)


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("normalize", 1, normalize, deterministic=True)
    conn.create_collation("reverse", reverse)


def broken(conn: sqlite3.Connection) -> None:
    raise RuntimeError("the licence server is down")
"""

SYMBOLS_UP = """\
-- The application's symbols, keyed by its own normalize() and sorted by its collation.
CREATE TABLE app_symbol (
    name TEXT NOT NULL COLLATE reverse,
    key TEXT GENERATED ALWAYS AS (normalize(name)) VIRTUAL
);
CREATE INDEX ix_app_symbol_key ON app_symbol (normalize(name));
INSERT INTO app_symbol (name) VALUES ('  es  mini '), ('nq'), ('cl');
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An application folder: its SQL module (appsql.py) and its migration set (db/)."""
    root = tmp_path / "app"
    (root / "db" / "migrations").mkdir(parents=True)
    (root / "db" / "rollback").mkdir()
    (root / "appsql.py").write_text(APP_SQL)
    (root / "db" / "migrations" / "0001_symbols.sql").write_text(SYMBOLS_UP)
    (root / "db" / "rollback" / "0001_symbols.sql").write_text("DROP TABLE app_symbol;\n")
    return root


def rawdb(app: Path, db: Path, *args: str, setup: bool) -> subprocess.CompletedProcess[str]:
    """``python -m rawdb`` as the application's operator runs it, from the app's folder."""
    env = {**os.environ, "PYTHONPATH": str(app), "RAWDB_MIGRATIONS": "app=db"}
    env.pop("RAWDB_SQL_SETUP", None)
    if setup:
        env["RAWDB_SQL_SETUP"] = "appsql:register"
    return subprocess.run(
        [sys.executable, "-m", "rawdb", *args, "--db", str(db)],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def register_here(app: Path) -> object:
    sys.path.insert(0, str(app))
    try:
        import appsql  # type: ignore[import-not-found]  # noqa: PLC0415 -- the test's app
    finally:
        sys.path.remove(str(app))
    return appsql


def test_up_without_the_setup_names_the_line_and_the_setting(app: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    done = rawdb(app, db, "migrate", "up", setup=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "0001_symbols.sql:2:" in done.stderr  # the CREATE TABLE that needs the collation
    assert "no such collation sequence: reverse" in done.stderr
    assert "RAWDB_SQL_SETUP" in done.stderr
    with sqlite3.connect(db) as conn:  # rawdb's set went in; the app's did not, not in part
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    assert "market_data" in names and "app_symbol" not in names


def test_up_status_and_down_with_the_setup(app: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    up = rawdb(app, db, "migrate", "up", setup=True)
    assert up.returncode == 0, up.stderr
    conn = sqlite3.connect(db)
    register_here(app).register(conn)  # type: ignore[attr-defined]
    keys = [r[0] for r in conn.execute("SELECT key FROM app_symbol ORDER BY name")]
    conn.close()
    assert keys == ["NQ", "CL", "ES MINI"]  # reverse order of the names ("  es  mini " first)
    status = rawdb(app, db, "migrate", "status", "--json", setup=True)
    assert status.returncode == 0, status.stderr
    down = rawdb(app, db, "migrate", "down", "--set", "app", setup=True)
    assert down.returncode == 0, down.stderr


def test_baseline_checks_tables_another_tool_made_with_the_apps_functions(
    app: Path, tmp_path: Path
) -> None:
    """The app's tables exist already (made by its earlier tool); `baseline 1 --set app`
    builds the schema the set should give in a scratch database, which needs the functions."""
    db = tmp_path / "app.sqlite3"
    assert rawdb(app, db, "migrate", "up", "--set", "rawdb", setup=False).returncode == 0
    conn = sqlite3.connect(db)
    register_here(app).register(conn)  # type: ignore[attr-defined]
    conn.executescript(SYMBOLS_UP)
    conn.close()

    refused = rawdb(app, db, "migrate", "baseline", "1", "--set", "app", setup=False)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr, refused.stderr
    assert "0001_symbols.sql:2:" in refused.stderr and "RAWDB_SQL_SETUP" in refused.stderr

    done = rawdb(app, db, "migrate", "baseline", "1", "--set", "app", setup=True)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        applied = conn.execute(
            "SELECT baselined FROM rawdb_migrations WHERE set_name = 'app' AND version = 1"
        ).fetchone()
    assert applied == (1,)


async def test_the_pools_writer_and_readers_have_the_functions(app: Path, tmp_path: Path) -> None:
    appsql = register_here(app)
    settings = Settings(
        database=tmp_path / "app.sqlite3",
        migrations=(MigrationSource(name="app", folder=app / "db"),),
        sql_setup=appsql.register,  # type: ignore[attr-defined]
    )
    async with Pool.open(settings, migrate=True) as pool:
        async with pool.write() as conn:
            await conn.execute(
                "INSERT INTO app_symbol (name) VALUES (?)", ("  zn  ",), name="app_insert"
            )
        for _ in range(settings.readers + 1):  # every reader, not only the first
            async with pool.read() as conn:
                row = await conn.fetchone(
                    "SELECT count(*) FROM app_symbol WHERE normalize(name) = normalize(?)",
                    ("zn",),
                    name="app_find",
                )
                assert row is not None and row[0] == 1


def test_a_setup_that_cannot_run_is_a_config_error(app: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite3"
    with pytest.raises(ConfigError, match="RAWDB_SQL_SETUP"):
        Settings(database=db, sql_setup="not a name")
    with pytest.raises(ConfigError, match="no_such_module_here"):
        open_sync(db, Settings(database=db, sql_setup="no_such_module_here:register"))
    appsql = register_here(app)
    with pytest.raises(ConfigError, match="licence server is down"):
        open_sync(db, Settings(database=db, sql_setup=appsql.broken))  # type: ignore[attr-defined]

    env = {**os.environ, "RAWDB_SQL_SETUP": "no_such_module_here:register"}
    done = subprocess.run(
        [sys.executable, "-m", "rawdb", "migrate", "--db", str(db), "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "no_such_module_here" in done.stderr


def test_the_converters_trial_run_uses_the_setup(app: Path, tmp_path: Path) -> None:
    source = tmp_path / "upstream"
    source.mkdir()
    (source / "1_symbols.up.sql").write_text(SYMBOLS_UP)
    (source / "1_symbols.down.sql").write_text("DROP TABLE app_symbol;\n")
    without = convert(source, tmp_path / "without", "golang-migrate")
    said = [item for m in without.migrations for item in m.needs_human]
    assert any("RAWDB_SQL_SETUP" in item for item in said), said
    appsql = register_here(app)
    setup = appsql.register  # type: ignore[attr-defined]
    with_setup = convert(source, tmp_path / "with", "golang-migrate", setup)
    assert with_setup.needs_human == 0, [m.needs_human for m in with_setup.migrations]
    (written,) = with_setup.migrations
    assert "normalize(name)" in written.migration.read_text()
