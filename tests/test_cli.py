"""The ``rawdb`` command as operators run it: one vocabulary of options, exit codes that mean
one thing each, errors said once, output that survives ``| head``, and a demo that keeps to
its own file. Every case runs real processes on real SQLite files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rawdb import cli_common, log
from rawdb.config import Settings
from rawdb.demo.run import DEMO_APPLICATION_ID
from rawdb.migrate import Migrator
from rawdb.pool import Pool
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

from conftest import ROOT

Run = subprocess.CompletedProcess[str]

# Each reporting command, without its database; the verb comes last so options can follow it.
COMMANDS = {
    "migrate status": ["migrate", "status"],
    "migrate up": ["migrate", "up"],
    "migrate validate": ["migrate", "validate"],
    "partitions status": ["partitions", "status"],
    "partitions move": ["partitions", "move", "--dry-run"],
    "monitor": ["monitor"],
}


def rawdb(*args: str) -> list[str]:
    """The argv of ``rawdb ARGS`` (the console script may not be on PATH)."""
    return [sys.executable, "-m", "rawdb", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without RAWDB_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAWDB_")}
    return env | extra


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    return subprocess.run(
        rawdb(*args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env() if env is None else env,
        cwd=cwd,
    )


def run_all(commands: list[list[str]], cwd: Path | None = None) -> list[Run]:
    """Several ``rawdb`` commands at once (each is a process of its own)."""
    procs = [
        subprocess.Popen(
            rawdb(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            cwd=cwd,
        )
        for args in commands
    ]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def json_lines(text: str) -> list[dict[str, object]]:
    """Every non-empty line parsed as a JSON object (fails on any other line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def app_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database that the read-only cases share."""
    db = tmp_path_factory.mktemp("cli") / "app.sqlite3"
    Migrator(db, backup=False, settings=Settings(database=db)).up()
    return db


@pytest.fixture
def broken_set(tmp_path: Path) -> Path:
    """A migration set whose second migration fails."""
    root = tmp_path / "set"
    (root / "migrations").mkdir(parents=True)
    (root / "rollback").mkdir()
    for name, sql in (("0001_a.sql", "CREATE TABLE a (x);"), ("0002_b.sql", "CREATE TABLE a (x);")):
        (root / "migrations" / name).write_text(f"-- {name}\n{sql}\n")
        (root / "rollback" / name).write_text("DROP TABLE IF EXISTS a;\n")
    return root


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- the same options on every command ------------------------------------------------------


def test_version_on_every_command(app_db: Path) -> None:
    """--version prints ``rawdb <version>`` for the umbrella, each command and after a verb."""
    commands = [
        ["--version"],
        ["migrate", "--version"],
        ["migrate", "status", "--version"],
        ["partitions", "--version"],
        ["partitions", "status", "--version"],
        ["monitor", "--version"],
        ["demo", "--version"],
    ]
    for result in run_all(commands):
        assert result.returncode == 0, (result.args, result.stderr)
        assert re.fullmatch(r"rawdb \S+\n", result.stdout), result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_db_and_json_before_or_after_the_verb(name: str, app_db: Path, tmp_path: Path) -> None:
    """--db and --json after the verb, before it, and before the command word (passed on):
    each run reads the named file (the working directory has none, so the default file would
    fail) and --json prints one JSON value."""
    group, *verb = COMMANDS[name]
    db = str(app_db)
    results = run_all(
        [
            [group, *verb, "--db", db, "--json"],
            [group, "--db", db, "--json", *verb],
            ["--db", db, "--json", group, *verb],
            [group, "--db", db, *verb],
        ],
        cwd=tmp_path,
    )
    for result in results:
        assert result.returncode == 0, (result.args, result.stderr)
    for result in results[:3]:
        json.loads(result.stdout)
    assert list(tmp_path.iterdir()) == []


def test_the_older_database_option_still_works(app_db: Path) -> None:
    """--database, the older spelling of partitions and monitor, is accepted (not listed)."""
    status, monitor = run_all(
        [
            ["partitions", "--database", str(app_db), "status"],
            ["monitor", "--database", str(app_db)],
        ]
    )
    assert status.returncode == 0 and monitor.returncode == 0, (status.stderr, monitor.stderr)
    assert "--database" not in run("monitor", "--help").stdout


def test_wait_sets_the_busy_timeout(app_db: Path) -> None:
    """--wait is a number of seconds on every command; nonsense is a usage error naming it."""
    good = run("partitions", "status", "--db", str(app_db), "--wait", "0.5")
    assert good.returncode == 0, good.stderr
    for value in ("nan", "-1", "soon"):
        bad = run("monitor", "--db", str(app_db), "--wait", value)
        assert bad.returncode == 2 and "--wait" in bad.stderr, bad.stderr


def test_migrate_up_and_down_report_json(tmp_path: Path) -> None:
    """up --json and down --json print one object of what was done, and nothing else."""
    db = tmp_path / "j.sqlite3"
    up = run("migrate", "up", "--db", str(db), "--json", "--no-backup")
    assert up.returncode == 0, up.stderr
    done = json.loads(up.stdout)
    versions = [d["version"] for d in done["done"]]
    assert done["command"] == "up" and done["current"] == max(versions) > 0
    assert {d["set"] for d in done["done"]} == {"rawdb"} and done["backup"] is None
    down = run("migrate", "--db", str(db), "down", "--json", "--no-backup")
    undone = json.loads(down.stdout)
    assert down.returncode == 0 and [d["version"] for d in undone["done"]] == [done["current"]]
    assert undone["current"] == done["current"] - 1
    dry = run("migrate", "--db", str(db), "up", "--dry-run", "--json")
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] and "CREATE" in planned["sql"]


# --- output into a pipe that closes -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_head_one_ends_quietly(name: str, app_db: Path) -> None:
    """``rawdb ... | head -1``: the first line arrives, and no traceback."""
    proc = subprocess.Popen(
        rawdb(*COMMANDS[name], "--db", str(app_db)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=proc.stdout, capture_output=True, check=False)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert head.stdout.strip()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 0, err


@pytest.mark.parametrize(
    "args",
    [
        [*COMMANDS["partitions status"], "--json"],
        ["migrate", "up", "--dry-run"],
        ["monitor", "--watch", "0.05", "--count", "3"],
        ["--help"],
    ],
    ids=["partitions status", "migrate up --dry-run", "monitor --watch", "help"],
)
def test_a_closed_pipe_is_no_traceback(args: list[str], app_db: Path, tmp_path: Path) -> None:
    """Output into a pipe whose reader has already gone: no traceback, the command still
    finishes (a dry run on a fresh file creates nothing), and its exit code stands."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    db = tmp_path / "fresh.sqlite3" if "--dry-run" in args else app_db
    try:
        result = subprocess.run(
            rawdb(*args, "--db", str(db)) if args != ["--help"] else rawdb(*args),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=clean_env(),
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.returncode == 0
    assert not (tmp_path / "fresh.sqlite3").exists()


# --- exit codes and errors --------------------------------------------------------------------


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """Malformed command lines exit 2 with a usage message, and create nothing."""
    usages = [
        [],
        ["fly"],
        ["migrate", "fly"],
        ["migrate", "new", "Bad Slug"],
        ["partitions", "status", "--bogus"],
        ["partitions", "archive", "--family", "instruments", "2026-01"],
        ["monitor", "--watch", "0"],
        ["monitor", "--json", "--prometheus"],
        ["demo", "--ticks", "0"],
    ]
    for result in run_all(usages, cwd=tmp_path):
        assert result.returncode == 2, (result.args, result.stdout, result.stderr)
        assert "error" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_other_outcome_exits_2(app_db: Path, tmp_path: Path, broken_set: Path) -> None:
    """Success, a failed command, validate's problems and health are never 2."""
    missing = str(tmp_path / "typo.sqlite3")
    outcomes = run_all(
        [
            ["monitor", "--db", str(app_db)],
            ["partitions", "status", "--db", str(app_db)],
            ["partitions", "status", "--db", missing],
            ["monitor", "--db", missing],
            ["migrate", "status", "--db", missing],
            ["migrate", "validate", "--dir", str(broken_set), "--db", str(app_db)],
            ["migrate", "up", "--dir", str(broken_set), "--db", str(tmp_path / "b.sqlite3")],
        ]
    )
    codes = [r.returncode for r in outcomes]
    assert codes == [0, 0, 1, 1, 1, 1, 1], [(r.args, r.stderr) for r in outcomes]


def test_exit_codes_are_distinct_and_documented() -> None:
    """docs/cli.md's table lists each code of rawdb.cli_common once, with the usage code 2."""
    codes = {
        cli_common.EXIT_OK,
        cli_common.EXIT_FAILED,
        cli_common.EXIT_USAGE,
        cli_common.EXIT_DEGRADED,
        cli_common.EXIT_UNHEALTHY,
        cli_common.EXIT_INTERRUPTED,
    }
    assert len(codes) == 6 and cli_common.EXIT_USAGE == 2
    assert cli_common.HEALTH_EXIT == {"healthy": 0, "degraded": 3, "unhealthy": 4}
    text = (ROOT / "docs" / "cli.md").read_text()
    documented = [int(m) for m in re.findall(r"^\| (\d+) \|", text, flags=re.MULTILINE)]
    assert sorted(documented) == sorted(codes)


def test_a_failing_command_says_its_error_once(tmp_path: Path, broken_set: Path) -> None:
    """A failed migration: one ``error:`` line and its message once on stderr, exit 1."""
    db = tmp_path / "f.sqlite3"
    result = run("migrate", "up", "--dir", str(broken_set), "--db", str(db), "--no-backup")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.count("table a already exists") == 1, result.stderr
    assert "applied 0001_a" in result.stdout


@pytest.mark.parametrize("how", ["--log-json", "RAWDB_LOG_FORMAT"])
def test_json_logs_keep_stderr_json(how: str, tmp_path: Path, broken_set: Path) -> None:
    """With --log-json (or RAWDB_LOG_FORMAT=json) every stderr line is JSON, the failure is one
    cli.failed event, and no plain error line is added."""
    db = tmp_path / "f.sqlite3"
    args = ["migrate", "up", "--dir", str(broken_set), "--db", str(db), "--no-backup"]
    env = clean_env(RAWDB_LOG_FORMAT="json") if how == "RAWDB_LOG_FORMAT" else None
    result = run(*args, *(["--log-json"] if how == "--log-json" else []), env=env)
    assert result.returncode == 1
    events = json_lines(result.stderr)
    failed = [e for e in events if e["event"] == log.CLI_FAILED]
    assert len(failed) == 1 and "table a already exists" in str(failed[0]["error"])
    assert failed[0]["exit_code"] == 1
    assert any(e["event"] == "migration.applied" for e in events)  # the level is info


def test_json_logs_for_usage_errors_and_other_commands(app_db: Path, tmp_path: Path) -> None:
    """Usage errors and the other commands' failures keep stderr JSON under --log-json."""
    missing = str(tmp_path / "typo.sqlite3")
    results = run_all(
        [
            ["partitions", "status", "--bogus", "--log-json"],
            ["partitions", "status", "--db", missing, "--log-json"],
            ["monitor", "--db", missing, "--log-json"],
            ["demo", "--db", str(app_db), "--log-json"],
        ]
    )
    assert [r.returncode for r in results] == [2, 1, 1, 1]
    for result in results:
        failed = [e for e in json_lines(result.stderr) if e["event"] == log.CLI_FAILED]
        assert len(failed) == 1, result.stderr


def test_log_level_from_the_environment(tmp_path: Path) -> None:
    """RAWDB_LOG_LEVEL works for the CLIs: console lines at the level asked for."""
    db = tmp_path / "l.sqlite3"
    quiet = run("migrate", "up", "--db", str(db), "--no-backup")
    assert quiet.returncode == 0 and quiet.stderr == ""
    (tmp_path / "l.sqlite3").unlink()
    loud = run(
        "migrate", "up", "--db", str(db), "--no-backup", env=clean_env(RAWDB_LOG_LEVEL="info")
    )
    assert loud.returncode == 0 and "migration.applied" in loud.stderr


def test_a_mistyped_db_is_named_as_missing(tmp_path: Path) -> None:
    """Commands that need a database say the file does not exist, and create none."""
    db = str(tmp_path / "typo.sqlite3")
    commands = [["partitions", "status"], ["monitor"], ["migrate", "status"]]
    for result in run_all([[*args, "--db", db] for args in commands]):
        assert result.returncode == 1, (result.args, result.stderr)
        assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_is_plain_text() -> None:
    """Help shows no reStructuredText markup."""
    commands = [
        ["--help"],
        ["migrate", "--help"],
        ["migrate", "up", "--help"],
        ["partitions", "--help"],
        ["partitions", "move", "--help"],
        ["monitor", "--help"],
        ["demo", "--help"],
    ]
    for result in run_all(commands):
        assert result.returncode == 0, result.stderr
        assert "``" not in result.stdout and ":mod:" not in result.stdout, result.stdout


# --- partitions move --dry-run ---------------------------------------------------------------


def test_move_dry_run_says_would_move(tmp_path: Path) -> None:
    """A dry run reports 'would move' in text and JSON, and the row stays where it is."""
    db = tmp_path / "m.sqlite3"

    async def one_old_row() -> None:
        async with Pool.open(Settings(database=db), migrate=True) as pool:
            es = (await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})).id
            await ticks.insert_ticks(pool, [TickRow(es, datetime(2019, 5, 1, tzinfo=UTC), 1.0)])

    asyncio.run(one_old_row())
    text, as_json = run_all(
        [
            ["partitions", "move", "--dry-run", "--db", str(db)],
            ["partitions", "move", "--dry-run", "--db", str(db), "--json"],
        ]
    )
    assert text.returncode == 0 and as_json.returncode == 0, (text.stderr, as_json.stderr)
    assert "market_data: would move 1 row(s)" in text.stdout
    assert "moved" not in text.stdout
    found = json.loads(as_json.stdout)["market_data"]
    assert found["action"] == "would move" and found["rows"] == {"market_data_2019_05": 1}
    status = json.loads(run("partitions", "status", "--db", str(db), "--json").stdout)
    tables = [t["name"] for f in status for t in f["tables"]]
    assert "market_data_2019_05" not in tables


