"""Rewriting another tool's SQL into the form rawdb's migrator runs.

What changes, and why:

- ``BEGIN`` / ``COMMIT`` (``BEGIN TRANSACTION;``, ``END;``…) go: the migrator runs each file
  in its own transaction, with its version row.
- ``PRAGMA foreign_keys=OFF`` / ``ON`` go, replaced by the header ``-- rawdb: foreign_keys=off``:
  inside a transaction SQLite ignores the pragma; the migrator turns foreign keys off around
  the transaction and checks every foreign key before commit.
- A table rebuild (``DROP TABLE x`` and ``ALTER TABLE … RENAME TO x`` in one file) gets that
  header too: tools that run with foreign keys off never needed it, and with them on the drop
  would delete or change the rows referencing ``x``.
- ``VACUUM`` keeps the file outside a transaction (``-- rawdb: transaction=off``).
- A final statement without its ``;`` gets one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rawdb.errors import MigrationFileError
from rawdb.migrate.splitter import (
    Statement,
    Token,
    dropped_table,
    pragma_name,
    split,
    tokens,
    unterminated_end,
)

_BEGIN_WORDS = {"", "TRANSACTION", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"}
_OFF = {"OFF", "0", "FALSE", "NO"}
_ON = {"ON", "1", "TRUE", "YES"}


@dataclass
class Rewritten:
    """A file's SQL as rawdb runs it, the header options it needs, and what was done."""

    text: str
    foreign_keys_off: bool = False
    no_transaction: bool = False
    changes: list[str] = field(default_factory=list)
    needs_human: list[str] = field(default_factory=list)


def rewrite(text: str, label: str, *, no_transaction: bool = False) -> Rewritten:
    """``text`` (the SQL of one direction of one migration) rewritten; ``label`` names it in
    the notes, ``no_transaction`` says the other tool ran it outside a transaction."""
    done = Rewritten(text)
    try:
        end = unterminated_end(text, label)
    except MigrationFileError as exc:
        done.needs_human.append(f"{exc}; converted as it was")
        return done
    if end is not None:
        done.text = text[:end] + ";" + text[end:]
        done.changes.append(f"{label}:{_line(text, end)}: added the ';' the last statement lacked")
    statements = split(done.text)
    removed, own_transaction, fk_pragma = _transaction_control(statements, label, done)
    _rebuilds(statements, label, done)
    vacuum = [s for s in statements if _words(tokens(s.sql))[:1] == ["VACUUM"]]
    done.text = _cut(done.text, removed)
    if vacuum:
        done.no_transaction = True
        done.changes.append(
            f"{label}:{vacuum[0].line}: VACUUM cannot run in a transaction: header "
            "'-- rawdb: transaction=off'"
        )
        if len(statements) - len(removed) > len(vacuum):
            done.needs_human.append(
                f"{label}: VACUUM runs outside any transaction, so the other statements are "
                "not atomic: move VACUUM into a migration of its own"
            )
    elif no_transaction and (own_transaction or fk_pragma):
        done.changes.append(
            f"{label}: the other tool ran it outside a transaction only for its own "
            "BEGIN/COMMIT or PRAGMA foreign_keys; it now runs in the migrator's transaction"
        )
    elif no_transaction:
        done.no_transaction = True
        done.changes.append(
            f"{label}: the other tool ran it outside a transaction: header "
            "'-- rawdb: transaction=off' (not atomic; remove it if nothing needs that)"
        )
    return done


