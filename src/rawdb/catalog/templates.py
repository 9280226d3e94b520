"""SQL for period tables: the DDL templates, the views over them, and per-table statements.

Four kinds of text are rendered here, always from validated names (see ``periods``):

- a period table's DDL, from ``sql/partitions/<family>_<month|quarter>.sql``;
- the ``market_data`` / ``alert_logs`` view over the default table and every period table;
- a named statement (``rawdb.queries``) run over some tables. Named statements are written
  against the default table (``market_data_default``), so each is valid SQL as written and the
  monitor can plan it. A statement that reads several tables marks the part to repeat with
  ``/* each partition */ … /* end */``; the copies are joined with UNION ALL, each wrapped in
  ``SELECT * FROM (…)`` so its own ORDER BY / LIMIT stays its own;
- a statement over every column of a family (copying, comparing, checksumming rows of a
  period table): it writes ``/* columns */ id`` (or ``/* columns */ a.id``) where the column
  list goes, and :func:`with_columns` puts the family's columns there (each with the same
  ``a.``), read from its DDL template like :data:`COLUMNS`.

Rendered strings are cached, so the same tables give the identical string and SQLite's
statement cache hits; the ``/* rawdb:<name> */`` tag at the start is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from rawdb.catalog.periods import Family, Period, default_table
from rawdb.errors import InternalError, UsageError
from rawdb.migrate.files import shipped_root
from rawdb.migrate.splitter import split, tokens
from rawdb.statements import Statement

TEMPLATE_FILES: dict[Family, str] = {
    "market_data": "market_data_month.sql",
    "alert_logs": "alert_logs_quarter.sql",
}
PLACEHOLDERS: dict[Family, str] = {
    "market_data": "market_data_yyyy_mm",
    "alert_logs": "alert_logs_yyyy_qn",
}
CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK"}


class _Columns(Mapping[Family, tuple[str, ...]]):
    """Each family's columns, in order, read from its DDL template: the template is the one
    source, so a column added there is created, copied, compared, archived and restored."""

    def __getitem__(self, family: Family) -> tuple[str, ...]:
        return columns_of(template_text(family, _folder), PLACEHOLDERS[family])

    def __iter__(self) -> Iterator[Family]:
        return iter(TEMPLATE_FILES)

    def __len__(self) -> int:
        return len(TEMPLATE_FILES)


COLUMNS: Mapping[Family, tuple[str, ...]] = _Columns()
_folder: Path | None = None  # where the templates are read from; None: the shipped sql/


@contextmanager
def templates_from(folder: Path) -> Iterator[None]:
    """Read the templates from ``folder`` (a folder holding ``partitions/``) for a while: a
    schema change tried before it ships."""
    global _folder  # noqa: PLW0603 -- the templates are process-wide, like the shipped files
    before, _folder = _folder, folder
    template_text.cache_clear()
    try:
        yield
    finally:
        _folder = before
        template_text.cache_clear()


@lru_cache(maxsize=16)
def columns_of(ddl: str, table: str) -> tuple[str, ...]:
    """The column names of ``CREATE TABLE <table> (...)`` in ``ddl``, in order: the first name
    of each top-level item of the list that is not a table constraint."""
    for stmt in split(ddl, table):
        toks = tokens(stmt.sql)
        words = [t.text.lower() for t in toks[:3]]  # tokens() gives keywords upper-cased
        if words[:2] != ["create", "table"] or words[2] != table:
            continue
        found: list[str] = []
        depth, starts_item = 0, False
        for tok in toks[3:]:
            if tok.text == "(":
                depth += 1
                starts_item = depth == 1
                continue
            if tok.text == ")":
                depth -= 1
                if depth == 0:
                    break
                continue
            if depth == 1 and tok.text == ",":
                starts_item = True
                continue
            if depth == 1 and starts_item:
                starts_item = False
                if not (tok.kind == "word" and tok.text in CONSTRAINT_WORDS):
                    found.append(tok.text.lower())
        if found:
            return tuple(found)
    raise InternalError(f"no CREATE TABLE {table} (...) with columns in its template")


MAX_TERMS = 500
"""SQLite's limit on the terms of one compound SELECT (SQLITE_MAX_COMPOUND_SELECT)."""
EACH, END = "/* each partition */", "/* end */"
COLUMNS_MARK = "/* columns */"
_COLUMN_LIST = re.compile(r"/\* columns \*/\s*(?:(?P<prefix>[a-z_][a-z0-9_]*)\.)?id\b")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_TABLE = re.compile(r"^(market_data|alert_logs)_(default|\d{4}_\d{2}|\d{4}_q[1-4])$")


