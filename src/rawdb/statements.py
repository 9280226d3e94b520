"""Named SQL statements: the parsed form of ``.sql`` files, kept in an immutable registry.

A statement file holds blocks like::

    -- name: latest_tick
    -- The newest live tick of one instrument.
    SELECT … ;

Each statement keeps its name, a one-line description and its source (file:line). Its SQL text
starts with ``/* rawdb:<name> */`` so a statement seen in a trace or a slow log points back at
its definition, and it is always the identical string, so SQLite's statement cache hits.
A malformed file fails at load with file and line.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rawdb.errors import InternalError, UsageError

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\S+)\s*$")
_VALID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Statement:
    """One named statement: ``sql`` is what runs, tagged with its name."""

    name: str
    description: str
    sql: str
    source: str

    def __str__(self) -> str:
        return self.sql


class Registry(Mapping[str, Statement]):
    """Statements by name; read-only once built."""

    def __init__(self, statements: Mapping[str, Statement]) -> None:
        self._by_name = MappingProxyType(dict(statements))

    def __getitem__(self, name: str) -> Statement:
        try:
            return self._by_name[name]
        except KeyError:
            raise UsageError(
                f"no statement named {name!r}; known: {', '.join(sorted(self._by_name))}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def parse(text: str, source: str) -> dict[str, Statement]:
    """The statements of one file; errors name ``source:line``."""
    found: dict[str, Statement] = {}
    blocks: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _NAME_LINE.match(line.strip())
        if match:
            blocks.append((match["name"], number, []))
        elif blocks:
            blocks[-1][2].append(line)
        elif line.strip() and not line.strip().startswith("--"):
            raise InternalError(f"{source}:{number}: SQL before the first '-- name:' line")
    for name, number, lines in blocks:
        where = f"{source}:{number}"
        if not _VALID_NAME.match(name):
            raise InternalError(f"{where}: statement name {name!r} is not snake_case")
        if name in found:
            raise InternalError(f"{where}: statement {name!r} defined twice")
        comments = [ln.strip()[2:].strip() for ln in lines if ln.strip().startswith("--")]
        body = "\n".join(ln for ln in lines if not ln.strip().startswith("--")).strip()
        if not comments or not comments[0]:
            raise InternalError(f"{where}: {name!r} needs a one-line description after its name")
        if not body.endswith(";") or not sqlite3.complete_statement(body):
            raise InternalError(f"{where}: {name!r} is not one complete statement ending in ';'")
        body = body.rstrip(";").rstrip()
        if ";" in body and sqlite3.complete_statement(body.split(";")[0] + ";"):
            raise InternalError(f"{where}: {name!r} holds more than one statement")
        found[name] = Statement(name, comments[0], f"/* rawdb:{name} */ {body}", where)
    return found
