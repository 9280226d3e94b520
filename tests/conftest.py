"""Shared fixtures: real database files in a temporary folder, migration sets, the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rawdb import log
from rawdb.config import Settings
from rawdb.pool import Pool

ROOT = Path(__file__).resolve().parents[1]


def schema_rows(path: Path) -> list[tuple[str, str, str]]:
    """(type, name, stored SQL) of every application object, as SQLite keeps them."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'rawdb_%' ORDER BY type, name"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path that does not exist yet."""
    return tmp_path / "test.sqlite3"


def run_together(commands: list[list[str]], timeout: float) -> list[tuple[int, str, str]]:
    """Start every command at once (real processes), then wait for all: each one's exit code,
    stdout and stderr, in order."""
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    outputs = [proc.communicate(timeout=timeout) for proc in procs]
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]


class MigrationDir:
    """A folder of migrations/ and rollback/ that a test writes files into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "migrations").mkdir(parents=True)
        (root / "rollback").mkdir()

    def add(self, name: str, up: str | bytes, down: str | bytes | None = "") -> Path:
        """Write ``migrations/name`` (and its rollback unless ``down`` is None)."""
        path = self.root / "migrations" / name
        _write(path, up)
        if down is not None:
            _write(self.root / "rollback" / name, down)
        return path


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.fixture
def mdir(tmp_path: Path) -> MigrationDir:
    """An empty migration set in its own folder."""
    return MigrationDir(tmp_path / "set")


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``python -m rawdb.migrate`` in a real subprocess, in the test's folder."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "rawdb.migrate", *args],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
async def pool(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A pool on a fresh database file migrated to the newest version."""
    settings = Settings(database=tmp_path / "app.sqlite3")
    async with Pool.open(settings, migrate=True) as opened:
        yield opened


@pytest.fixture
async def sqlite_pool(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The same as ``pool``, by a name a module whose ``pool`` runs on both engines keeps for
    its tests about SQLite itself (its query plans)."""
    async with Pool.open(Settings(database=tmp_path / "app.sqlite3"), migrate=True) as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_pool(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A pool on a fresh migrated database of each engine: a file on disk, or a new database
    on a real PostgreSQL server."""
    if request.param == "sqlite":
        settings = Settings(database=tmp_path / "app.sqlite3")
    else:
        settings = Settings(database_url=request.getfixturevalue("pg_url"))
    async with Pool.open(settings, migrate=True) as opened:
        assert opened.dialect == request.param
        yield opened


# --- TradeAssist legacy databases, for the schema tests ------------------------------------

LEGACY_TICKS = 40_000
LEGACY_MONTHS = 4


@pytest.fixture(scope="session")
def legacy_tool():
    """``tools/legacy_fixture.py`` imported as a module (the tools folder is not a package)."""
    import importlib.util  # noqa: PLC0415 -- appended fixture; the imports above are shared

    spec = importlib.util.spec_from_file_location(
        "legacy_fixture", ROOT / "tools" / "legacy_fixture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def legacy_template(tmp_path_factory: pytest.TempPathFactory, legacy_tool) -> Path:
    """One legacy TradeAssist database (40k ticks over 4 months), built once per session."""
    path = tmp_path_factory.mktemp("legacy") / "tradeassist.sqlite3"
    legacy_tool.build(path, ticks=LEGACY_TICKS, months=LEGACY_MONTHS, seed=7)
    return path


@pytest.fixture
def legacy_db(tmp_path: Path, legacy_template: Path) -> Path:
    """A private copy of the legacy database for one test to adopt, migrate or break."""
    import shutil  # noqa: PLC0415 -- appended fixture; the imports above are shared

    target = tmp_path / "tradeassist.sqlite3"
    shutil.copyfile(legacy_template, target)
    return target


@pytest.fixture(scope="session")
def fault_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/faults/eio.c built into a shared library for LD_PRELOAD (gcc is in the image)."""
    import shutil  # noqa: PLC0415 -- appended fixture; the imports above are shared

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no C compiler to build the fault-injection library (install gcc)")
    target = tmp_path_factory.mktemp("faults") / "eio.so"
    source = Path(__file__).parent / "faults" / "eio.c"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(target), str(source), "-ldl"],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Every test starts with logging as a new process has it: a CLI's main() that an earlier
    test ran in-process set up logging (its level included) for the whole process."""
    yield
    log.reset()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reliability report when the whole suite ran and passed (not a -k subset or
    a few files)."""
    import reliability  # noqa: PLC0415 -- tests/ is on the path only once collection began

    selected = session.config.getoption("keyword") or session.config.getoption("markexpr")
    whole = all(Path(arg).resolve() == Path(__file__).parent for arg in session.config.args)
    if reliability.SCENARIOS and exitstatus == 0 and not selected and whole:
        reliability.write_report()


def to_single_set_layout(db: Path) -> None:
    """Rewrite the bookkeeping as rawdb wrote it before migration sets."""
    with sqlite3.connect(db) as conn:
        conn.executescript(
            """
            CREATE TABLE old_versions (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL, duration_ms REAL NOT NULL,
                baselined INTEGER NOT NULL DEFAULT 0 CHECK (baselined IN (0, 1)));
            INSERT INTO old_versions SELECT version, name, checksum, applied_at, duration_ms,
                baselined FROM rawdb_migrations;
            DROP TABLE rawdb_migrations;
            ALTER TABLE old_versions RENAME TO rawdb_migrations;
            ALTER TABLE rawdb_migration_history DROP COLUMN set_name;
            """
        )


def build_wheel(source: Path, dist: Path) -> Path:
    """A wheel of the project at ``source`` (no dependencies, no build isolation) in ``dist``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return next(dist.glob("rawdb-*.whl"))


# --- PostgreSQL -------------------------------------------------------------------------------
# The PostgreSQL tests run against a real server: RAWDB_TEST_POSTGRESQL_URL when set (.ci/run
# starts a throwaway one and sets it), else a throwaway cluster started here for the session.
# They skip, saying why, only when no server can be had; with RAWDB_TEST_REQUIRE_POSTGRESQL=1
# (as in CI) that is a failure instead.


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, for the whole session."""
    given = os.environ.get("RAWDB_TEST_POSTGRESQL_URL")
    if given:
        yield given
        return
    import importlib.util  # noqa: PLC0415 -- appended fixture; the imports above are shared

    spec = importlib.util.spec_from_file_location(
        "throwaway_postgres", ROOT / "tools" / "throwaway_postgres.py"
    )
    assert spec is not None and spec.loader is not None
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    try:
        url = server.start()
    except server.ServerError as exc:
        if os.environ.get("RAWDB_TEST_REQUIRE_POSTGRESQL") == "1":
            pytest.fail(f"PostgreSQL is required here and did not start: {exc}")
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    try:
        yield url
    finally:
        server.stop(server.folder_of(url))


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(postgresql_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped after it)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"rawdb_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgresql_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    base, _, query = postgresql_server.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    with psycopg.connect(postgresql_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