def check_table(name: str) -> str:
    """``name`` when it is a default or period table name; an internal error otherwise."""
    if not _TABLE.match(name):
        raise InternalError(f"{name!r} is not a partition table name; refusing to render SQL")
    return name


@lru_cache(maxsize=4)
def template_text(family: Family, root: Path | None = None) -> str:
    """The DDL template of a family, checked to hold its placeholders."""
    path = (root or shipped_root()) / "partitions" / TEMPLATE_FILES[family]
    text = path.read_text(encoding="utf-8")
    for needed in (PLACEHOLDERS[family], "'PERIOD_START'", "'PERIOD_END'"):
        if needed not in text:
            raise InternalError(f"{path}: template lacks the placeholder {needed}")
    return text


def table_ddl(period: Period, root: Path | None = None) -> list[str]:
    """The statements creating one period table and its indexes."""
    text = template_text(period.family, root or _folder)
    text = text.replace(PLACEHOLDERS[period.family], period.table)
    text = text.replace("'PERIOD_START'", f"'{period.start_text}'")
    text = text.replace("'PERIOD_END'", f"'{period.end_text}'")
    return [stmt.sql for stmt in split(text, TEMPLATE_FILES[period.family])]


def table_ddl_in(period: Period, schema: str) -> str:
    """The statement creating one period table (without its indexes) in the attached database
    ``schema``: the template's table, its name qualified with ``schema``."""
    create = table_ddl(period)[0]
    toks = tokens(create)
    words = [t.text.lower() for t in toks[:4]]
    if not _IDENTIFIER.match(schema) or words != ["create", "table", period.table, "("]:
        raise UsageError(
            f"the template for {period.table} does not start with CREATE TABLE {period.table} ("
        )
    at = toks[2].offset
    return f"{create[:at]}{schema}.{create[at:]}"


def with_columns(stmt: Statement, family: Family, **identifiers: str) -> str:
    """A statement's text with its slots filled (:meth:`Statement.render`) and each
    ``/* columns */ id`` (``/* columns */ a.id``) holding the family's columns, in order."""
    sql = stmt.render(**identifiers) if stmt.slots else stmt.sql
    return _expand_columns(sql, COLUMNS[family], stmt.name)


@lru_cache(maxsize=1024)
def _expand_columns(sql: str, columns: tuple[str, ...], name: str) -> str:
    if not _COLUMN_LIST.search(sql):
        raise InternalError(f"{name!r} has no '{COLUMNS_MARK} id' column list to fill")
    for column in columns:
        if not _IDENTIFIER.match(column):
            raise InternalError(f"column {column!r} is not a plain name; refusing to render SQL")

    def listed(match: re.Match[str]) -> str:
        prefix = f"{match['prefix']}." if match["prefix"] else ""
        return ", ".join(f"{prefix}{column}" for column in columns)

    return _COLUMN_LIST.sub(listed, sql)


def view_sql(family: Family, tables: tuple[str, ...]) -> str:
    """``CREATE VIEW <family>`` over ``tables`` (the default table first, then by period).

    More tables than one compound SELECT may hold are grouped into nested compounds.
    """
    columns = ", ".join(COLUMNS[family])
    terms = [f"SELECT {columns} FROM {check_table(t)}" for t in tables]
    while len(terms) > MAX_TERMS:
        size = MAX_TERMS - 1
        terms = [
            f"SELECT * FROM ({' UNION ALL '.join(terms[i : i + size])})"
            for i in range(0, len(terms), size)
        ]
    return f"CREATE VIEW {family} AS\n" + "\nUNION ALL\n".join(terms)


@lru_cache(maxsize=4096)
def render(sql: str, family: Family, tables: tuple[str, ...]) -> str:
    """A named statement's text (written against the default table) over ``tables``.

    Without ``/* each partition */`` markers exactly one table is allowed (an insert or an
    update of one table); with them, at most :data:`MAX_TERMS` tables.
    """
    default = default_table(family)
    pattern = re.compile(rf"\b{default}\b")
    for name in tables:
        check_table(name)
    if EACH not in sql:
        if len(tables) != 1:
            raise InternalError(f"statement {sql[:40]!r} takes one table, got {len(tables)}")
        return pattern.sub(tables[0], sql)
    head, rest = sql.split(EACH, 1)
    term, tail = rest.split(END, 1)
    if not tables or len(tables) > MAX_TERMS:
        raise InternalError(f"a compound over {len(tables)} tables (1-{MAX_TERMS} allowed)")
    parts = [f"SELECT * FROM ({pattern.sub(name, term.strip())})" for name in tables]
    return head + "\n    UNION ALL ".join(parts) + tail
