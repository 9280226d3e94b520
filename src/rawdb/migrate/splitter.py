"""Splitting a migration into statements without breaking trigger bodies or strings.

SQLite's own tokenizer decides where a statement ends (``complete_statement``), so a
``;`` inside a string, a comment, a ``CASE … END`` or a trigger's ``BEGIN … END`` never splits.
The last statement may lack its ``;``, as SQLite itself accepts (the sqlite3 shell and
``sqlite3_exec`` run it); an unclosed string, comment or ``BEGIN … END`` is still refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rawdb.backend.sqlite.driver import complete_statement
from rawdb.errors import MigrationFileError

_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_FIRST_WORDS = re.compile(r"\A([A-Za-z_]+)(?:\s+([A-Za-z_]+))?")
_TRANSACTION_WORDS = {"BEGIN", "COMMIT", "END", "ROLLBACK"}

# SQLite's token classes, enough to tell keywords from strings, quoted names and comments.
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^']|'')*'?)
  | (?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
  | (?P<number>0[xX][0-9A-Fa-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>(?:[A-Za-z_]|[^\x00-\x7f])(?:[A-Za-z0-9_$]|[^\x00-\x7f])*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_NAME_KINDS = {"word", "quoted", "string"}  # what SQLite accepts as a name after PRAGMA


@dataclass(frozen=True)
class Statement:
    """One complete SQL statement and the line of the file it starts on."""

    sql: str
    line: int
    start: int = 0
    """Offsets of the statement in the file's text (``text[start:end]`` is ``sql``)."""
    end: int = 0


@dataclass(frozen=True)
class Token:
    """One significant token: its class, its text (unquoted for names) and its offset."""

    kind: str
    text: str
    offset: int


def split(text: str, path: Path | str = "<sql>") -> list[Statement]:
    """The file's statements in order; comment-only stretches are dropped."""
    statements: list[Statement] = []
    start = 0
    pos = text.find(";")
    while pos != -1:
        chunk = text[start : pos + 1]
        if complete_statement(chunk):
            _append(statements, text, start, chunk)
            start = pos + 1
        pos = text.find(";", pos + 1)
    rest = text[start:]
    if _LEADING_NOISE.sub("", rest, count=1).strip():
        # A final statement without its ';' is complete once one is added after it (on a
        # line of its own, past a trailing comment); an unclosed string or BEGIN is not.
        if not complete_statement(rest + "\n;"):
            line = _line_of(text, start + _noise_length(rest))
            raise MigrationFileError(
                f"{path}:{line}: statement is not complete (an unclosed string, quoted name, "
                "comment or BEGIN…END); close it and end the statement with ';'"
            )
        _append(statements, text, start, rest)
    return statements


def unterminated_end(text: str, path: Path | str = "<sql>") -> int | None:
    """Where the ``;`` of a final statement written without one belongs (the end of its last
    token, before any trailing comment); None when every statement ends with ``;``."""
    statements = split(text, path)
    if not statements or statements[-1].sql.rstrip().endswith(";"):
        return None
    last = statements[-1]
    toks = tokens(last.sql)
    if not toks:
        return None
    final = toks[-1]
    match = _TOKEN.match(last.sql, final.offset)
    return last.start + (match.end() if match else len(last.sql))


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
    begin = start + skip
    statements.append(
        Statement(sql=body, line=_line_of(text, begin), start=begin, end=begin + len(body))
    )


def first_words(sql: str) -> tuple[str, str]:
    """The statement's first two keywords, upper-cased (empty strings when absent)."""
    match = _FIRST_WORDS.match(sql)
    if match is None:
        return "", ""
    return match.group(1).upper(), (match.group(2) or "").upper()


def tokens(sql: str) -> list[Token]:
    """The statement's tokens without whitespace and comments; names lose their quotes."""
    found: list[Token] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        if kind in {"space", "comment"}:
            continue
        found.append(Token(kind, _unquote(kind, match.group()), match.start()))
    return found


def _unquote(kind: str, text: str) -> str:
    if kind == "word":
        return text.upper()
    if kind in {"string", "quoted"} and len(text) >= 2:
        inner, quote = text[1:-1], text[0]
        return inner if quote == "[" else inner.replace(quote * 2, quote)
    return text


