"""Other migration tools' bookkeeping tables: which tool left a database at which versions.

rawdb only reads these tables, never writes or drops them (the database stays usable by the
other tool until the switch is done). What it relies on, per tool, with each tool's default
table name:

=============== ============================ ============================================
tool            table and columns read       applied versions
=============== ============================ ============================================
golang-migrate  ``schema_migrations``        the one row's ``version`` and every version
                (``version``, ``dirty``)     below it; ``dirty`` true is refused
dbmate          ``schema_migrations``        every row's ``version``
                (``version``, no ``dirty``)
goose           ``goose_db_version``         each ``version_id`` whose newest row (by
                (``id``, ``version_id``,     ``id``) has ``is_applied`` true; version 0 is
                ``is_applied``)              goose's own first row
Diesel          ``__diesel_schema_migrations`` every row's ``version`` (the folder's
                (``version``)                timestamp without its dashes)
Flyway          ``flyway_schema_history``    in ``installed_rank`` order: versioned rows
                (``installed_rank``,         that succeeded, minus those a later
                ``version``, ``type``,       ``UNDO_*`` or ``DELETE`` row removed; a
                ``script``, ``success``)     ``BASELINE`` row stands for every version up
                                             to its own; a failed row is refused
=============== ============================ ============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rawdb.backend import SyncConnection
from rawdb.migrate.sql import SQL

TABLES = {
    "golang-migrate": "schema_migrations",
    "dbmate": "schema_migrations",
    "goose": "goose_db_version",
    "diesel": "__diesel_schema_migrations",
    "flyway": "flyway_schema_history",
}
FOREIGN_TABLES = frozenset(TABLES.values())
_FLYWAY_SEPARATORS = re.compile(r"[._]")


@dataclass(frozen=True)
class Foreign:
    """What another tool's table says about a database."""

    tool: str
    table: str
    applied: tuple[str, ...] = ()
    """Versions recorded as applied one by one, as the tool writes them."""
    floor: str | None = None
    """Every version up to this one counts as applied (golang-migrate's single row, a Flyway
    baseline)."""
    problem: str | None = None
    """Why the database cannot be adopted as it is (golang-migrate's dirty flag, a failed
    Flyway migration); None when it can."""

    @property
    def current(self) -> str | None:
        """The newest version applied, None when the tool applied nothing."""
        found = [*self.applied, *([self.floor] if self.floor is not None else [])]
        return max(found, key=version_key, default=None)

    def describe(self) -> str:
        return f"{self.tool} ({self.table} at version {self.current})"


def version_key(version: str) -> tuple[int, ...]:
    """A version as numbers to compare: ``1.10`` after ``1.9``, ``1.0`` equal to ``1`` (as
    Flyway orders them; a plain number is a one-part version)."""
    parts = [int(p) for p in _FLYWAY_SEPARATORS.split(version.strip()) if p.isdigit()]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def detect(conn: SyncConnection) -> list[Foreign]:
    """Every other tool's bookkeeping table found in the database, read."""
    tables = {str(r[0]).lower(): str(r[0]) for r in conn.execute(SQL["all_table_names"].sql)}
    found: list[Foreign] = []
    if "schema_migrations" in tables:
        name = tables["schema_migrations"]
        columns = _columns(conn, name)
        if "version" in columns:
            read = _golang_migrate if "dirty" in columns else _dbmate
            found.append(read(conn, name))
    for tool, reader in (("goose", _goose), ("diesel", _diesel), ("flyway", _flyway)):
        if TABLES[tool] in tables:
            found.append(reader(conn, tables[TABLES[tool]]))
    return found


def _columns(conn: SyncConnection, table: str) -> set[str]:
    return {str(r[1]).lower() for r in conn.execute(SQL["table_info"].sql, (table,))}


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "t", "yes"}


def _text(value: object) -> str:
    return str(int(value)) if isinstance(value, int | float) else str(value).strip()


def _golang_migrate(conn: SyncConnection, table: str) -> Foreign:
    rows = conn.execute(SQL["golang_migrate_versions"].render(table=table)).fetchall()
    versions = [(_text(v), _truthy(d)) for v, d in rows if v is not None and _text(v) != "-1"]
    if not versions:
        return Foreign("golang-migrate", table)
    version, dirty = max(versions, key=lambda row: version_key(row[0]))
    problem = None
    if dirty:
        problem = (
            f"golang-migrate marked the database dirty at version {version} ({table}.dirty): a "
            "migration failed part-way and the schema may be half changed. Repair the schema "
            f"by hand, clear the flag with `migrate force {version}` (or the version before), "
            "and run this again. Nothing was changed"
        )
    return Foreign("golang-migrate", table, floor=version, problem=problem)


def _dbmate(conn: SyncConnection, table: str) -> Foreign:
    rows = conn.execute(SQL["dbmate_versions"].render(table=table)).fetchall()
    return Foreign("dbmate", table, applied=_sorted(_text(r[0]) for r in rows if r[0] is not None))


def _goose(conn: SyncConnection, table: str) -> Foreign:
    rows = conn.execute(SQL["goose_versions"].render(table=table)).fetchall()
    latest: dict[str, bool] = {}
    for version, is_applied in rows:
        latest[_text(version)] = _truthy(is_applied)  # a later row wins
    applied = _sorted(v for v, on in latest.items() if on and version_key(v) != (0,))
    return Foreign("goose", table, applied=applied)


def _diesel(conn: SyncConnection, table: str) -> Foreign:
    rows = conn.execute(SQL["diesel_versions"].render(table=table)).fetchall()
    applied = _sorted(_text(r[0]).replace("-", "") for r in rows if r[0] is not None)
    return Foreign("diesel", table, applied=applied)


def _flyway(conn: SyncConnection, table: str) -> Foreign:
    rows = conn.execute(SQL["flyway_history"].render(table=table)).fetchall()
    applied: dict[tuple[int, ...], str] = {}
    floor: str | None = None
    for version, kind, script, success in rows:
        if version is None or str(kind).lower() == "schema":
            continue  # repeatable migrations and the schema-creation marker
        text, kind_text = _text(version), str(kind).lower()
        if not _truthy(success):
            return Foreign(
                "flyway",
                table,
                problem=(
                    f"Flyway recorded a failed migration ({table}: version {text}, {script}); "
                    "repair the schema, run `flyway repair`, then run this again. Nothing was "
                    "changed"
                ),
            )
        if kind_text.startswith("undo") or kind_text == "delete":
            applied.pop(version_key(text), None)
        elif kind_text == "baseline":
            floor = text
        else:
            applied[version_key(text)] = text
    return Foreign("flyway", table, applied=_sorted(applied.values()), floor=floor)


def _sorted(versions: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(versions, key=version_key))
