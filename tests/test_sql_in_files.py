"""Every statement rawdb runs lives in a `.sql` file: no SQL statement is written as a string in
a Python module, except in the statement loader and the backend's connection and DDL helpers
(the seam: what differs between database engines)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rawdb"

# A string that starts the way an SQL statement does (keyword, then a space or a newline).
STATEMENT = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)?(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|"
    r"ROLLBACK|ANALYZE|VACUUM|ATTACH|DETACH|WITH|REPLACE|SAVEPOINT|RELEASE|REINDEX|EXPLAIN)"
    r"(\s|$)",
    re.DOTALL,
)

SEAM = {
    "statements.py": "the statement loader",
    "backend/": "the backend seam: connection tuning, the write probe, transaction control",
    "monitor/advisor.py": "an index suggested to a person as DDL text, never run",
    "migrate/splitter.py": "reads users' migration files: keywords it recognises, runs nothing",
    "migrate/pg_splitter.py": "reads users' PostgreSQL migration files: keywords it recognises",
    "migrate/rewrite.py": "rewrites other tools' migration files: keywords it recognises",
    "catalog/templates.py": "partition DDL: the view over a family's tables, their union reads",
}
"""Modules allowed to hold SQL text, and why."""


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """(line, first words) of each string or f-string in ``path`` that starts like SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    joined = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    inside_fstrings = {id(part) for node in joined for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
        elif isinstance(node, ast.Constant) and id(node) not in inside_fstrings:
            first = node
        else:
            continue
        text = first.value if isinstance(first, ast.Constant) else None
        if isinstance(text, str) and STATEMENT.match(text):
            found.append((node.lineno, text.strip().split("\n")[0][:60]))
    return found


def test_no_module_outside_the_seam_holds_sql() -> None:
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative in SEAM or relative.startswith("backend/"):
            continue
        hits = sql_strings(path)
        if hits:
            offenders[relative] = hits
    assert not offenders, offenders
