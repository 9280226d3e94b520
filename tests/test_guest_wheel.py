"""rawdb as an application uses it: the wheel installed in a fresh virtualenv outside the
checkout, the application's own migration set stacked on rawdb's, every command on that
database, and a rawdb upgrade that ships one more migration."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rawdb.migrate import discover, shipped_root

from conftest import ROOT, build_wheel

pytestmark = pytest.mark.slow
SHIPPED = discover(shipped_root()).newest
APP_SCRIPT = '''
"""A trading app: its settings name its own migration set; the pool brings both sets up."""
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from rawdb.config import MigrationSource, Settings
from rawdb.queries.rows import TickRow
from rawdb.pool import Pool
from rawdb.queries import instruments, ticks


async def main() -> None:
    settings = Settings(
        database=Path("trading.sqlite3"),
        migrations=(MigrationSource(name="app", folder=Path("db")),),
    )
    async with Pool.open(settings, migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P 500"})
        now = datetime.now(UTC)
        await ticks.insert_ticks(pool, [TickRow(es.id, now, 5000.25, 3)])
        async with pool.write() as conn:
            await conn.execute(
                "INSERT INTO app_notes (instrument_id, body) VALUES (?, ?)", (es.id, "roll")
            )
    print("ok")


asyncio.run(main())
'''


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel of this checkout (and its dependencies) installed."""
    base = tmp_path_factory.mktemp("guest")
    wheel = build_wheel(ROOT, base / "dist")
    env = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return env


class App:
    """The application's folder, and its way of running rawdb's commands."""

    def __init__(self, folder: Path, venv: Path) -> None:
        self.folder = folder
        self.venv = venv
        self.env = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(folder),
            "RAWDB_DATABASE": "trading.sqlite3",
            "RAWDB_MIGRATIONS": "app=db",
        }

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            check=False,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in ok, f"{args}: exit {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def status(self) -> dict[str, dict[str, object]]:
        found = json.loads(self.run("rawdb", "migrate", "status", "--json").stdout)
        return {s["name"]: s for s in found["sets"]}

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.folder / "trading.sqlite3") as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def app(tmp_path: Path, venv: Path) -> App:
    folder = tmp_path / "tradeapp"
    for part in ("migrations", "rollback"):
        (folder / "db" / part).mkdir(parents=True)
    migrations = {
        "0001_notes.sql": (
            "-- notes on instruments\n"
            f"-- rawdb: requires=rawdb:{SHIPPED}\n"
            "CREATE TABLE app_notes (\n"
            "    id INTEGER PRIMARY KEY,\n"
            "    instrument_id INTEGER NOT NULL REFERENCES instruments (id),\n"
            "    body TEXT NOT NULL\n);\n",
            "DROP TABLE app_notes;\n",
        ),
        "0002_tags.sql": (
            "-- tags\nCREATE TABLE app_tags (name TEXT PRIMARY KEY);\n",
            "DROP TABLE app_tags;\n",
        ),
    }
    for name, (up, down) in migrations.items():
        (folder / "db" / "migrations" / name).write_text(up)
        (folder / "db" / "rollback" / name).write_text(down)
    (folder / "app.py").write_text(APP_SCRIPT)
    return App(folder, venv)


def test_an_app_set_on_the_installed_wheel(app: App, tmp_path: Path) -> None:
    """The app's set applies on rawdb's through Pool.open; every command works on that
    database; new writes into the app's folder; an upgraded rawdb's new migration applies
    after the app's; down --set app takes back the app's versions only."""
    assert app.run("python", "app.py").stdout.splitlines()[-1] == "ok"
    sets = app.status()
    assert (sets["rawdb"]["current"], sets["app"]["current"]) == (SHIPPED, 2)
    assert app.rows("SELECT body FROM app_notes") == [("roll",)]
    app.run("rawdb", "migrate", "validate")
    app.run("rawdb", "partitions", "status", "--json")
    app.run("rawdb", "monitor", "--json", ok=(0, 3))  # 3: degraded, e.g. a cold cache
    app.run("rawdb", "--version")

    created = app.run("rawdb", "migrate", "new", "add_flag").stdout
    new_up = app.folder / "db" / "migrations" / "0003_add_flag.sql"
    assert str(new_up.name) in created and new_up.is_file()
    site = app.venv / "lib"
    assert not [p for p in site.rglob("0003_add_flag.sql")], "new wrote into the installed package"
    new_up.write_text(new_up.read_text() + "ALTER TABLE app_tags ADD COLUMN flag INTEGER;\n")
    (app.folder / "db" / "rollback" / new_up.name).write_text(
        "ALTER TABLE app_tags DROP COLUMN flag;\n"
    )
    app.run("rawdb", "migrate", "up")
    assert app.status()["app"]["current"] == 3

    # The next rawdb release ships one more migration; the app's stay applied under it.
    source = tmp_path / "rawdb_next"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "*_cache", "dist", "build")
    )
    extra = f"{SHIPPED + 1:04d}_release_next.sql"
    (source / "sql" / "migrations" / extra).write_text(
        "-- next release\nCREATE TABLE rawdb_release_next (x INTEGER);\n"
    )
    (source / "sql" / "rollback" / extra).write_text("DROP TABLE rawdb_release_next;\n")
    wheel = build_wheel(source, tmp_path / "dist_next")
    subprocess.run(
        [
            str(app.venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--force-reinstall",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    assert [p["version"] for p in app.status()["rawdb"]["pending"]] == [SHIPPED + 1]  # type: ignore[union-attr]
    up = json.loads(app.run("rawdb", "migrate", "up", "--json").stdout)
    assert [(d["set"], d["version"]) for d in up["done"]] == [("rawdb", SHIPPED + 1)]
    assert app.rows("SELECT body FROM app_notes") == [("roll",)]

    # Nothing of the app stands on the new release's migration: it may go back; the one
    # below it carries the app's migrations and may not.
    app.run("rawdb", "migrate", "down", "--set", "rawdb")
    assert app.status()["rawdb"]["current"] == SHIPPED
    refused = app.run("rawdb", "migrate", "down", "--set", "rawdb", ok=(1,))
    assert refused.stderr.count("stand on it") == 1 and "--set app" in refused.stderr
    app.run("rawdb", "migrate", "down", "--set", "app", "--to", "0")
    sets = app.status()
    assert (sets["rawdb"]["current"], sets["app"]["current"]) == (SHIPPED, 0)
    assert app.rows("SELECT name FROM sqlite_schema WHERE name LIKE 'app_%'") == []
