"""Migration sets: the application's migrations stacked on rawdb's, each with its own versions.

Every test runs the shipped set under an application set (``app``) on a real file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from rawdb.config import MigrationSource, Settings
from rawdb.errors import ConfigError, MigrationStateError, SchemaOutOfDate, UsageError
from rawdb.migrate import Migrator, discover, shipped_root
from rawdb.pool import Pool
from rawdb.queries import instruments

from conftest import MigrationDir, to_single_set_layout

SHIPPED = discover(shipped_root()).newest
NOTES_UP = """-- notes: the application's notes on instruments
CREATE TABLE app_notes (
    id INTEGER PRIMARY KEY,
    instrument_id INTEGER NOT NULL REFERENCES instruments (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
"""
TAGS_UP = "-- tags\nCREATE TABLE app_tags (name TEXT PRIMARY KEY);\n"


@pytest.fixture
def app(tmp_path: Path) -> MigrationDir:
    """An application set of two migrations, the first with a foreign key to instruments."""
    found = MigrationDir(tmp_path / "app_migrations")
    found.add("0001_notes.sql", NOTES_UP, "DROP TABLE app_notes;\n")
    found.add("0002_tags.sql", TAGS_UP, "DROP TABLE app_tags;\n")
    return found


def migrator(db: Path, *sets: MigrationDir, names: tuple[str, ...] = ("app",)) -> Migrator:
    sources = [MigrationSource(name=n, folder=s.root) for n, s in zip(names, sets, strict=True)]
    return Migrator(db, backup=False, sets=sources, settings=Settings(database=db))


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_an_app_set_applies_after_rawdbs_with_its_own_versions(
    tmp_path: Path, app: MigrationDir
) -> None:
    """up applies rawdb's set, then the app's as versions 1 and 2 of ``app``; the version
    table records the set, and what each app migration stood on."""
    db = tmp_path / "app.sqlite3"
    result = migrator(db, app).up()
    assert [(m.set_name, m.version) for m in result.steps] == [
        *(("rawdb", v) for v in range(1, SHIPPED + 1)),
        ("app", 1),
        ("app", 2),
    ]
    assert rows(
        db,
        "SELECT set_name, version, depends_on FROM rawdb_migrations "
        "WHERE set_name = 'app' ORDER BY version",
    ) == [
        ("app", 1, f'{{"rawdb": {SHIPPED}}}'),
        ("app", 2, f'{{"rawdb": {SHIPPED}}}'),
    ]
    assert rows(db, "SELECT DISTINCT set_name FROM rawdb_migration_history ORDER BY 1") == [
        ("app",),
        ("rawdb",),
    ]
    status = migrator(db, app).status().as_json()
    by_name = {s["name"]: s for s in status["sets"]}  # type: ignore[index, union-attr]
    assert by_name["rawdb"]["current"] == SHIPPED and by_name["app"]["current"] == 2
    assert by_name["app"]["pending"] == [] and status["problems"] == []


def test_a_shipped_set_alone_no_longer_hides_the_apps_rows(
    tmp_path: Path, app: MigrationDir
) -> None:
    """A command that knows only rawdb's set sees the app's rows as another set's business:
    no "applied but its file is gone" and no out-of-date refusal."""
    db = tmp_path / "app.sqlite3"
    migrator(db, app).up()
    alone = Migrator(db, backup=False, settings=Settings(database=db))
    assert alone.problems() == [] and alone.current() == SHIPPED
    listed = {s.name: s.folder for s in alone.status().sets}
    assert listed == {"rawdb": shipped_root(), "app": None}


async def test_pool_open_migrates_every_configured_set(tmp_path: Path, app: MigrationDir) -> None:
    """Pool.open(migrate=True) with Settings.migrations brings both sets up; without migrate
    a pending app migration is refused naming the set."""
    db = tmp_path / "app.sqlite3"
    only_first = MigrationDir(tmp_path / "first")
    only_first.add("0001_notes.sql", NOTES_UP, "DROP TABLE app_notes;\n")
    settings = Settings(
        database=db, migrations=(MigrationSource(name="app", folder=only_first.root),)
    )
    async with Pool.open(settings, migrate=True) as pool:
        es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
        async with pool.write() as conn:
            await conn.execute(
                "INSERT INTO app_notes (instrument_id, body) VALUES (?, 'roll in March')", (es.id,)
            )
    later = settings.model_copy(
        update={"migrations": (MigrationSource(name="app", folder=app.root),)}
    )
    with pytest.raises(SchemaOutOfDate, match=r"app migration 0001 .*not applied: 0002"):
        async with Pool.open(later):
            pass
    async with Pool.open(later, migrate=True):
        pass
    assert rows(db, "SELECT body FROM app_notes") == [("roll in March",)]


def test_requires_is_checked_before_anything_runs(tmp_path: Path, app: MigrationDir) -> None:
    """A migration that requires a rawdb version this rawdb does not ship is refused with the
    fix, before the database is touched."""
    app.add("0003_later.sql", "-- later\n-- rawdb: requires=rawdb:9999\nSELECT 1;\n", "")
    db = tmp_path / "app.sqlite3"
    with pytest.raises(MigrationStateError, match=r"requires rawdb 9999.*upgrade rawdb"):
        migrator(db, app).up()
    assert not db.exists()


def test_an_upgrade_of_rawdb_applies_its_new_migration_after_the_apps(
    tmp_path: Path, app: MigrationDir
) -> None:
    """A rawdb release that adds a shipped migration: up applies it although the app's
    migrations were applied after rawdb's previous newest; the app's stay as they were."""
    shipped = MigrationDir(tmp_path / "shipped_v2")
    shutil.rmtree(shipped.root)
    shutil.copytree(shipped_root(), shipped.root)
    newest = shipped.root / "migrations" / f"{SHIPPED + 1:04d}_release_two.sql"
    db = tmp_path / "app.sqlite3"
    sources = [MigrationSource(name="app", folder=app.root)]
    Migrator(db, shipped_root(), backup=False, sets=sources).up()
    newest.write_text("-- release two\nCREATE TABLE rawdb_release_two (x INTEGER);\n")
    (shipped.root / "rollback" / newest.name).write_text("DROP TABLE rawdb_release_two;\n")
    upgraded = Migrator(db, shipped.root, backup=False, sets=sources)
    assert [(m.set_name, m.version) for m in upgraded.up().steps] == [("rawdb", SHIPPED + 1)]
    assert upgraded.problems() == [] and upgraded.current("app") == 2


def test_down_rolls_back_one_set_and_never_under_its_dependents(
    tmp_path: Path, app: MigrationDir
) -> None:
    """down --set app rolls back the app's versions only; rolling rawdb back under the app's
    applied migrations is refused, naming them and the command to run first."""
    db = tmp_path / "app.sqlite3"
    migrator(db, app).up()
    with pytest.raises(MigrationStateError, match=r"app 0001_notes .* stand on it.*--set app"):
        migrator(db, app).down(set_name="rawdb")
    assert migrator(db, app).current() == SHIPPED
    done = migrator(db, app).down(set_name="app", to=0)
    assert done.done == [2, 1] and migrator(db, app).current("app") == 0
    assert migrator(db, app).current() == SHIPPED
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name LIKE 'app_%'") == []


def test_down_without_a_set_pops_the_top_of_the_stack(tmp_path: Path, app: MigrationDir) -> None:
    """Unnamed, down acts on the last configured set that has applied versions."""
    db = tmp_path / "app.sqlite3"
    migrator(db, app).up()
    assert [(m.set_name, m.version) for m in migrator(db, app).down().steps] == [("app", 2)]


def test_new_writes_only_into_an_application_set(tmp_path: Path, app: MigrationDir) -> None:
    """new numbers the app's next migration in the app's folder; with no app set it is refused
    with the fix, and rawdb's own set is never written to."""
    db = tmp_path / "app.sqlite3"
    up_path, down_path = migrator(db, app).new("add_flags")
    assert up_path == app.root / "migrations" / "0003_add_flags.sql" and down_path.is_file()
    assert f"requires=rawdb:{SHIPPED}" in up_path.read_text()
    alone = Migrator(db, backup=False, settings=Settings(database=db))
    before = sorted(p.name for p in (shipped_root() / "migrations").iterdir())
    with pytest.raises(UsageError, match="RAWDB_MIGRATIONS=app="):
        alone.new("add_flags")
    with pytest.raises(UsageError, match="none is configured"):
        migrator(db, app).new("x", set_name="rawdb")
    assert sorted(p.name for p in (shipped_root() / "migrations").iterdir()) == before


def test_old_single_set_bookkeeping_upgrades_in_place(tmp_path: Path, app: MigrationDir) -> None:
    """A database migrated before sets existed — including an app that had put its
    migrations in a copy of rawdb's folder as 0010 and 0011 — gets the set column: rawdb's
    rows stay rawdb's, the app's rows move to the app set by their checksum."""
    db = tmp_path / "old.sqlite3"
    copy = MigrationDir(tmp_path / "copied")
    shutil.rmtree(copy.root)
    shutil.copytree(shipped_root(), copy.root)
    for number, name, up in ((1, "notes", NOTES_UP), (2, "tags", TAGS_UP)):
        file = f"{SHIPPED + number:04d}_{name}.sql"
        (copy.root / "migrations" / file).write_text(up)
        (copy.root / "rollback" / file).write_text("SELECT 1;\n")
    Migrator(db, copy.root, backup=False, sets=[]).up()
    to_single_set_layout(db)
    with_app = migrator(db, app)
    assert with_app.problems() == []  # read-only: the rows are placed before the upgrade
    with_app.up()  # nothing pending; rewrites the version table
    assert rows(
        db,
        "SELECT set_name, count(*), max(version) FROM rawdb_migrations "
        "GROUP BY set_name ORDER BY 1",
    ) == [("app", 2, 2), ("rawdb", SHIPPED, SHIPPED)]
    assert "set_name" in {r[1] for r in rows(db, "PRAGMA table_info(rawdb_migration_history)")}
    assert migrator(db, app).problems() == []


def test_a_bad_set_in_the_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """RAWDB_MIGRATIONS names sets NAME=FOLDER; the shipped set's name or a repeated one is a
    ConfigError naming the variable."""
    monkeypatch.setenv("RAWDB_MIGRATIONS", "app=db/app, billing=db/billing")
    assert [s.name for s in Settings().migrations] == ["app", "billing"]

    for bad, words in (("rawdb=x", "not 'rawdb'"), ("a=x,a=y", "given twice: a")):
        monkeypatch.setenv("RAWDB_MIGRATIONS", bad)
        with pytest.raises(ConfigError, match=rf"RAWDB_MIGRATIONS.*{words}"):
            Settings()
