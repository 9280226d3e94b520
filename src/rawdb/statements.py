"""Named SQL statements: the parsed form of ``.sql`` files, kept in an immutable registry.

A statement file holds blocks like::

    -- name: latest_tick
    -- The newest live tick of one instrument.
    -- params: instrument_id, horizon
    -- returns: row
    SELECT … ;

Each statement keeps its name, a one-line description, its parameters, the shape of its result
and its source (file:line). ``params`` names the parameters in order (``none`` for none; a
long list goes on over comment lines after a trailing comma); they must be the statement's
placeholders: the same names for ``:name`` ones, as many as there are for ``?`` (or the
highest ``?N``). ``returns`` is ``row`` (at most one), ``rows``, ``value`` (one row of one
column) or ``nothing`` (a write or DDL; only the rows it changed are counted). Its SQL text
starts with ``/* rawdb:<name> */`` so a statement seen in a trace or a slow log points back at
its definition, and it is always the identical string, so SQLite's statement cache hits.
A malformed file fails at load with file and line.

Where a table's name must vary (a month's table, the table being counted), the statement is a
template: it writes ``__table__`` (any ``__slot__``) where the name goes, and
:meth:`Statement.render` fills each slot with the name quoted as SQL quotes an identifier
(an inner ``"`` doubled), so any name, an application's odd ones included, stays one name;
nothing else is ever pasted into SQL. A package keeps its statements in its ``sql/``
folder; :func:`load_package` reads them all.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from rawdb.errors import InternalError, UsageError

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\S+)\s*$")
_VALID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DECLARATION = re.compile(r"^(?P<key>params|returns):\s*(?P<value>.*)$")
# What SQLite skips when it looks for placeholders: strings, quoted names, comments (and
# PostgreSQL's `::type` casts, which are not a `:name`).
_PLACEHOLDER = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/|::"
    r"|(?P<numbered>\?\d+)|(?P<positional>\?)|[:@$](?P<named>[A-Za-z_]\w*)",
    re.DOTALL,
)
_PERCENT = re.compile(r"%")

_SLOT = re.compile(r"\b__(?P<slot>[a-z][a-z0-9_]*)__\b")

Returns = Literal["row", "rows", "value", "nothing"]
"""The shape of a statement's result: at most one row, any rows, one value, none."""
RETURNS: tuple[str, ...] = get_args(Returns)


@dataclass(frozen=True)
class Statement:
    """One named statement: ``sql`` is what runs, tagged with its name."""

    name: str
    description: str
    sql: str
    source: str
    params: tuple[str, ...] = ()
    returns: Returns = "rows"
    slots: tuple[str, ...] = field(default=())
    """The ``__slot__`` names a template fills with identifiers (none for a plain statement)."""
    dialect: str = "sqlite"
    """The engine ``sql`` is written for (PostgreSQL's is in psycopg's placeholder form)."""

    def __str__(self) -> str:
        return self.sql

    def render(self, **identifiers: str | tuple[str, ...]) -> str:
        """The template's SQL with every slot filled by a quoted identifier (a tuple fills its
        slot with a comma-separated list of them, e.g. an index's columns)."""
        if set(identifiers) != set(self.slots):
            raise InternalError(
                f"{self.source}: {self.name!r} fills {sorted(self.slots)}, "
                f"given {sorted(identifiers)}"
            )
        return _render(self.sql, tuple(sorted(identifiers.items())), self.name)

    def expect(self, *shapes: Returns) -> None:
        """Refuse to run this statement for a result it does not declare (a fetchone of a
        statement declared ``rows``, say): the declaration is the contract."""
        if self.returns not in shapes:
            raise InternalError(
                f"{self.source}: {self.name!r} declares 'returns: {self.returns}' but is run "
                f"for {' or '.join(shapes)}"
            )


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
        if not comments or not comments[0] or _DECLARATION.match(comments[0]):
            raise InternalError(f"{where}: {name!r} needs a one-line description after its name")
        declared = _declarations(comments, where, name)
        if not body.endswith(";") or not sqlite3.complete_statement(body):
            raise InternalError(f"{where}: {name!r} is not one complete statement ending in ';'")
        body = body.rstrip(";").rstrip()
        if ";" in body and sqlite3.complete_statement(body.split(";")[0] + ";"):
            raise InternalError(f"{where}: {name!r} holds more than one statement")
        params = _check_params(body, declared["params"], where, name)
        returns = declared["returns"]
        if returns not in RETURNS:
            raise InternalError(
                f"{where}: {name!r} declares 'returns: {returns}'; write one of "
                f"{', '.join(RETURNS)}"
            )
        slots = tuple(dict.fromkeys(m["slot"] for m in _SLOT.finditer(body)))
        found[name] = Statement(
            name,
            comments[0],
            f"/* rawdb:{name} */ {body}",
            where,
            params,
            returns,  # type: ignore[arg-type]  # checked against RETURNS just above
            slots,
        )
    return found


