"""What ``validate`` and ``status`` report: naming, rollbacks, drift, order, needs, and every
check ``up`` and ``down`` make on the files, made without writing to the database.

Each finding says whether it stops ``up``. Drift of an applied file and migrations out of order
do; a file that ``up`` would refuse is refused by ``up`` itself, when it is about to run it, with
the same message; what concerns only rollbacks (a missing or edited rollback file) stops only
``down``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawdb.config import SHIPPED_SET
from rawdb.errors import MigrationFileError
from rawdb.migrate import history
from rawdb.migrate.files import Migration, MigrationSet, SqlFile
from rawdb.migrate.sets import Stack
from rawdb.migrate.splitter import check_allowed, split

NO_ROLLBACK = "no rollback file"


@dataclass(frozen=True)
class Finding:
    """One problem, and whether ``up`` refuses to run while it stands."""

    text: str
    blocks_up: bool = True


def file_refusal(sql_file: SqlFile) -> str | None:
    """Why the migrator would refuse to run this file (its own BEGIN/COMMIT, PRAGMA
    foreign_keys, ATTACH, an incomplete statement…), None when it would run it."""
    try:
        statements = split(sql_file.text, sql_file.path)
        check_allowed(statements, sql_file.path, in_transaction=not sql_file.options.no_transaction)
    except MigrationFileError as exc:
        return str(exc)
    return None


def rollback_edited(migration: Migration, row: history.Applied) -> str | None:
    """The problem when the rollback file differs from the one recorded with the applied
    version (None when it matches, or nothing was recorded)."""
    down = migration.down
    if down is None or row.rollback_checksum is None or row.rollback_checksum == down.checksum:
        return None
    return (
        f"{down.path}: rollback edited after {migration.set_name} {migration.name} was applied "
        f"(checksum {row.rollback_checksum[:12]} recorded, {down.checksum[:12]} now); restore "
        "it as it was (from version control). A rollback that was wrong is not fixed by "
        "editing it once its migration is applied: add a new migration that repairs the schema"
    )


def set_findings(
    stack: Stack,
    migration_set: MigrationSet,
    done: dict[int, history.Applied],
    *,
    file_checks: bool = True,
) -> list[Finding]:
    """Everything wrong with one set's files and with how they stand against the database
    (``file_checks`` False: without splitting every file, for a caller that needs only what
    stops ``up``)."""
    found = [Finding(p) for p in migration_set.problems]
    for migration in migration_set.migrations:
        found += _migration_findings(stack, migration_set, migration, file_checks=file_checks)
    found += _drift(migration_set, done)
    return found


def _migration_findings(
    stack: Stack, migration_set: MigrationSet, migration: Migration, *, file_checks: bool
) -> list[Finding]:
    found: list[Finding] = []
    irreversible = migration.up.options.irreversible is not None
    if migration.down is None and not irreversible:
        found.append(
            Finding(
                f"{migration.up.path}: {NO_ROLLBACK} "
                f"({migration_set.root / 'rollback' / migration.up.path.name}); write one, or "
                "mark the migration '-- rawdb: irreversible=REASON' if it cannot be undone",
                blocks_up=False,
            )
        )
    if migration.down is not None and irreversible:
        found.append(
            Finding(
                f"{migration.up.path}: marked '-- rawdb: irreversible' but has the rollback file "
                f"{migration.down.path}; remove the header or the rollback",
                blocks_up=False,
            )
        )
    for sql_file in (migration.up, migration.down) if file_checks else ():
        refusal = file_refusal(sql_file) if sql_file is not None else None
        if refusal is not None:
            found.append(Finding(refusal, blocks_up=False))  # up refuses it when it runs it
    for name, version in migration.up.options.requires:
        if name not in stack.names:
            found.append(
                Finding(
                    f"{migration.up.path}: requires {name} {version:04d}, but no migration "
                    f"set named {name!r} is configured"
                )
            )
        elif stack.get(name).newest < version:
            found.append(
                Finding(
                    f"{migration.up.path}: requires {name} {version:04d}, but the newest "
                    f"migration of {name} is {stack.get(name).newest:04d}",
                    blocks_up=False,  # up refuses it, with the fix, when it would run it
                )
            )
    return found


def _drift(migration_set: MigrationSet, done: dict[int, history.Applied]) -> list[Finding]:
    """Applied versions whose files are gone or changed, and pending ones below them."""
    found: list[Finding] = []
    label = "" if migration_set.name == SHIPPED_SET else f"{migration_set.name} "
    files = migration_set.by_version()
    for version, row in sorted(done.items()):
        on_disk = files.get(version)
        if on_disk is None:
            found.append(
                Finding(
                    f"{label}version {version:04d} ({row.name}) is applied but its file is "
                    f"gone (set folder {migration_set.root})"
                )
            )
        elif on_disk.up.checksum != row.checksum:
            found.append(
                Finding(
                    f"{on_disk.up.path}: edited after it was applied (checksum "
                    f"{row.checksum[:12]} applied, {on_disk.up.checksum[:12]} now); released "
                    "migrations are never edited: revert it and add a new migration"
                )
            )
        else:
            edited = rollback_edited(on_disk, row)
            if edited is not None:
                found.append(Finding(edited, blocks_up=False))
    top = max(done, default=0)
    for migration in migration_set.migrations:
        if migration.version not in done and migration.version < top:
            found.append(
                Finding(
                    f"{migration.up.path}: pending {label}version {migration.version:04d} is "
                    f"lower than applied version {top:04d} (out of order); renumber it above "
                    f"{top:04d}"
                )
            )
    return found
