"""Reading a statement's SQL for the advisor: table aliases and the columns an index wants.

This is a heuristic reading, not a parser: it looks for ``FROM/JOIN/UPDATE/INTO table [AS]
alias``, for ``column = ?`` / ``IN`` / range comparisons and for ``ORDER BY column``. Every
suggestion it leads to is tried on the planner's copy before it is called verified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_KEYWORDS = frozenset(
    (
        *("where", "on", "inner", "left", "right", "cross", "join", "order", "group", "limit"),
        *("using", "natural", "outer", "full", "set", "values", "select", "window", "union"),
        *("except", "intersect", "having", "as", "indexed", "not"),
    )
)
_TABLE_REF = re.compile(
    r"\b(?:FROM|JOIN|UPDATE|INTO)\s+\"?(?P<table>[A-Za-z_]\w*)\"?"
    r"(?:\s+(?:AS\s+)?(?P<alias>[A-Za-z_]\w*))?",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"(?:\b(?P<qual>[A-Za-z_]\w*)\.)?\b(?P<col>[A-Za-z_]\w*)\s*"
    r"(?P<op>==|=|>=|<=|<>|!=|>|<|\bIN\b|\bBETWEEN\b|\bIS\s+NOT\b|\bIS\b)"
    r"\s*(?P<rhs>\S+)?",
    re.IGNORECASE,
)
_ORDER_BY = re.compile(
    r"\bORDER\s+BY\s+(?:(?P<qual>[A-Za-z_]\w*)\.)?(?P<col>[A-Za-z_]\w*)", re.IGNORECASE
)
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_WHERE = re.compile(
    r"\bWHERE\b(?P<body>.*?)(?=\bGROUP\s+BY\b|\bORDER\s+BY\b|\bLIMIT\b|\bWINDOW\b|\)|$)",
    re.IGNORECASE | re.DOTALL,
)


def table_aliases(sql: str, tables: Iterable[str]) -> dict[str, str]:
    """Every name a plan may use for a known table (its own name and its aliases)."""
    known = set(tables)
    names = {t: t for t in known}
    for match in _TABLE_REF.finditer(_COMMENT.sub(" ", sql)):
        table, alias = match["table"], match["alias"]
        if table in known and alias and alias.lower() not in _KEYWORDS:
            names[alias] = table
    return names


def candidate_columns(sql: str, table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """Index columns that would let ``sql`` seek ``table``: equalities, then the sort or range.

    Only comparisons with a parameter or a literal count (``col = ?``, ``col IN (…)``,
    ``col >= :start``); ``IS NULL`` tests are left out, they rarely narrow much.
    """
    text = _COMMENT.sub(" ", sql)
    names = {a for a, t in table_aliases(text, [table]).items() if t == table}
    wanted = set(columns)
    equal: list[str] = []
    ranged: list[str] = []
    for where in _WHERE.finditer(text):
        for match in _COMPARE.finditer(where["body"]):
            col, op, rhs = match["col"], match["op"].upper(), (match["rhs"] or "").upper()
            qual = match["qual"]
            if col not in wanted or (qual is not None and qual not in names):
                continue
            if op.startswith("IS") and rhs.startswith("NULL"):
                continue
            if op in ("=", "==", "IN", "IS"):
                equal.append(col)
            elif op in (">", "<", ">=", "<=", "BETWEEN"):
                ranged.append(col)
    order = [
        m["col"]
        for m in _ORDER_BY.finditer(text)
        if m["col"] in wanted and (m["qual"] is None or m["qual"] in names)
    ]
    result = list(dict.fromkeys(equal))
    tail = order[0] if order else (ranged[0] if ranged else None)
    if tail is not None and tail not in result:
        result.append(tail)
    return tuple(result)
