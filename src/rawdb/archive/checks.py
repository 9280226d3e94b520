"""The pieces archival leans on: an order-independent checksum, archive paths, step hooks.

The checksum of a table is order-independent: SQLite renders each row as one text (columns in
a fixed order, ``quote()`` for each value, REAL values with 17 significant digits so they are
exact), and Python adds up the CRC-32 and, separately, the Adler-32 of those texts, each sum
modulo 2**32. Row order does not matter; a changed, missing or doubled row changes it (odds of
a miss about 2**-64). The per-row work stays in C: measured ~0.5 s per million rows.

Step hooks make crash tests possible: set ``RAWDB_ARCHIVE_PAUSE_AT=<step>`` and the process
prints ``rawdb-archive: paused at <step>`` on stderr and sleeps there, so a test can SIGKILL it
at that exact point. In-process tests may set :data:`hook` instead.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from rawdb.partitions import templates
from rawdb.partitions.periods import Period

PAUSE_ENV = "RAWDB_ARCHIVE_PAUSE_AT"
ARCHIVE_STEPS = ("marked", "copied", "verified", "dropped")
RESTORE_STEPS = ("verified", "restored", "removed")
MASK = (1 << 32) - 1

hook: Callable[[str], None] | None = None
"""Called with each step name as archival passes it (tests)."""


def reached(step: str) -> None:
    """Mark a step: run the hook, and pause here when the environment asks."""
    if hook is not None:
        hook(step)
    if os.environ.get(PAUSE_ENV) == step:
        print(f"rawdb-archive: paused at {step}", file=sys.stderr, flush=True)
        time.sleep(3600)


def checksum(conn: sqlite3.Connection, schema: str, period: Period) -> tuple[int, str]:
    """(rows, checksum) of a period table in ``schema`` ('main' or 'archive')."""
    if schema not in {"main", "archive"}:
        raise ValueError(f"schema {schema!r}")
    text = " || '|' || ".join(_rendered(c) for c in templates.COLUMNS[period.family])
    cursor = conn.execute(
        f"SELECT CAST({text} AS BLOB) FROM {schema}.{templates.check_table(period.table)}"
    )
    crc = adler = count = 0
    while True:
        rows = cursor.fetchmany(20_000)
        if not rows:
            break
        count += len(rows)
        blobs = [row[0] for row in rows]
        crc += sum(map(zlib.crc32, blobs))
        adler += sum(map(zlib.adler32, blobs))
    return count, f"{crc & MASK:08x}{adler & MASK:08x}"


def _rendered(column: str) -> str:
    """A column's value as exact, unambiguous text (quote() keeps only 15 digits of a REAL)."""
    return f"iif(typeof({column}) = 'real', printf('%.17g', {column}), quote({column}))"


def archive_path(folder: Path, period: Period) -> Path:
    """One archive file per period: ``<folder>/market_data_2025_01.sqlite3``."""
    return folder / f"{period.table}.sqlite3"
