"""Other tools' migration sets converted to rawdb sets, and databases those tools bookkept
adopted. Each source set is written here from the tool's documented layout (no committed
fixtures), converted, and run up, down and up again on a real file; the schema must be the one
the original SQL builds. Real files, the CLI in real subprocesses."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rawdb.config import MigrationSource, Settings
from rawdb.errors import AdoptionRefused, UsageError
from rawdb.migrate import Migrator, discover, schema
from rawdb.migrate.convert import Report, convert
from rawdb.migrate.foreign import FOREIGN_TABLES

from conftest import RunCli

# --- one schema history, as every tool's users write it ---------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    up: str
    down: str
    no_transaction: bool = False


STEPS = (
    Step(
        "create_members",
        "CREATE TABLE members (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL\n);\n",
        "DROP TABLE members;\n",
    ),
    Step(
        "create_invoices",
        "CREATE TABLE invoices (\n"
        "    id INTEGER PRIMARY KEY,\n"
        "    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,\n"
        "    total REAL NOT NULL\n"
        ");\n"
        "CREATE INDEX invoices_member ON invoices (member_id);\n",
        "DROP INDEX invoices_member;\nDROP TABLE invoices;\n",
    ),
    # The rebuild as SQLite's documentation and most sets write it: its own transaction and
    # foreign keys off around it. The down is written for a tool running with foreign keys
    # off, and its last statement lacks its ';'.
    Step(
        "add_member_email",
        "PRAGMA foreign_keys=OFF;\n"
        "BEGIN TRANSACTION;\n"
        "CREATE TABLE new_members (\n"
        "    id INTEGER PRIMARY KEY,\n"
        "    name TEXT NOT NULL,\n"
        "    email TEXT NOT NULL DEFAULT ''\n"
        ");\n"
        "INSERT INTO new_members (id, name) SELECT id, name FROM members;\n"
        "DROP TABLE members;\n"
        "ALTER TABLE new_members RENAME TO members;\n"
        "COMMIT;\n"
        "PRAGMA foreign_keys=ON;\n",
        "CREATE TABLE old_members (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "INSERT INTO old_members (id, name) SELECT id, name FROM members;\n"
        "DROP TABLE members;\n"
        "ALTER TABLE old_members RENAME TO members\n",
    ),
    Step(
        "touch_trigger",
        "CREATE TRIGGER members_touch AFTER UPDATE ON members BEGIN\n"
        "    UPDATE invoices SET total = total WHERE member_id = new.id;\n"
        "END;\n",
        "DROP TRIGGER members_touch;\n",
    ),
    Step("compact", "VACUUM;\n", "SELECT 1;\n", no_transaction=True),
)
STAMP = 20240101000000  # dbmate, goose and Diesel name files after the time of day


def upstream_schema(tmp: Path, steps: tuple[Step, ...] = STEPS) -> str:
    """The schema the original SQL builds, run as the tools run it (one script per file)."""
    path = tmp / "upstream-reference.sqlite3"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path, isolation_level=None) as conn:
        for step in steps:
            conn.executescript(step.up)
        return schema.dump(conn)


# --- the layouts, from each tool's documentation ----------------------------------------------


def golang_migrate(folder: Path) -> None:
    for number, step in enumerate(STEPS, start=1):
        (folder / f"{number:06d}_{step.name}.up.sql").write_text(step.up)
        (folder / f"{number:06d}_{step.name}.down.sql").write_text(step.down)


def dbmate(folder: Path) -> None:
    for number, step in enumerate(STEPS, start=1):
        option = " transaction:false" if step.no_transaction else ""
        (folder / f"{STAMP + number}_{step.name}.sql").write_text(
            f"-- migrate:up{option}\n{step.up}\n-- migrate:down{option}\n{step.down}"
        )


def goose(folder: Path) -> None:
    for number, step in enumerate(STEPS, start=1):
        up, down = step.up, step.down
        if "TRIGGER" in up:
            up = f"-- +goose StatementBegin\n{up}-- +goose StatementEnd\n"
        top = "-- +goose NO TRANSACTION\n" if step.no_transaction else ""
        (folder / f"{STAMP + number}_{step.name}.sql").write_text(
            f"{top}-- +goose Up\n{up}\n-- +goose Down\n{down}"
        )


def rockhopper(folder: Path) -> None:
    for number, step in enumerate(STEPS, start=1):
        top = "-- !txn\n" if step.no_transaction else ""
        (folder / f"{STAMP + number}_{step.name}.sql").write_text(
            f"{top}-- @package app\n-- +up\n-- +begin\n{step.up}-- +end\n\n"
            f"-- +down\n-- +begin\n{step.down}-- +end\n"
        )


def diesel(folder: Path) -> None:
    for number, step in enumerate(STEPS, start=1):
        stamp = str(STAMP + number)
        dashed = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}-{stamp[8:]}"
        migration = folder / f"{dashed}_{step.name}"
        migration.mkdir()
        (migration / "up.sql").write_text(step.up)
        (migration / "down.sql").write_text(step.down)
        if step.no_transaction:
            (migration / "metadata.toml").write_text("run_in_transaction = false\n")


FLYWAY_VERSIONS = ("1", "2", "3", "3_1", "4")  # 3_1 is Flyway's 3.1


def flyway(folder: Path) -> None:
    for version, step in zip(FLYWAY_VERSIONS, STEPS, strict=True):
        description = step.name.capitalize()
        (folder / f"V{version}__{description}.sql").write_text(step.up)
        (folder / f"U{version}__{description}.sql").write_text(step.down)
        if step.no_transaction:
            (folder / f"V{version}__{description}.sql.conf").write_text(
                "executeInTransaction=false\n"
            )


def yoyo(folder: Path) -> None:
    previous = None
    for number, step in enumerate(STEPS, start=1):
        ident = f"{number:04d}.{step.name.replace('_', '-')}"
        header = f"-- {step.name}\n"
        header += f"-- depends: {previous}\n" if previous else ""
        header += "-- transactional: false\n" if step.no_transaction else ""
        (folder / f"{ident}.sql").write_text(header + step.up)
        (folder / f"{ident}.rollback.sql").write_text(step.down)
        previous = ident


LAYOUTS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "golang-migrate": ("golang-migrate", golang_migrate),
    "dbmate": ("dbmate", dbmate),
    "goose": ("goose", goose),
    "rockhopper": ("goose", rockhopper),
    "diesel": ("diesel", diesel),
    "flyway": ("flyway", flyway),
    "yoyo": ("yoyo", yoyo),
}
VERSIONS = {
    "golang-migrate": [1, 2, 3, 4, 5],
    "dbmate": [STAMP + n for n in range(1, 6)],
    "goose": [STAMP + n for n in range(1, 6)],
    "rockhopper": [STAMP + n for n in range(1, 6)],
    "diesel": [STAMP + n for n in range(1, 6)],
    "flyway": [1, 2, 3, 4, 5],
    "yoyo": [1, 2, 3, 4, 5],
}


def source_set(tmp: Path, layout: str) -> Path:
    folder = tmp / f"{layout}-source"
    folder.mkdir()
    LAYOUTS[layout][1](folder)
    return folder


def converted(tmp: Path, layout: str) -> tuple[Path, Report]:
    tool = LAYOUTS[layout][0]
    dest = tmp / f"{layout}-rawdb"
    report = convert(source_set(tmp, layout), dest, tool)
    return dest, report


def dump(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return schema.dump(conn)


# --- conversion -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_converts_and_runs_up_down_up(layout: str, tmp_path: Path) -> None:
    """Converted, the set passes validate, builds the schema the original SQL builds, keeps
    the rows through the table rebuild (no cascade), rolls back to nothing, and builds the
    identical schema again."""
    dest, report = converted(tmp_path, layout)
    assert report.needs_human == 0, report.as_json()
    found = discover(dest)
    assert [m.version for m in found.migrations] == VERSIONS[layout]
    db = tmp_path / "converted.sqlite3"
    migrator = Migrator(db, dest, backup=False)
    assert migrator.problems() == []
    migrator.up(to=VERSIONS[layout][1])
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO members (id, name) VALUES (1, 'ada')")
        conn.execute("INSERT INTO invoices (member_id, total) VALUES (1, 9.5)")
    migrator.up()
    after_up = migrator.dump_schema()
    assert dump(db) == upstream_schema(tmp_path)
    migrator.down(to=VERSIONS[layout][1])
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM invoices").fetchone()[0] == 1
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    migrator.down(to=0)
    assert dump(db) == upstream_schema(tmp_path, ())
    migrator.up()
    assert migrator.dump_schema() == after_up


def test_the_rebuild_is_converted_to_the_header_form(tmp_path: Path) -> None:
    """Own BEGIN/COMMIT and PRAGMA foreign_keys become the header; the down written for a
    tool running with foreign keys off gets the header for its rebuild and its missing ';';
    VACUUM keeps its file outside a transaction. The report says each."""
    dest, report = converted(tmp_path, "golang-migrate")
    rebuild = (dest / "migrations" / "000003_add_member_email.sql").read_text()
    assert rebuild.startswith("-- add member email\n-- Converted from golang-migrate: ")
    assert "-- rawdb: foreign_keys=off\n" in rebuild
    assert "BEGIN" not in rebuild and "COMMIT" not in rebuild and "PRAGMA" not in rebuild
    assert "CREATE TABLE new_members" in rebuild
    undo = (dest / "rollback" / "000003_add_member_email.sql").read_text()
    assert "-- rawdb: foreign_keys=off\n" in undo
    assert undo.rstrip().endswith("ALTER TABLE old_members RENAME TO members;")
    vacuum = (dest / "migrations" / "000005_compact.sql").read_text()
    assert "-- rawdb: transaction=off\n" in vacuum
    changes = {m.name: " | ".join(m.changes) for m in report.migrations}
    rebuilt = changes["000003_add_member_email"]
    assert "000003_add_member_email.up.sql:2: removed its own BEGIN" in rebuilt
    assert "000003_add_member_email.up.sql:11: removed its own COMMIT" in rebuilt
    assert "000003_add_member_email.up.sql:1: PRAGMA foreign_keys=OFF became the header" in rebuilt
    assert "000003_add_member_email.down.sql:4: added the ';' the last statement lacked" in rebuilt
    assert "000003_add_member_email.down.sql: rebuilds members" in rebuilt
    assert (
        "000005_compact.up.sql:1: VACUUM cannot run in a transaction" in changes["000005_compact"]
    )


def test_single_file_layouts_keep_the_files_line_numbers(tmp_path: Path) -> None:
    """Notes on a dbmate or goose file name the line of that file, past its markers."""
    _dest, report = converted(tmp_path, "dbmate")
    name = f"{STAMP + 3}_add_member_email"
    changes = " | ".join(report.migrations[2].changes)
    assert f"{name}.sql:3: removed its own BEGIN" in changes  # line 1 is '-- migrate:up'
    assert f"{name}.sql:19: added the ';'" in changes
    _dest, report = converted(tmp_path, "goose")
    changes = " | ".join(report.migrations[2].changes)
    assert f"{name}.sql:3: removed its own BEGIN" in changes


def test_flyway_dotted_versions_are_renumbered_in_flyways_order(tmp_path: Path) -> None:
    """V1, V2, V3, V3_1, V4 become 0001..0005 in Flyway's order, each file naming its Flyway
    version in an adopt header; the undo files are the rollbacks; a repeatable migration is
    not converted and says why."""
    source = source_set(tmp_path, "flyway")
    (source / "R__views.sql").write_text("CREATE VIEW v AS SELECT 1;\n")
    report = convert(source, tmp_path / "out", "flyway")
    assert [m.name for m in report.migrations] == [
        "0001_Create_members",
        "0002_Create_invoices",
        "0003_Add_member_email",
        "0004_Touch_trigger",
        "0005_Compact",
    ]
    fourth = (tmp_path / "out" / "migrations" / "0004_Touch_trigger.sql").read_text()
    assert "-- rawdb: adopt flyway=3.1\n" in fourth
    assert "Flyway version 3.1 is rawdb version 0004" in " ".join(report.migrations[3].changes)
    assert all(m.rollback is not None for m in report.migrations)
    assert report.skipped == [
        "R__views.sql: a repeatable migration (run again whenever it changes); rawdb has none: "
        "make it a versioned migration"
    ]


def test_yoyo_ids_without_numbers_are_ordered_by_their_dependencies(tmp_path: Path) -> None:
    """yoyo ids such as ``20230501_01_AbCdE-create-members`` are renumbered in yoyo's order:
    dependencies first, then the id."""
    source = tmp_path / "yoyo"
    source.mkdir()
    (source / "20230501_01_ZzZzZ-create-members.sql").write_text(
        "-- create members\n" + STEPS[0].up
    )
    (source / "20230501_01_ZzZzZ-create-members.rollback.sql").write_text(STEPS[0].down)
    (source / "20230501_02_AaAaA-create-invoices.sql").write_text(
        "-- depends: 20230501_01_ZzZzZ-create-members 20230501_03_BbBbB-missing\n" + STEPS[1].up
    )
    (source / "20230501_02_AaAaA-create-invoices.rollback.sql").write_text(STEPS[1].down)
    report = convert(source, tmp_path / "out", "auto")
    assert report.tool == "yoyo"
    assert [m.name for m in report.migrations] == [
        "0001_20230501_01_ZzZzZ-create-members",
        "0002_20230501_02_AaAaA-create-invoices",
    ]
    second = report.migrations[1]
    assert "depends on 20230501_01_ZzZzZ-create-members (applied before it, as version 0001)" in (
        second.changes
    )
    assert second.needs_human == [
        "depends on 20230501_03_BbBbB-missing, which is not in the folder: check the order"
    ]


def test_a_yoyo_dependency_cycle_is_reported(tmp_path: Path) -> None:
    """Two yoyo migrations depending on each other are converted in id order, and the cycle
    needs a human."""
    source = tmp_path / "yoyo"
    source.mkdir()
    (source / "a.sql").write_text("-- depends: b\nCREATE TABLE a (x);\n")
    (source / "a.rollback.sql").write_text("DROP TABLE a;\n")
    (source / "b.sql").write_text("-- depends: a\nCREATE TABLE b (x);\n")
    (source / "b.rollback.sql").write_text("DROP TABLE b;\n")
    report = convert(source, tmp_path / "out", "yoyo")
    assert [m.name for m in report.migrations] == ["0001_a", "0002_b"]
    assert any("form a cycle among a, b" in s for s in report.skipped)
    assert report.migrations[0].needs_human == [
        "depends on b, which comes after it (a cycle): check the order"
    ]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_auto_detects_each_layout(layout: str, tmp_path: Path) -> None:
    """``--from auto`` tells each tool's layout by its files."""
    report = convert(source_set(tmp_path, layout), tmp_path / "out", "auto")
    assert report.tool == LAYOUTS[layout][0]


