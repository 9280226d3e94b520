"""Splitting a migration into statements without breaking trigger bodies or strings.

SQLite's own tokenizer decides where a statement ends (``sqlite3.complete_statement``), so a
``;`` inside a string, a comment, a ``CASE … END`` or a trigger's ``BEGIN … END`` never splits.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from rawdb.errors import MigrationFileError

_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_FIRST_WORDS = re.compile(r"\A([A-Za-z_]+)(?:\s+([A-Za-z_]+))?")
_TRANSACTION_WORDS = {"BEGIN", "COMMIT", "END", "ROLLBACK"}


@dataclass(frozen=True)
class Statement:
    """One complete SQL statement and the line of the file it starts on."""

    sql: str
    line: int


def split(text: str, path: Path | str = "<sql>") -> list[Statement]:
    """The file's statements in order; comment-only stretches are dropped."""
    statements: list[Statement] = []
    start = 0
    pos = text.find(";")
    while pos != -1:
        chunk = text[start : pos + 1]
        if sqlite3.complete_statement(chunk):
            _append(statements, text, start, chunk)
            start = pos + 1
        pos = text.find(";", pos + 1)
    rest = text[start:]
    if _LEADING_NOISE.sub("", rest, count=1).strip():
        line = _line_of(text, start + _noise_length(rest))
        raise MigrationFileError(
            f"{path}:{line}: statement is not complete (missing ';', or an unclosed string, "
            "comment or BEGIN…END); end every statement with ';'"
        )
    return statements


def _noise_length(chunk: str) -> int:
    match = _LEADING_NOISE.match(chunk)
    return match.end() if match else 0


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _append(statements: list[Statement], text: str, start: int, chunk: str) -> None:
    skip = _noise_length(chunk)
    body = chunk[skip:].strip()
    if body in {"", ";"}:
        return
    statements.append(Statement(sql=body, line=_line_of(text, start + skip)))


def first_words(sql: str) -> tuple[str, str]:
    """The statement's first two keywords, upper-cased (empty strings when absent)."""
    match = _FIRST_WORDS.match(sql)
    if match is None:
        return "", ""
    return match.group(1).upper(), (match.group(2) or "").upper()


def check_allowed(
    statements: list[Statement], path: Path | str, *, in_transaction: bool = True
) -> None:
    """Refuse statements that would break the migrator's own transaction handling."""
    for stmt in statements:
        word, second = first_words(stmt.sql)
        if (
            in_transaction
            and word in _TRANSACTION_WORDS
            and not (word == "ROLLBACK" and second == "TO")
        ):
            raise MigrationFileError(
                f"{path}:{stmt.line}: '{word}' in a migration file; the migrator runs each file "
                "in its own transaction with its version row. Remove BEGIN/COMMIT from the "
                "file (for a file that must not run in a transaction, add the header "
                "'-- rawdb: transaction=off')"
            )
        if word == "PRAGMA" and re.match(r"PRAGMA\s+foreign_keys\b", stmt.sql, re.IGNORECASE):
            raise MigrationFileError(
                f"{path}:{stmt.line}: PRAGMA foreign_keys has no effect inside a transaction; "
                "add the header '-- rawdb: foreign_keys=off' instead, and the migrator turns "
                "them off around the transaction and checks foreign keys before commit"
            )
