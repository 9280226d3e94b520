"""One migrator at a time on a database: a lock on ``<db>.migrate-lock`` beside the file.

Each migration's transaction keeps two migrators from applying it twice, but a
``-- rawdb: transaction=off`` file runs its statements outside any transaction, and another
migrator reading the database between them sees a migration half done: its tables there, its
version not recorded. So ``up``, ``down`` and ``baseline`` hold this lock for their whole run;
a second migrator waits for it, then reads the database afresh and finds the work done.

The lock is ``flock`` on a separate file, never on the database: closing any descriptor of the
database file from Python would drop SQLite's own POSIX locks on it. ``flock`` locks belong to
the open file, so two migrators in one process exclude each other as well, and the kernel
releases the lock of a process that dies. The holder removes the file before it lets the lock
go; one that waited on the removed file sees so (its inode is no longer the path's) and takes
the lock again on the path's file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rawdb import log
from rawdb.errors import CannotOpen, DatabaseBusy

LOCK_SUFFIX = ".migrate-lock"
POLL_SECONDS = 0.02
"""Pause between tries while another migrator holds the lock (never a busy loop)."""

if sys.platform == "win32":  # pragma: no cover - rawdb's CI runs on POSIX
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path(database: Path) -> Path:
    """The lock file of ``database``: ``<db>.migrate-lock`` in the same folder."""
    return database.with_name(database.name + LOCK_SUFFIX)


@contextmanager
def held(
    database: Path, wait_seconds: float, what: str, notify: Callable[[str], None]
) -> Iterator[None]:
    """Hold the migrator lock of ``database`` for the block, waiting at most
    ``wait_seconds`` for another migrator to let it go (:class:`DatabaseBusy` after that).
    ``notify`` is told once when this migrator has to wait."""
    path = lock_path(database)
    fd = _acquire(path, time.monotonic() + wait_seconds, wait_seconds, what, notify)
    try:
        _note_owner(fd, what)
        yield
    finally:
        with contextlib.suppress(OSError):  # removed by hand meanwhile: nothing to clean
            path.unlink()
        _unlock(fd)
        os.close(fd)


def _open(path: Path, what: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        raise CannotOpen(
            f"{path}: cannot create the migrator's lock file ({exc.strerror}); `{what}` needs "
            f"the folder {path.parent} writable, as SQLite does for its journal. Nothing was "
            "changed."
        ) from exc


def _acquire(
    path: Path, deadline: float, wait_seconds: float, what: str, notify: Callable[[str], None]
) -> int:
    """A descriptor of ``path`` holding the lock; the path's file, not one removed since."""
    told = False
    while True:
        fd = _open(path, what)
        while not _try_lock(fd):
            if not told:
                told = True
                _tell_waiting(path, wait_seconds, what, notify)
            if time.monotonic() >= deadline:
                os.close(fd)
                raise DatabaseBusy(
                    f"{what}: another migrator ({_owner(path)}) held {path} for the whole "
                    f"wait ({wait_seconds:g} s; --wait or wait_seconds sets it); nothing was "
                    "changed. Let it finish, or raise the wait, then run the command again."
                )
            time.sleep(POLL_SECONDS)
        if _same_file(fd, path):
            return fd
        _unlock(fd)  # the holder removed that file: lock the path's own
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_path = os.stat(path)
    except FileNotFoundError:
        return False
    held_file = os.fstat(fd)
    return (held_file.st_dev, held_file.st_ino) == (on_path.st_dev, on_path.st_ino)


def _tell_waiting(
    path: Path, wait_seconds: float, what: str, notify: Callable[[str], None]
) -> None:
    note = (
        f"waiting up to {wait_seconds:g} s for another migrator ({_owner(path)}) to finish; "
        f"it holds {path}"
    )
    notify(note)
    log.get_logger("migrate").warning(
        log.WRITE_LOCK_WAITING, what=what, database=str(path), wait_s=wait_seconds, note=note
    )


def _note_owner(fd: int, what: str) -> None:
    """Write who holds the lock into the lock file, for the message of one that waits."""
    with contextlib.suppress(OSError):  # only a courtesy to whoever waits
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()}: {what}\n".encode())


def _owner(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"