def test_what_needs_a_human_is_said(tmp_path: Path) -> None:
    """A missing down, SQL that SQLite refuses, a Go migration and an ATTACH are listed as
    needing a human; the rest is converted."""
    source = tmp_path / "goose"
    source.mkdir()
    (source / "00001_create.sql").write_text(f"-- +goose Up\n{STEPS[0].up}")
    (source / "00002_attach.sql").write_text(
        "-- +goose Up\nATTACH 'x.db' AS x;\n-- +goose Down\nDETACH x;\n"
    )
    (source / "00003_postgres.sql").write_text(
        "-- +goose Up\nCREATE TABLE p (id SERIAL, at TIMESTAMPTZ DEFAULT now());\n"
        "-- +goose Down\nDROP TABLE p;\n"
    )
    (source / "00004_data.go").write_text("package migrations\n")
    report = convert(source, tmp_path / "out", "goose")
    needs = {m.name: m.needs_human for m in report.migrations}
    assert any(
        "no down migration; write rollback/00001_create.sql" in n for n in needs["00001_create"]
    )
    assert any("ATTACH" in n and "refused by rawdb" in n for n in needs["00002_attach"])
    assert any(
        n.startswith("migrations/00003_postgres.sql:4: SQLite") and "syntax error" in n
        for n in needs["00003_postgres"]
    ), needs
    assert any("00004_data.go: a Go migration" in s for s in report.skipped)
    assert report.needs_human >= 4


