"""The migrator lock on PostgreSQL: a session advisory lock, so concurrent migrators, on any
machine, apply each version once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rawdb.backend.postgresql.driver import SyncConnection
from rawdb.errors import DatabaseBusy

LOCK_KEY = 0x7261776462  # "rawdb" in ASCII: one key for every rawdb migrator of a database
POLL_SECONDS = 0.1


def holder(conn: SyncConnection) -> str | None:
    """Who holds the lock: the session's application name and pid, when another does."""
    row = conn.execute(
        "SELECT a.application_name, a.pid, a.client_addr::text FROM pg_locks AS l "
        "JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s AND a.pid <> "
        "pg_backend_pid() LIMIT 1",
        (LOCK_KEY & 0xFFFFFFFF,),
    ).fetchone()
    if row is None:
        return None
    where = f" from {row[2]}" if row[2] else ""
    return f"{row[0] or 'a session'} (pid {row[1]}{where})"


@contextmanager
def held(
    conn: SyncConnection, wait_seconds: float, what: str, notify: Callable[[str], None]
) -> Iterator[None]:
    """Hold the lock on ``conn``'s session for the block, waiting at most ``wait_seconds`` for
    another migrator (:class:`DatabaseBusy` after that); ``notify`` is told once on waiting."""
    deadline = time.monotonic() + wait_seconds
    told = False
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:  # type: ignore[index]
        who = holder(conn) or "another migrator"
        if time.monotonic() >= deadline:
            raise DatabaseBusy(
                f"`{what}`: {who} holds the migrator lock; waited {wait_seconds:g} s. Nothing "
                "was changed; run again when it has finished (or raise --wait)."
            )
        if not told:
            told = True
            notify(f"waiting up to {wait_seconds:g} s for {who} to finish migrating")
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
