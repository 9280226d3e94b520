"""The schema as data: a canonical text dump for diffs, and a structural snapshot to compare."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rawdb.backend import SyncConnection
from rawdb.backend.sqlite.driver import KEYWORDS
from rawdb.migrate.sql import SQL

# Tables the migrator itself owns; they are bookkeeping, not the application's schema.
MIGRATOR_TABLES = ("rawdb_migrations", "rawdb_migration_history")
_TYPE_ORDER = {"table": 0, "view": 1, "index": 2, "trigger": 3}
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"([A-Za-z_][A-Za-z0-9_]*)\"")
_KEYWORDS = KEYWORDS


def _unquote(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is None or name.upper() in _KEYWORDS:
        return match.group(0)
    return name


def normalize_sql(sql: str) -> str:
    """Stored DDL made canonical: needless identifier quotes removed, trailing blanks cut.

    SQLite quotes a table's name when ``ALTER TABLE … RENAME`` rewrites its DDL, so a table
    rebuilt by the standard procedure would otherwise differ from one created directly.
    """
    text = _QUOTED.sub(_unquote, sql)
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def _collapse(sql: str) -> str:
    return " ".join(normalize_sql(sql).replace("(", " ( ").replace(")", " ) ").split()).lower()


def _objects(conn: SyncConnection) -> list[tuple[str, str, str, str]]:
    rows = conn.execute(SQL["schema_objects"].sql).fetchall()
    return sorted(
        (r for r in rows if r[2] not in MIGRATOR_TABLES),
        key=lambda r: (_TYPE_ORDER.get(r[0], 9), r[1]),
    )


def dump(conn: SyncConnection, version: int | None = None) -> str:
    """The canonical schema: every object's normalised DDL, sorted by kind then name."""
    lines = ["-- Canonical schema, written by `python -m rawdb.migrate dump-schema`; do not edit."]
    if version is not None:
        lines.append(f"-- version: {version}")
    for _type, _name, _table, sql in _objects(conn):
        lines.append("")
        lines.append(normalize_sql(sql) + ";")
    return "\n".join(lines) + "\n"


@dataclass
class Snapshot:
    """What a schema holds, per object, in comparable form."""

    tables: dict[str, dict[str, object]] = field(default_factory=dict)
    indexes: dict[str, dict[str, object]] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)  # views and triggers: collapsed DDL


def snapshot(conn: SyncConnection) -> Snapshot:
    """Columns, keys, foreign keys and indexes of every application object."""
    snap = Snapshot()
    for kind, name, table, sql in _objects(conn):
        if kind == "table":
            columns = conn.execute(SQL["table_xinfo"].sql, (name,)).fetchall()
            fks = conn.execute(SQL["foreign_key_list"].sql, (name,)).fetchall()
            snap.tables[name] = {
                "columns": [(c[1], str(c[2]).upper(), c[3], c[4], c[5], c[6]) for c in columns],
                "foreign_keys": sorted((f[2], f[3], f[4], f[5], f[6]) for f in fks),
                "ddl": _collapse(sql),
            }
        elif kind == "index":
            info = conn.execute(SQL["index_xinfo"].sql, (name,)).fetchall()
            snap.indexes[name] = {
                "table": table,
                "columns": [(i[2], i[3], i[4]) for i in info if i[5]],
                "ddl": _collapse(sql),
            }
        else:
            snap.others[f"{kind} {name}"] = _collapse(sql)
    return snap


def differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """What ``actual`` lacks or holds differently from ``expected``, one line per finding.

    Tables the migrations do not know are allowed (an application may keep its own); extra
    indexes or triggers on known tables are not, since a table rebuild would silently drop them.
    """
    return [
        *_table_differences(expected, actual),
        *_index_differences(expected, actual),
        *_other_differences(expected, actual),
    ]


def _table_differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    found: list[str] = []
    for name, want in expected.tables.items():
        got = actual.tables.get(name)
        if got is None:
            found.append(f"table {name}: missing")
            continue
        for key in ("columns", "foreign_keys", "ddl"):
            if got[key] != want[key]:
                found.append(f"table {name}: {key} differ: expected {want[key]}, found {got[key]}")
    return found


def _index_differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    found: list[str] = []
    for name, want in expected.indexes.items():
        got = actual.indexes.get(name)
        if got is None:
            found.append(f"index {name}: missing")
        elif got != want:
            found.append(f"index {name}: expected {want['ddl']}, found {got['ddl']}")
    for name, got in actual.indexes.items():
        if name not in expected.indexes and got["table"] in expected.tables:
            found.append(f"index {name} on {got['table']}: not created by the migrations")
    return found


def _other_differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    found = [
        f"{name}: missing or different"
        for name, want in expected.others.items()
        if actual.others.get(name) != want
    ]
    found += [
        f"{name}: not created by the migrations"
        for name in actual.others.keys() - expected.others.keys()
    ]
    return found