def test_convert_refuses_a_folder_holding_a_set(tmp_path: Path) -> None:
    """An existing set is never overwritten."""
    dest, _report = converted(tmp_path, "dbmate")
    with pytest.raises(UsageError, match="already holds migrations"):
        convert(tmp_path / "dbmate-source", dest, "dbmate")


def test_the_cli_prints_and_returns_the_report(tmp_path: Path, run_cli: RunCli) -> None:
    """``rawdb migrate convert`` prints per file what changed and exits 0 when nothing needs a
    human; ``--json`` returns the same; a folder no tool wrote is a usage error (exit 2)."""
    source = source_set(tmp_path, "dbmate")
    done = run_cli("convert", "--from", "dbmate", str(source), str(tmp_path / "text"))
    assert done.returncode == 0, done.stderr
    assert "converted 5 dbmate migrations" in done.stdout
    assert f"  {STAMP + 3}_add_member_email  <- {STAMP + 3}_add_member_email.sql" in done.stdout
    assert "changed: " in done.stdout and "nothing needs a human" in done.stdout
    as_json = run_cli("convert", str(source), str(tmp_path / "json"), "--json")
    assert as_json.returncode == 0, as_json.stderr
    parsed = json.loads(as_json.stdout)
    assert parsed["tool"] == "dbmate" and parsed["needs_human"] == 0
    assert [m["version"] for m in parsed["migrations"]] == VERSIONS["dbmate"]
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello\n")
    unknown = run_cli("convert", str(empty), str(tmp_path / "x"))
    assert unknown.returncode == 2 and "could not tell which tool" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    (tmp_path / "a_file").write_text("not a folder\n")
    blocked = run_cli("convert", str(source), str(tmp_path / "a_file"))
    assert blocked.returncode == 1 and blocked.stderr.startswith("error: "), blocked.stderr
    assert "a_file" in blocked.stderr and "Traceback" not in blocked.stderr