# --- the demo keeps to its own file ------------------------------------------------------------


def test_demo_refuses_a_database_it_did_not_create(tmp_path: Path) -> None:
    """A database made by ``rawdb migrate up`` is refused, exit 1, not a byte written."""
    db = tmp_path / "app.sqlite3"
    assert run("migrate", "up", "--db", str(db), "--no-backup").returncode == 0
    before = files_of(tmp_path)
    result = run("demo", "--db", str(db), "--ticks", "200")
    assert result.returncode == 1
    assert "not made by the demo" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1
    assert files_of(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_demo_leaves_the_rawdb_database_alone(tmp_path: Path) -> None:
    """RAWDB_DATABASE naming an application's database: the demo writes its own file in the
    working directory instead, marked as the demo's, and reuses it on a second run."""
    real = tmp_path / "real" / "app.sqlite3"
    real.parent.mkdir()
    Migrator(real, backup=False, settings=Settings(database=real)).up()
    before = files_of(real.parent)
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env(RAWDB_DATABASE=str(real))
    for _ in range(2):
        result = run("demo", "--ticks", "500", "--json", env=env, cwd=work)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["database"] == "rawdb-demo.sqlite3"
    assert files_of(real.parent) == before
    header = (work / "rawdb-demo.sqlite3").read_bytes()[:100]
    assert int.from_bytes(header[68:72], "big") == DEMO_APPLICATION_ID