def _transaction_control(
    statements: list[Statement], label: str, done: Rewritten
) -> tuple[list[Statement], bool, bool]:
    """Mark BEGIN/COMMIT and PRAGMA foreign_keys for removal, noting each; refusals noted."""
    removed: list[Statement] = []
    own_transaction = fk_pragma = False
    for stmt in statements:
        toks = tokens(stmt.sql)
        words = [*_words(toks), "", ""]
        first, second = words[0], words[1]
        pragma = pragma_name(toks)
        if (first == "BEGIN" and second in _BEGIN_WORDS) or (
            first in {"COMMIT", "END"} and second in {"", "TRANSACTION"}
        ):
            removed.append(stmt)
            own_transaction = True
            done.changes.append(
                f"{label}:{stmt.line}: removed its own {first}; the migrator runs the file in "
                "one transaction with its version row"
            )
        elif first == "ROLLBACK" and second != "TO":
            done.needs_human.append(
                f"{label}:{stmt.line}: ROLLBACK would end the migrator's transaction; remove "
                "it (a failing statement rolls the whole migration back)"
            )
        elif pragma is not None and pragma.text.lower() == "foreign_keys":
            removed.append(stmt)
            fk_pragma = True
            value = _pragma_value(toks, pragma)
            if value in _OFF:
                done.foreign_keys_off = True
                done.changes.append(
                    f"{label}:{stmt.line}: PRAGMA foreign_keys={value} became the header "
                    "'-- rawdb: foreign_keys=off' (the migrator turns them off around the "
                    "transaction and checks every foreign key before commit)"
                )
            else:
                shown = f"={value}" if value else ""
                done.changes.append(
                    f"{label}:{stmt.line}: removed PRAGMA foreign_keys{shown}; the migrator "
                    "runs with foreign keys on"
                )
        elif first in {"ATTACH", "DETACH"} or (
            pragma is not None and pragma.text.lower() == "writable_schema"
        ):
            what = f"PRAGMA {pragma.text}" if pragma is not None else first
            done.needs_human.append(
                f"{label}:{stmt.line}: {what} is refused by rawdb (a migration changes only its "
                "own database, through CREATE/ALTER/DROP); rewrite it"
            )
    return removed, own_transaction, fk_pragma


def _rebuilds(statements: list[Statement], label: str, done: Rewritten) -> None:
    """A table dropped and another renamed to its name: a rebuild, run with foreign keys off."""
    dropped = {d for s in statements if (d := dropped_table(s.sql)) is not None}
    renamed = {r for s in statements if (r := _renamed_to(tokens(s.sql))) is not None}
    rebuilt = sorted(dropped & renamed)
    if rebuilt and not done.foreign_keys_off:
        done.foreign_keys_off = True
        done.changes.append(
            f"{label}: rebuilds {', '.join(rebuilt)} (DROP TABLE, then ALTER TABLE … RENAME TO): "
            "header '-- rawdb: foreign_keys=off', so that the drop deletes no rows of the "
            "tables referencing it"
        )


def _renamed_to(toks: list[Token]) -> str | None:
    """The new name of an ``ALTER TABLE … RENAME TO name`` (lower-cased), else None."""
    words = _words(toks)
    if words[:2] != ["ALTER", "TABLE"]:
        return None
    for index in range(2, len(toks) - 2):
        if words[index : index + 2] == ["RENAME", "TO"]:
            return toks[index + 2].text.lower()
    return None


def _words(toks: list[Token]) -> list[str]:
    return [t.text if t.kind == "word" else "" for t in toks]


def _pragma_value(toks: list[Token], name: Token) -> str:
    after = toks[toks.index(name) + 1 :]
    values = [t.text.upper() for t in after if t.text not in {"=", "(", ")", ";"}]
    return values[0] if values else ""


def _cut(text: str, removed: list[Statement]) -> str:
    """``text`` without the statements, dropping the lines they leave blank."""
    for stmt in sorted(removed, key=lambda s: s.start, reverse=True):
        line_start = text.rfind("\n", 0, stmt.start) + 1
        line_end = text.find("\n", stmt.end)
        line_end = len(text) if line_end == -1 else line_end
        if not text[line_start : stmt.start].strip() and not text[stmt.end : line_end].strip():
            text = text[:line_start] + text[line_end + 1 :]
        else:
            text = text[: stmt.start] + text[stmt.end :]
    return text


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