# --- adoption of databases other tools bookkept -----------------------------------------------

BOOKKEEPING: dict[str, Callable[[sqlite3.Connection, list[str]], None]] = {}


def _bookkeeping(
    tool: str,
) -> Callable[
    [Callable[[sqlite3.Connection, list[str]], None]],
    Callable[[sqlite3.Connection, list[str]], None],
]:
    def register(
        fn: Callable[[sqlite3.Connection, list[str]], None],
    ) -> Callable[[sqlite3.Connection, list[str]], None]:
        BOOKKEEPING[tool] = fn
        return fn

    return register


@_bookkeeping("golang-migrate")
def _golang_table(conn: sqlite3.Connection, applied: list[str]) -> None:
    conn.execute("CREATE TABLE schema_migrations (version uint64, dirty bool)")
    conn.execute("CREATE UNIQUE INDEX version_unique ON schema_migrations (version)")
    conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (int(applied[-1]),))


@_bookkeeping("dbmate")
def _dbmate_table(conn: sqlite3.Connection, applied: list[str]) -> None:
    conn.execute('CREATE TABLE "schema_migrations" (version varchar(128) primary key)')
    conn.executemany("INSERT INTO schema_migrations VALUES (?)", [(v,) for v in applied])


@_bookkeeping("goose")
def _goose_table(conn: sqlite3.Connection, applied: list[str]) -> None:
    conn.execute(
        "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, "
        "tstamp TIMESTAMP DEFAULT (datetime('now')))"
    )
    rows = [(0, 1), *((int(v), 1) for v in applied)]
    rows += [(int(STAMP + 5), 1), (int(STAMP + 5), 0)]  # applied, then rolled back
    conn.executemany("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", rows)


