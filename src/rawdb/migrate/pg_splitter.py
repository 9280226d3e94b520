"""Splitting a PostgreSQL migration into statements, so a failure names its line.

A ``;`` ends a statement only outside strings (``'…'``, ``E'…'``), quoted names, comments
(``--``, nested ``/* */``) and dollar-quoted bodies (``$$ … $$``, ``$tag$ … $tag$``), which
is where PostgreSQL's own lexer would not end it.
"""

from __future__ import annotations

import re

from rawdb.errors import MigrationFileError
from rawdb.migrate.files import SqlFile
from rawdb.migrate.splitter import Statement, first_words

_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)


def split(text: str, path: str = "<sql>") -> list[Statement]:
    """The file's statements in order (comment-only stretches dropped); an unclosed string,
    comment or dollar quote is refused, naming its line."""
    statements: list[Statement] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == ";":
            _append(statements, text, start, i + 1)
            start = i + 1
            i += 1
        elif c in "'\"":
            i = _closing(text, i, c, path)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            i = _comment_end(text, i, path)
        elif c == "$" and (m := _DOLLAR.match(text, i)) and not _in_word(text, i):
            end = text.find(m.group(0), m.end())
            if end < 0:
                raise _unclosed(text, i, path, f"dollar quote {m.group(0)}")
            i = end + len(m.group(0))
        else:
            i += 1
    _append(statements, text, start, n)
    return statements


def _in_word(text: str, i: int) -> bool:
    # $1 parameters and names like a$b are not dollar quotes.
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")


def _closing(text: str, i: int, quote: str, path: str) -> int:
    j = i + 1
    while True:
        j = text.find(quote, j)
        if j < 0:
            raise _unclosed(text, i, path, "string" if quote == "'" else "quoted name")
        if text.startswith(quote * 2, j):
            j += 2
            continue
        return j + 1


def _comment_end(text: str, i: int, path: str) -> int:
    depth, j = 0, i
    while j < len(text):
        if text.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    raise _unclosed(text, i, path, "comment")


def _unclosed(text: str, i: int, path: str, what: str) -> MigrationFileError:
    return MigrationFileError(f"{path}:{text.count(chr(10), 0, i) + 1}: unclosed {what}")


def _append(statements: list[Statement], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    skip = _NOISE.match(chunk)
    lead = skip.end() if skip else 0
    body = chunk[lead:].strip()
    if not body or body == ";":
        return
    at = start + lead
    statements.append(Statement(body, text.count("\n", 0, at) + 1, at, at + len(body)))


# The migrator owns each file's transaction; a file's own would end it half-way.
_TRANSACTION_WORDS = {"BEGIN", "COMMIT", "END", "ROLLBACK", "START", "SAVEPOINT", "RELEASE"}


def statements_of(sql_file: SqlFile) -> list[Statement]:
    """The file's statements, refusing (before anything runs) one that ends or starts a
    transaction."""
    found = split(sql_file.text, str(sql_file.path))
    for stmt in found:
        if first_words(stmt.sql)[0].upper() in _TRANSACTION_WORDS:
            raise MigrationFileError(
                f"{sql_file.path}:{stmt.line}: {first_words(stmt.sql)[0]} - the migrator runs "
                "each file in its own transaction; remove the file's transaction control "
                "(or mark it '-- rawdb: transaction=off' to run each statement on its own)"
            )
    return found
