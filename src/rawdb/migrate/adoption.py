"""Adopting a database the migrator did not create: prove it matches, then record a baseline.

A database built by Alembic is recognised by its revision (a migration's
``-- rawdb: adopt alembic=<revision>`` header); one built by golang-migrate, dbmate, goose,
Diesel or Flyway by that tool's bookkeeping table (:mod:`rawdb.migrate.foreign`), matched to
the set converted from the tool's files: by a migration's ``-- rawdb: adopt TOOL=VERSION``
header, else by its version number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rawdb import sql_setup
from rawdb.backend import DriverError, SyncConnection, current
from rawdb.errors import AdoptionRefused, MigrationFailed
from rawdb.migrate import schema
from rawdb.migrate.files import MigrationSet
from rawdb.migrate.foreign import Foreign, version_key
from rawdb.migrate.splitter import split
from rawdb.migrate.sql import SQL
from rawdb.sql_setup import SqlSetup

MAX_LISTED = 12


def application_tables(conn: SyncConnection) -> list[str]:
    rows = conn.execute(SQL["application_table_names"].sql).fetchall()
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


def alembic_revisions(conn: SyncConnection) -> list[str] | None:
    """The rows of ``alembic_version``, or None when the table is absent."""
    if "alembic_version" not in application_tables(conn):
        return None
    return [str(r[0]) for r in conn.execute(SQL["alembic_revisions"].sql)]


Layer = tuple[MigrationSet, int]
"""A migration set and the version it stands at."""


def expected_snapshot(
    migrations: MigrationSet,
    upto: int,
    below: Sequence[Layer] = (),
    setup: SqlSetup | str | None = None,
) -> schema.Snapshot:
    """The schema versions 1..upto create (on top of the sets ``below`` at their versions),
    built in a scratch in-memory database with the application's SQL ``setup``. A statement
    that fails there is a MigrationFailed naming its file and line."""
    scratch = current().scratch(setup)
    try:
        for layer, version in (*below, (migrations, upto)):
            for migration in layer.migrations:
                if migration.version > version:
                    break
                for stmt in split(migration.up.text, migration.up.path):
                    try:
                        scratch.execute(stmt.sql).fetchall()
                    except DriverError as exc:
                        raise MigrationFailed(
                            f"{migration.up.path}:{stmt.line}: building the schema this set "
                            f"should give, to compare it with the database, failed: {exc}"
                            f"{sql_setup.missing_hint(exc)}; nothing was changed",
                            path=str(migration.up.path),
                            line=stmt.line,
                            version=migration.version,
                        ) from exc
        return schema.snapshot(scratch)
    finally:
        scratch.close()


def adoptable_version(migrations: MigrationSet, conn: SyncConnection) -> int:
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
    migrations: MigrationSet,
    conn: SyncConnection,
    upto: int,
    below: Sequence[Layer] = (),
    setup: SqlSetup | str | None = None,
) -> None:
    """Refuse, listing the differences, unless the database holds what 1..upto create (on
    top of the sets ``below``)."""
    if upto not in migrations.by_version():
        raise AdoptionRefused(f"cannot baseline at {upto}: no migration file has version {upto}")
    for migration in migrations.migrations:
        if migration.version > upto:
            break
        revision = migration.up.options.adopt_alembic
        found = alembic_revisions(conn)
        if revision is not None and found is not None and found != [revision]:
            raise AdoptionRefused(
                f"migration {migration.name} adopts Alembic revision {revision}, but the "
                f"database is at {found}; nothing was changed"
            )
    expected = expected_snapshot(migrations, upto, below, setup)
    diff = schema.differences(expected, schema.snapshot(conn))
    if diff:
        listed = "\n  - ".join(diff[:MAX_LISTED])
        more = f"\n  … and {len(diff) - MAX_LISTED} more" if len(diff) > MAX_LISTED else ""
        raise AdoptionRefused(
            f"the database does not match migrations 1..{upto}; nothing was changed. "
            f"Differences:\n  - {listed}{more}"
        )


def _by_foreign_version(migrations: MigrationSet, tool: str) -> dict[tuple[int, ...], int]:
    """The set's versions by the other tool's versions they stand for: from the migrations'
    ``adopt TOOL=VERSION`` headers when the set has any, else the version numbers themselves."""
    by_header = {
        version_key(m.up.options.adopt_from[1]): m.version
        for m in migrations.migrations
        if m.up.options.adopt_from is not None and m.up.options.adopt_from[0] == tool
    }
    return by_header or {(m.version,): m.version for m in migrations.migrations}


def foreign_version(migrations: MigrationSet, found: Foreign) -> int | None:
    """The version of ``migrations`` a database bookkept by another tool is at (None when the
    tool applied nothing). Refused when the database is dirty or half failed, when the set
    lacks a version the tool applied, or when the tool applied versions out of order, so
    that a baseline up to that version would record as applied a file that never ran."""
    if found.problem is not None:
        raise AdoptionRefused(found.problem)
    current = found.current
    if current is None:
        return None
    mapping = _by_foreign_version(migrations, found.tool)
    unknown = [v for v in (*found.applied, current) if version_key(v) not in mapping]
    if unknown:
        newest = migrations.migrations[-1].name if migrations.migrations else "none"
        raise AdoptionRefused(
            f"the database records {found.tool} versions the set {migrations.name!r} has no "
            f"migration for ({', '.join(dict.fromkeys(unknown))}, in {found.table}; the "
            f"set's newest is {newest}). Convert the tool's newer files into the set too "
            "(`rawdb migrate convert`). Nothing was changed"
        )
    version = mapping[version_key(current)]
    floor = mapping[version_key(found.floor)] if found.floor is not None else 0
    applied = {mapping[version_key(v)] for v in found.applied}
    expected = {m.version for m in migrations.migrations if m.version <= version}
    skipped = sorted(v for v in expected if v not in applied and v > floor)
    if skipped:
        names = {m.version: m.name for m in migrations.migrations}
        listed = ", ".join(names[v] for v in skipped[:MAX_LISTED])
        raise AdoptionRefused(
            f"{found.tool} applied {migrations.name} up to {names[version]} but not {listed} "
            f"(applied out of order, per {found.table}); apply them with {found.tool} first, "
            "then run this again. Nothing was changed"
        )
    return version