@_bookkeeping("diesel")
def _diesel_table(conn: sqlite3.Connection, applied: list[str]) -> None:
    conn.execute(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
        "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    conn.executemany(
        "INSERT INTO __diesel_schema_migrations (version) VALUES (?)", [(v,) for v in applied]
    )


@_bookkeeping("flyway")
def _flyway_table(conn: sqlite3.Connection, applied: list[str]) -> None:
    conn.execute(
        'CREATE TABLE "flyway_schema_history" ("installed_rank" INT NOT NULL PRIMARY KEY, '
        '"version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT '
        'NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INT, "installed_by" VARCHAR(100) '
        "NOT NULL, \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), "
        '"execution_time" INT NOT NULL, "success" BOOLEAN NOT NULL)'
    )
    for rank, version in enumerate(applied, start=1):
        conn.execute(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
            "script, checksum, installed_by, execution_time, success) "
            "VALUES (?, ?, 'x', 'SQL', ?, 0, 'me', 1, 1)",
            (rank, version, f"V{version.replace('.', '_')}__x.sql"),
        )


# What each tool records for the first four migrations (Flyway: through 3.1).
APPLIED = {
    "golang-migrate": ["1", "2", "3", "4"],
    "dbmate": [str(STAMP + n) for n in range(1, 5)],
    "goose": [str(STAMP + n) for n in range(1, 5)],
    "diesel": [str(STAMP + n) for n in range(1, 5)],
    "flyway": ["1", "2", "3", "3.1"],
}


