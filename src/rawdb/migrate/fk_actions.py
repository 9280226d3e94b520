"""What a ``DROP TABLE`` would do to other tables through their foreign keys' actions.

With foreign keys on, dropping a table first deletes its rows, and each deleted row fires the
``ON DELETE`` action of every foreign key referencing it: CASCADE deletes the child rows,
SET NULL and SET DEFAULT change them. A table rebuild written for a tool that runs with
foreign keys off (new table, copy, drop, rename) thereby empties its children while the run
reports success. The migrator asks this module before each ``DROP TABLE`` and refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawdb.backend import SyncConnection
from rawdb.backend.sqlite import catalogue
from rawdb.migrate.sql import SQL

ACTIONS = {"CASCADE": "deleted", "SET NULL": "set to NULL", "SET DEFAULT": "set to their default"}


@dataclass(frozen=True)
class ChildRows:
    """Rows of ``child`` that dropping ``parent`` would delete or change."""

    child: str
    columns: tuple[str, ...]
    action: str
    rows: int

    def describe(self) -> str:
        return (
            f"{self.rows} row(s) of {self.child} ({', '.join(self.columns)} ON DELETE "
            f"{self.action}) would be {ACTIONS[self.action]}"
        )


def _primary_key(conn: SyncConnection, table: str) -> list[str]:
    rows = conn.execute(SQL["table_info"].sql, (table,)).fetchall()
    return [str(r[1]) for r in sorted((r for r in rows if r[5]), key=lambda r: r[5])]


def _tables(conn: SyncConnection) -> list[str]:
    rows = conn.execute(SQL["table_names"].sql).fetchall()
    return [str(r[0]) for r in rows]


def rows_changed_by_drop(conn: SyncConnection, parent: str) -> list[ChildRows]:
    """Child rows that ``DROP TABLE parent`` would delete or change now (empty when foreign
    keys are off, or no child with an action holds a row referencing the parent)."""
    if not conn.execute(SQL["foreign_keys_enabled"].sql).fetchone()[0]:
        return []
    found: list[ChildRows] = []
    for child in _tables(conn):
        if child.lower() == parent:
            continue  # a table's references to itself go with it
        keys: dict[int, list[tuple[str, str | None, str, str]]] = {}
        for fk in conn.execute(SQL["foreign_key_list"].sql, (child,)).fetchall():
            keys.setdefault(fk[0], []).append((str(fk[2]), fk[4], str(fk[3]), str(fk[6])))
        for columns in keys.values():
            table, _, _, action = columns[0]
            if table.lower() != parent or action.upper() not in ACTIONS:
                continue
            hit = _referencing(conn, child, table, columns)
            if hit:
                froms = tuple(c[2] for c in columns)
                found.append(ChildRows(child, froms, action.upper(), hit))
    return found


def _referencing(
    conn: SyncConnection,
    child: str,
    parent: str,
    columns: list[tuple[str, str | None, str, str]],
) -> int:
    """Rows of ``child`` whose key matches a row of ``parent``: those the action reaches
    (the statement is composed by the seam: a key has any number of column pairs)."""
    targets = [c[1] for c in columns]
    if any(t is None for t in targets):
        targets = list(_primary_key(conn, parent)) or ["rowid"]
    pairs = [(str(to), c[2]) for to, c in zip(targets, columns, strict=False)]
    row = conn.execute(catalogue.count_referencing(child, parent, pairs)).fetchone()
    return int(row[0])