def pyformat(sql: str) -> str:
    """``sql`` with psycopg's placeholders: ``:name`` becomes ``%(name)s`` and ``?`` ``%s``,
    and a literal ``%`` (in a string or an operator) is doubled, as psycopg requires."""
    out: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(sql):
        out.append(_PERCENT.sub("%%", sql[last : match.start()]))
        if match["named"] and match.group(0).startswith(":"):
            out.append(f"%({match['named']})s")
        elif match["positional"]:
            out.append("%s")
        elif match["numbered"] or match["named"]:
            raise InternalError(f"{sql[:60]!r}: PostgreSQL statements use :name or ? only")
        else:
            out.append(_PERCENT.sub("%%", match.group(0)))
        last = match.end()
    out.append(_PERCENT.sub("%%", sql[last:]))
    return "".join(out)


def load_folder(root: Path, label: str | None = None, *, dialect: str = "sqlite") -> Registry:
    """Every statement of every ``*.sql`` file in ``root``; a name defined twice is refused.
    Sources read ``<label>/<file>:<line>`` (label default: the folder's name). PostgreSQL
    statements are written with ``:name`` or ``?`` like SQLite's and run in psycopg's form."""
    statements: dict[str, Statement] = {}
    for path in sorted(root.glob("*.sql")):
        source = f"{label or root.name}/{path.name}"
        for name, parsed in parse(path.read_text(encoding="utf-8"), source).items():
            stmt = (
                parsed
                if dialect == "sqlite"
                else replace(parsed, sql=pyformat(parsed.sql), dialect=dialect)
            )
            if name in statements:
                raise InternalError(
                    f"{stmt.source}: {name!r} also defined at {statements[name].source}"
                )
            statements[name] = stmt
    return Registry(statements)


def load_package(package: str, dialect: str = "sqlite") -> Registry:
    """The statements of a rawdb package: every ``sql/*.sql`` file beside its modules (for
    SQLite), or in its ``sql/<dialect>/`` folder."""
    root = Path(str(resources.files(package) / "sql"))
    label = f"{package.replace('.', '/')}/sql"
    if dialect != "sqlite":
        root, label = root / dialect, f"{label}/{dialect}"
    if not root.is_dir():
        raise InternalError(f"{package} has no {label}/ folder of statements")
    return load_folder(root, label=label, dialect=dialect)


@lru_cache(maxsize=4096)
def _render(sql: str, identifiers: tuple[tuple[str, str | tuple[str, ...]], ...], name: str) -> str:
    rendered = sql
    for slot, given in identifiers:
        names = given if isinstance(given, tuple) else (given,)
        bad = [n for n in names if not isinstance(n, str) or not n or "\x00" in n]
        if bad or not names:
            raise InternalError(
                f"{name!r}: {bad[0] if bad else given!r} cannot be an identifier (empty, or a "
                "NUL in it); refusing to put it in SQL"
            )
        quoted = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
        rendered = re.compile(rf"\b__{slot}__\b").sub(quoted.replace("\\", "\\\\"), rendered)
    return rendered


def _declarations(comments: list[str], where: str, name: str) -> dict[str, str]:
    """The ``params:`` and ``returns:`` lines among a block's comments (each exactly once)."""
    found: dict[str, str] = {}
    key: str | None = None
    for comment in comments[1:]:
        match = _DECLARATION.match(comment)
        if match:
            key = match["key"]
            if key in found:
                raise InternalError(f"{where}: {name!r} declares '{key}:' twice")
            found[key] = match["value"].strip()
        elif key == "params" and found["params"].endswith(","):
            found["params"] += " " + comment  # a long list goes on after a trailing comma
        else:
            key = None
    missing = [k for k in ("params", "returns") if k not in found]
    if missing:
        raise InternalError(
            f"{where}: {name!r} lacks {' and '.join(f'-- {k}:' for k in missing)}; every "
            "statement declares its parameters (or 'none') and its result "
            f"({', '.join(RETURNS)})"
        )
    return found


def _check_params(body: str, declared: str, where: str, name: str) -> tuple[str, ...]:
    """The declared parameter names, once they are proved to be the statement's placeholders."""
    params = () if declared == "none" else tuple(p.strip() for p in declared.split(","))
    if any(not _VALID_NAME.match(p) for p in params) or len(set(params)) != len(params):
        raise InternalError(
            f"{where}: {name!r}: 'params: {declared}' must be distinct snake_case names or 'none'"
        )
    named: list[str] = []
    positional = highest = 0
    for match in _PLACEHOLDER.finditer(body):
        if match["named"] and match["named"] not in named:
            named.append(match["named"])
        elif match["positional"]:
            positional += 1
        elif match["numbered"]:
            highest = max(highest, int(match["numbered"][1:]))
    if named and (positional or highest):
        raise InternalError(f"{where}: {name!r} mixes named and positional placeholders")
    if named:
        if set(named) != set(params):
            raise InternalError(
                f"{where}: {name!r} declares params {list(params)} but uses {sorted(named)}"
            )
        return params
    used = max(positional, highest)
    if used != len(params):
        raise InternalError(
            f"{where}: {name!r} declares {len(params)} parameter(s) but has {used} placeholder(s)"
        )
    return params
