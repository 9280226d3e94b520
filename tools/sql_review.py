"""The SQL review check a pull request runs over sql/ and the packages' statement files.

Every migration has its rollback; names and numbers are well formed; the SQL lints (sqlfluff:
the migrations and every src/rawdb/**/sql/*.sql in SQLite's dialect, each postgresql/ folder
in PostgreSQL's, told by its .sqlfluff); the PostgreSQL set holds the versions and slugs of
the SQLite set; each migration survives up, down, up with identical schema and data; and
sql/schema.sql is what the migrations build. Exits 1 listing every problem. (The PostgreSQL
set's round trip needs a server: tests/test_postgresql_migrate.py runs it.)

    python tools/sql_review.py [--write-schema] [--no-lint]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from rawdb import log
from rawdb.migrate import Migrator, discover
from rawdb.migrate.review import newest_schema, round_trip, schema_is_current

ROOT = Path(__file__).resolve().parents[1]
SQL = ROOT / "sql"
SCHEMA = SQL / "schema.sql"


def lint() -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlfluff",
            "lint",
            "--nofail",
            "--format",
            "github-annotation-native",
            str(SQL / "migrations"),
            str(SQL / "rollback"),
            str(SQL / "partitions"),
            str(SQL / "postgresql"),
            # The statements rawdb's packages run, each package's sql/ folder.
            *sorted(str(folder) for folder in (ROOT / "src" / "rawdb").glob("**/sql")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return [
        line
        for line in result.stdout.splitlines()
        if line.startswith(("::warning", "::error", "::notice"))
    ]


def dialects() -> list[str]:
    """The PostgreSQL set has exactly the SQLite set's migrations (numbers and slugs)."""
    sqlite = {m.name for m in discover(SQL).migrations}
    postgresql = {m.name for m in discover(SQL / "postgresql").migrations}
    return [
        f"sql/postgresql/migrations lacks {name}.sql" for name in sorted(sqlite - postgresql)
    ] + [
        f"sql/postgresql/migrations/{name}.sql has no twin in sql/migrations"
        for name in sorted(postgresql - sqlite)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write-schema", action="store_true", help="rewrite sql/schema.sql")
    parser.add_argument("--no-lint", action="store_true", help="skip sqlfluff")
    args = parser.parse_args()
    log.configure(level="warning")
    if args.write_schema:
        SCHEMA.write_text(newest_schema(SQL))
        print(f"wrote {SCHEMA.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        problems = Migrator(Path(scratch) / "x.sqlite3", SQL).problems()
    checks = {
        "files": problems,
        "dialects": dialects(),
        "lint": [] if args.no_lint else lint(),
        "round trip": round_trip(SQL),
        "schema.sql": schema_is_current(SQL, SCHEMA),
    }
    failed = False
    for name, found in checks.items():
        print(f"{name}: {'ok' if not found else f'{len(found)} problem(s)'}")
        for problem in found:
            print(f"  - {problem}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