def tool_database(tmp: Path, tool: str, applied: list[str] | None = None) -> Path:
    """A database as the tool leaves it after the first four migrations, with a row."""
    db = tmp / f"{tool}.sqlite3"
    with sqlite3.connect(db, isolation_level=None) as conn:
        for step in STEPS[:4]:
            conn.executescript(step.up)
        conn.execute("INSERT INTO members (id, name) VALUES (1, 'ada')")
        conn.execute("INSERT INTO invoices (member_id, total) VALUES (1, 9.5)")
        BOOKKEEPING[tool](conn, APPLIED[tool] if applied is None else applied)
    conn.close()
    return db


def app_migrator(db: Path, dest: Path) -> Migrator:
    return Migrator(
        db,
        backup=False,
        sets=[MigrationSource(name="app", folder=dest)],
        settings=Settings(database=db),
    )


def without_foreign(db: Path) -> str:
    """The application's schema, without the other tool's table and rawdb's own set."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND tbl_name IN "
            "('members', 'invoices') ORDER BY type, name"
        ).fetchall()
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")} & FOREIGN_TABLES
    return "\n".join(schema.normalize_sql(r[0]) for r in rows)


@pytest.mark.parametrize("tool", sorted(BOOKKEEPING))
def test_a_database_bookkept_by_each_tool_is_adopted(tool: str, tmp_path: Path) -> None:
    """``up`` recognises the tool's table, baselines the converted application set at the
    version it records (after the schema comparison), applies the rest, and keeps the rows;
    the tool's table stays as it was."""
    layout = tool
    dest, _report = converted(tmp_path, layout)
    db = tool_database(tmp_path, tool)
    with sqlite3.connect(db) as conn:
        table = next(
            t
            for t in FOREIGN_TABLES
            if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (t,)).fetchone()
        )
        before = conn.execute(f"SELECT * FROM {table}").fetchall()
    heard: list[str] = []
    migrator = app_migrator(db, dest)
    migrator.report = heard.append
    result = migrator.up()
    fourth = VERSIONS[layout][3]
    assert [(a.migration_set.name, a.version) for a in result.adopted] == [("app", fourth)]
    assert [m.version for m in result.steps if m.set_name == "app"] == [VERSIONS[layout][4]]
    assert any(f"recognised a database migrated by {tool}" in line for line in heard)
    applied = migrator.applied("app")
    assert [v for v, a in applied.items() if a.baselined] == VERSIONS[layout][:4]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM invoices").fetchone()[0] == 1
        assert conn.execute(f"SELECT * FROM {table}").fetchall() == before
    fresh = tmp_path / "fresh.sqlite3"
    app_migrator(fresh, dest).up()
    with sqlite3.connect(fresh) as conn:
        _golang_table(conn, ["1"])  # only so that both files hold a foreign table
    assert without_foreign(db) == without_foreign(fresh)
    assert app_migrator(db, dest).up().done == []  # adopted once; the table is history now


def test_a_dirty_golang_migrate_database_is_refused(tmp_path: Path) -> None:
    """golang-migrate's dirty flag means a migration failed half way: refused, untouched."""
    dest, _report = converted(tmp_path, "golang-migrate")
    db = tool_database(tmp_path, "golang-migrate")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_migrations SET dirty = 1")
    before = db.read_bytes()
    with pytest.raises(AdoptionRefused, match=r"dirty at version 4 .*`migrate force 4`"):
        app_migrator(db, dest).up()
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("tool", "applied", "words"),
    [
        ("dbmate", [str(STAMP + n) for n in (1, 2, 4)], "but not 20240101000003_add_member_email"),
        ("diesel", [str(STAMP + n) for n in (1, 2, 3, 4, 9)], "no migration for (20240101000009"),
    ],
)
def test_versions_the_set_cannot_vouch_for_are_refused(
    tool: str, applied: list[str], words: str, tmp_path: Path
) -> None:
    """A version applied out of order (3 missing below 4), or one the converted set lacks, is
    refused with what to do; nothing is changed."""
    dest, _report = converted(tmp_path, tool)
    db = tool_database(tmp_path, tool, applied)
    before = db.read_bytes()
    with pytest.raises(AdoptionRefused, match=re.escape(words)):
        app_migrator(db, dest).up()
    assert db.read_bytes() == before


def test_a_schema_that_differs_is_refused(tmp_path: Path) -> None:
    """The tool's table is not taken on trust: the schema must be what the versions build."""
    dest, _report = converted(tmp_path, "goose")
    db = tool_database(tmp_path, "goose")
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE INDEX extra ON members (name)")
    with pytest.raises(AdoptionRefused, match="index extra on members: not created"):
        app_migrator(db, dest).up()
