"""Values between the engines: SQLite's stored forms into what PostgreSQL's binary COPY takes
for each column type, and one canonical form of a value for checksums on either side."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

Convert = Callable[[Any], Any]

_EARLIEST = datetime(1, 1, 1)


def _timestamp(value: Any) -> datetime | None:
    """Stored UTC text (or a year-0 'beginning of time' marker) as a naive UTC datetime, which
    binary COPY sends as the same 8 bytes as timestamptz."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("0000-"):
        return _EARLIEST
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def timestamp_of(text: str) -> datetime:
    """A stored UTC text as an aware datetime (a query parameter against timestamptz)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _numeric(scale: int | None) -> Convert:
    step = None if scale is None else Decimal(1).scaleb(-scale)

    def convert(value: Any) -> Decimal | None:
        if value is None:
            return None
        number = Decimal(str(value))
        return number if step is None else number.quantize(step, rounding=ROUND_HALF_EVEN)

    return convert


def _boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def _same(value: Any) -> Any:
    return value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# information_schema's type name -> (SQLite value -> COPY value, the type COPY is told)
_BY_TYPE: dict[str, tuple[Convert, str]] = {
    "timestamp with time zone": (_timestamp, "timestamp"),
    "boolean": (_boolean, "bool"),
    "date": (_date, "date"),
    "bigint": (_int, "int8"),
    "integer": (_int, "int4"),
    "smallint": (_int, "int2"),
    "double precision": (_float, "float8"),
    "real": (_float, "float4"),
}


def converter(data_type: str, scale: int | None) -> tuple[Convert, str]:
    """How a SQLite value becomes a COPY value for a column of ``data_type``
    (information_schema's name), and the type name COPY is told."""
    if data_type == "numeric":
        return _numeric(scale), "numeric"
    if data_type == "jsonb":
        return _json, "jsonb"
    return _BY_TYPE.get(data_type, (_text, "text"))


def _json(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _moment(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_CANONICAL: dict[type, Callable[[Any], str]] = {
    datetime: _moment,
    bool: lambda v: "t" if v else "f",
    float: repr,
    Decimal: lambda v: format(v.normalize(), "f"),
    date: date.isoformat,
    dict: _json_text,
    list: _json_text,
}


def canonical(value: Any) -> str:
    """One text for a value, whichever engine gave it (after :func:`converter` on SQLite's)."""
    if value is None:
        return "\\N"
    write = _CANONICAL.get(type(value))
    return str(value) if write is None else write(value)


def _or_null(write: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda v: "\\N" if v is None else write(v)


_CANONICAL_BY_TYPE: dict[str, Callable[[Any], str]] = {
    "timestamp with time zone": _or_null(_moment),
    "double precision": _or_null(repr),
    "real": _or_null(repr),
    "bigint": _or_null(str),
    "integer": _or_null(str),
    "smallint": _or_null(str),
    "text": _or_null(str),
    "character varying": _or_null(str),
}


def canonical_for(data_type: str) -> Callable[[Any], str]:
    """:func:`canonical` for one column's values, chosen once per column (the common types
    skip the dispatch on each value's type)."""
    return _CANONICAL_BY_TYPE.get(data_type, canonical)