def _command(toks: list[Token]) -> list[Token]:
    """The tokens from the statement's command on: EXPLAIN still runs a PRAGMA's effect."""
    words = [t.text if t.kind == "word" else "" for t in toks[:3]]
    if words[:3] == ["EXPLAIN", "QUERY", "PLAN"]:
        return toks[3:]
    if words[:1] == ["EXPLAIN"]:
        return toks[1:]
    return toks


def dropped_table(sql: str) -> str | None:
    """The table a ``DROP TABLE`` statement drops from the main schema, lower-cased (None for
    any other statement)."""
    toks = tokens(sql)
    words = [t.text if t.kind == "word" else "" for t in toks[:4]]
    if words[:2] != ["DROP", "TABLE"]:
        return None
    rest = toks[4:] if words[2:4] == ["IF", "EXISTS"] else toks[2:]
    if len(rest) >= 3 and rest[1].text == ".":
        if rest[0].text.lower() != "main":
            return None
        rest = rest[2:]
    return rest[0].text.lower() if rest and rest[0].kind in _NAME_KINDS else None


def pragma_name(toks: list[Token]) -> Token | None:
    """The pragma a PRAGMA statement names, past any ``schema.`` prefix (None otherwise)."""
    if not toks or toks[0].kind != "word" or toks[0].text != "PRAGMA":
        return None
    names = toks[1:4]
    if len(names) == 3 and names[1].text == "." and names[2].kind in _NAME_KINDS:
        return names[2]
    if names and names[0].kind in _NAME_KINDS:
        return names[0]
    return None


def check_allowed(
    statements: list[Statement], path: Path | str, *, in_transaction: bool = True
) -> None:
    """Refuse statements that would break the migrator's own transaction handling, reach past
    this database, or hand-edit the schema."""
    for stmt in statements:
        toks = tokens(stmt.sql)
        _check_transaction(stmt, toks, path, in_transaction=in_transaction)
        command = _command(toks)
        if command and command[0].kind == "word" and command[0].text in {"ATTACH", "DETACH"}:
            raise MigrationFileError(
                f"{path}:{_line_at(stmt, command[0])}: {command[0].text} in a migration file; "
                "a migration changes only this database, and an attached file escapes its "
                "transaction and its backup. Remove the statement (copy data between databases "
                "with a separate program)"
            )
        _check_pragma(stmt, pragma_name(command), path)


def _check_transaction(
    stmt: Statement, toks: list[Token], path: Path | str, *, in_transaction: bool
) -> None:
    words = [t.text if t.kind == "word" else "" for t in toks[:2]] + ["", ""]
    word, second = words[0], words[1]
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


_OWNED_PRAGMAS = {
    "schema_version": "SQLite's documentation warns that setting it can corrupt the database "
    "(it is SQLite's own counter of schema changes); change the schema with CREATE, ALTER and "
    "DROP and it moves by itself",
    "journal_mode": "rawdb keeps every database in WAL mode (its readers and one writer need "
    "it); remove the line",
    "locking_mode": "EXCLUSIVE would shut every other connection out of the file for as long "
    "as the migrator's connection lives; remove the line",
}
"""Settings of the file itself that a migration must not change, and why."""


def _check_pragma(stmt: Statement, name: Token | None, path: Path | str) -> None:
    pragma = name.text.lower() if name is not None else ""
    if name is None or pragma not in {"foreign_keys", "writable_schema", *_OWNED_PRAGMAS}:
        return
    where = f"{path}:{_line_at(stmt, name)}"
    if pragma in _OWNED_PRAGMAS:
        raise MigrationFileError(
            f"{where}: PRAGMA {pragma} in a migration file; {_OWNED_PRAGMAS[pragma]}"
        )
    if pragma == "writable_schema":
        raise MigrationFileError(
            f"{where}: PRAGMA writable_schema in a migration file; rewriting sqlite_schema "
            "by hand can leave a database SQLite cannot open. Change the schema with CREATE, "
            "ALTER and DROP (a table rebuild under '-- rawdb: foreign_keys=off' for what "
            "ALTER cannot do)"
        )
    raise MigrationFileError(
        f"{where}: PRAGMA foreign_keys has no effect inside a transaction; "
        "add the header '-- rawdb: foreign_keys=off' instead, and the migrator turns "
        "them off around the transaction and checks foreign keys before commit"
    )


def _line_at(stmt: Statement, token: Token) -> int:
    return stmt.line + stmt.sql.count("\n", 0, token.offset)
