"""Adopting a database the migrator did not create: prove it matches, then record a baseline."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from rawdb.errors import AdoptionRefused
from rawdb.migrate import schema
from rawdb.migrate.files import MigrationSet
from rawdb.migrate.splitter import split

MAX_LISTED = 12


def application_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in schema.MIGRATOR_TABLES]


_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)", re.IGNORECASE
)


def created_tables(migrations: MigrationSet) -> set[str]:
    """Names of the tables the set's migrations create, read from their statements (nothing
    is run: a set with a broken migration still answers)."""
    found: set[str] = set()
    for migration in migrations.migrations:
        for stmt in split(migration.up.text, migration.up.path):
            match = _CREATE_TABLE.match(stmt.sql)
            if match:
                found.add(match.group(1).lower())
    return found


def alembic_revisions(conn: sqlite3.Connection) -> list[str] | None:
    """The rows of ``alembic_version``, or None when the table is absent."""
    if "alembic_version" not in application_tables(conn):
        return None
    return [str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version")]


Layer = tuple[MigrationSet, int]
"""A migration set and the version it stands at."""


def expected_snapshot(
    migrations: MigrationSet, upto: int, below: Sequence[Layer] = ()
) -> schema.Snapshot:
    """The schema versions 1..upto create (on top of the sets ``below`` at their versions),
    built in a scratch in-memory database."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for layer, version in (*below, (migrations, upto)):
            for migration in layer.migrations:
                if migration.version > version:
                    break
                for stmt in split(migration.up.text, migration.up.path):
                    scratch.execute(stmt.sql).fetchall()
        return schema.snapshot(scratch)
    finally:
        scratch.close()


def adoptable_version(migrations: MigrationSet, conn: sqlite3.Connection) -> int:
    """The version an unmanaged database can be adopted at, by its Alembic revision.

    Raises :class:`AdoptionRefused` saying what differs when it cannot be adopted.
    """
    tables = application_tables(conn)
    revisions = alembic_revisions(conn)
    rules = {m.up.options.adopt_alembic: m.version for m in migrations.migrations}
    rules.pop(None, None)
    if revisions is None:
        shown = ", ".join(tables[:MAX_LISTED])
        raise AdoptionRefused(
            f"the database holds tables rawdb did not create ({shown}) and no alembic_version; "
            "if it matches migrations 1..N, adopt it with `python -m rawdb.migrate baseline N`"
        )
    if len(revisions) != 1 or revisions[0] not in rules:
        known = ", ".join(f"{rev} (version {v})" for rev, v in rules.items()) or "none"
        raise AdoptionRefused(
            f"the database is at Alembic revision {revisions or 'none'}; rawdb adopts only "
            f"{known}. Bring it to that revision with the application's Alembic first. "
            "Nothing was changed."
        )
    return rules[revisions[0]]


def check_matches(
    migrations: MigrationSet, conn: sqlite3.Connection, upto: int, below: Sequence[Layer] = ()
) -> None:
    """Refuse, listing the differences, unless the database holds what 1..upto create (on
    top of the sets ``below``)."""
    by_version = migrations.by_version()
    missing = [v for v in range(1, upto + 1) if v not in by_version]
    if missing:
        raise AdoptionRefused(f"cannot baseline at {upto}: no migration files for {missing}")
    for version in range(1, upto + 1):
        revision = by_version[version].up.options.adopt_alembic
        found = alembic_revisions(conn)
        if revision is not None and found is not None and found != [revision]:
            raise AdoptionRefused(
                f"migration {version:04d} adopts Alembic revision {revision}, but the database "
                f"is at {found}; nothing was changed"
            )
    expected = expected_snapshot(migrations, upto, below)
    diff = schema.differences(expected, schema.snapshot(conn))
    if diff:
        listed = "\n  - ".join(diff[:MAX_LISTED])
        more = f"\n  … and {len(diff) - MAX_LISTED} more" if len(diff) > MAX_LISTED else ""
        raise AdoptionRefused(
            f"the database does not match migrations 1..{upto}; nothing was changed. "
            f"Differences:\n  - {listed}{more}"
        )
