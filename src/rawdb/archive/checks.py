"""The pieces archival leans on: an order-independent checksum, archive paths, step hooks.

The checksum of a table is order-independent: each row (columns in a fixed order) is rendered
with ``repr`` (exact for floats, distinguishes NULL, text and numbers), and the CRC-32 and,
separately, the Adler-32 of those texts are added up, each sum modulo 2**32. Row order does not
matter; a changed, missing or doubled row changes it (odds of a miss about 2**-64). Measured
2026-11-22 on 1M ticks: 4.5 s per pass on the shared 2-core machine (rendering the text in SQL
with quote()/printf() was slower: 5.6 s / 10.2 s).

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
    cols = ", ".join(templates.COLUMNS[period.family])
    cursor = conn.execute(f"SELECT {cols} FROM {schema}.{templates.check_table(period.table)}")
    crc = adler = count = 0
    while True:
        rows = cursor.fetchmany(20_000)
        if not rows:
            break
        count += len(rows)
        texts = [repr(row).encode() for row in rows]
        crc += sum(map(zlib.crc32, texts))
        adler += sum(map(zlib.adler32, texts))
    return count, f"{crc & MASK:08x}{adler & MASK:08x}"


def archive_path(folder: Path, period: Period) -> Path:
    """One archive file per period: ``<folder>/market_data_2025_01.sqlite3``."""
    return folder / f"{period.table}.sqlite3"
