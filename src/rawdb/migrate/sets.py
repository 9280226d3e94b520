"""Migration sets stacked on one database: rawdb's shipped set first, then the application's,
each with its own version sequence.

The rules between sets live here: what a migration needs applied before it (its
``-- rawdb: requires=SET:N`` header, and implicitly the sets below it as they stood when it was
applied), which rows a rollback would pull from under another set, and where a row of the old
single-set version table belongs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rawdb.config import SHIPPED_SET
from rawdb.errors import MigrationStateError, UsageError
from rawdb.migrate.files import Migration, MigrationSet
from rawdb.migrate.history import Applied

BySet = dict[str, dict[int, Applied]]


@dataclass(frozen=True)
class Stack:
    """The configured sets in the order they apply (rawdb's first)."""

    sets: tuple[MigrationSet, ...]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sets]

    def get(self, name: str) -> MigrationSet:
        for found in self.sets:
            if found.name == name:
                return found
        configured = ", ".join(self.names)
        raise UsageError(
            f"no migration set named {name!r} is configured (configured: {configured}); "
            "add it with --migrations NAME=FOLDER or RAWDB_MIGRATIONS"
        )

    def below(self, name: str) -> list[MigrationSet]:
        """The sets applied before ``name``."""
        return list(self.sets[: self.names.index(name)])

    def app_sets(self) -> list[MigrationSet]:
        return [s for s in self.sets if s.name != SHIPPED_SET]

    def owner(self, version: int, name: str, checksum: str) -> tuple[str, int]:
        """Where a row of the old single-set table belongs: the shipped set when its file
        there matches, else an application set holding a file with that checksum (an app
        that once added its migrations to a copy of rawdb's folder), else the shipped set."""
        shipped = self.sets[0].by_version().get(version)
        if shipped is not None and shipped.up.checksum == checksum:
            return SHIPPED_SET, version
        for app in self.app_sets():
            for migration in app.migrations:
                if migration.up.checksum == checksum and migration.slug == name[5:]:
                    return app.name, migration.version
        return SHIPPED_SET, version


def depends_on(stack: Stack, migration: Migration, by_set: BySet) -> dict[str, int]:
    """What ``migration`` stands on once applied: the sets below it at their current versions,
    and whatever its header requires."""
    found = {
        below.name: max(by_set.get(below.name, {}), default=0)
        for below in stack.below(migration.set_name)
    }
    for name, version in migration.up.options.requires:
        found[name] = max(found.get(name, 0), version)
    return {name: version for name, version in found.items() if version > 0}


def check_requirements(stack: Stack, targets: Sequence[Migration], by_set: BySet) -> None:
    """Refuse, before anything is touched, a run in which a migration's ``requires`` would not
    be applied by the time it runs (the run applies ``targets`` in order)."""
    reached = {name: max(rows, default=0) for name, rows in by_set.items()}
    for migration in targets:
        for name, version in migration.up.options.requires:
            if reached.get(name, 0) >= version:
                continue
            if name not in stack.names:
                raise MigrationStateError(
                    f"{migration.up.path}: {migration.qualified} requires {name} {version:04d}, "
                    f"but no migration set named {name!r} is configured; nothing was applied"
                )
            newest = stack.get(name).newest
            if newest < version:
                fix = "upgrade rawdb" if name == SHIPPED_SET else f"add it to the set {name!r}"
                raise MigrationStateError(
                    f"{migration.up.path}: {migration.qualified} requires {name} {version:04d}, "
                    f"but the newest migration of {name} is {newest:04d}: {fix}. "
                    "Nothing was applied"
                )
            raise MigrationStateError(
                f"{migration.up.path}: {migration.qualified} requires {name} {version:04d}, "
                f"which is not applied (at {reached.get(name, 0):04d}): run `rawdb migrate up` "
                f"for every set, or `rawdb migrate up --set {name}` first. Nothing was applied"
            )
        reached[migration.set_name] = migration.version


def refuse_dependents(name: str, lowest: int, by_set: BySet) -> None:
    """Refuse rolling ``name`` back to below ``lowest`` while another set's applied migration
    stands on version ``lowest`` or later of it."""
    standing = [
        row
        for other, rows in by_set.items()
        if other != name
        for row in rows.values()
        if row.depends_on.get(name, 0) >= lowest
    ]
    if not standing:
        return
    shown = ", ".join(
        f"{row.set_name} {row.name} (on {name} {row.depends_on[name]:04d})" for row in standing[:5]
    )
    more = f" and {len(standing) - 5} more" if len(standing) > 5 else ""
    sets = sorted({row.set_name for row in standing})
    first = min((row.version for row in standing if row.set_name == sets[0]), default=1)
    raise MigrationStateError(
        f"refusing to roll back {name} {lowest:04d}: {shown}{more} stand on it. Roll "
        f"{' and '.join(sets)} back first (e.g. `rawdb migrate down --set {sets[0]} --to "
        f"{first - 1}`). Nothing was rolled back"
    )


def top_set(stack: Stack, by_set: BySet) -> str:
    """The set ``down`` acts on when none is named: the last configured set with applied
    versions (the top of the stack), else rawdb's."""
    for found in reversed(stack.sets):
        if by_set.get(found.name):
            return found.name
    return SHIPPED_SET
