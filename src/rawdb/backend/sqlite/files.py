"""What the SQLite files measure from outside: sizes, the WAL header, the library's memory.

Only ``stat`` and the -wal file are read from Python: SQLite locks the database file and the
-shm, never the -wal, so reading it cannot drop a lock (see :mod:`.connection`).
"""

from __future__ import annotations

import ctypes
import os
import struct
from functools import cache
from pathlib import Path

from rawdb.backend.sqlite.driver import SQLITE_VERSION

WAL_HEADER = struct.Struct(">IIIIIIII")
WAL_MAGIC = (0x377F0682, 0x377F0683)


def read_wal_header(wal: Path) -> tuple[int, int] | None:
    """(checkpoint sequence, salt-1) of a WAL file, or None when there is no valid header."""
    try:
        with wal.open("rb") as handle:
            data = handle.read(WAL_HEADER.size)
    except OSError:
        return None
    if len(data) < WAL_HEADER.size:
        return None
    magic, _version, _page, sequence, salt1, *_ = WAL_HEADER.unpack(data)
    return (sequence, salt1) if magic in WAL_MAGIC else None


def library_memory() -> tuple[int | None, int | None]:
    """Bytes in use and the high-water mark of the SQLite library the stdlib links, if shared."""
    lib = _stdlib_sqlite()
    if lib is None:
        return None, None
    return int(lib.sqlite3_memory_used()), int(lib.sqlite3_memory_highwater(0))


@cache
def _stdlib_sqlite() -> ctypes.CDLL | None:
    """The shared SQLite library the stdlib module runs on, when it is one and the same."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_libversion.restype = ctypes.c_char_p
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        lib.sqlite3_memory_highwater.restype = ctypes.c_int64
        lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
        version = lib.sqlite3_libversion().decode()
    except (OSError, AttributeError):
        return None
    return lib if version == SQLITE_VERSION else None


def size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
