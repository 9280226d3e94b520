"""Catalogue statements composed from names the application chose: a DDL helper of the seam.

A foreign key has any number of column pairs, over tables of any name, so the statement that
counts the child rows a key reaches cannot be one fixed template; it is composed here from
quoted names only (no value is ever pasted in).
"""

from __future__ import annotations

from collections.abc import Sequence


def quote(name: str) -> str:
    """``name`` as an SQLite identifier (an inner ``"`` doubled)."""
    return '"' + name.replace('"', '""') + '"'


def count_referencing(child: str, parent: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The count of ``child`` rows whose key matches a row of ``parent``: for each
    ``(parent column, child column)`` pair, ``p.<parent column> = c.<child column>``."""
    match = " AND ".join(f"p.{quote(to)} = c.{quote(column)}" for to, column in pairs)
    return (
        f"SELECT count(*) FROM {quote(child)} AS c "
        f"WHERE EXISTS (SELECT 1 FROM {quote(parent)} AS p WHERE {match})"
    )
