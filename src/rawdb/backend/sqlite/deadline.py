"""Deadlines on reads: SQLite is interrupted once a read has run its time, and the caller gets
:class:`~rawdb.errors.QueryTimeout` naming the statement; the connection stays usable.

A read runs in one of two places, and each gets the mechanism measured cheaper there
(``tools/bench_deadline.py``; figures in docs/app.md, "Read deadlines"):

- On the connection's own thread (aiosqlite: range reads, bars, the trading reads): a timer on
  the event loop calls the sqlite3 connection's ``interrupt()``, the one call it allows from
  another thread. Nothing runs while the statement does; the cost is per statement (about
  25 us on this project's virtual machine, mostly the kernel arming a timer for the loop's
  wait). A progress handler there would call back into Python every N instructions, each call
  taking the GIL from the connection's thread: with the event loop busy in Python for 20 ms
  at a time, a scan took about twice as long; with the timer, no longer.
- In place on the event loop's thread (``fetchall_now``: the latest-tick seeks and the
  partition registry): no timer fires while the loop itself runs the statement, so the
  reader's second connection carries a progress handler, set once when it opens, checking
  the deadline every :data:`PROGRESS_EVERY` instructions; with no deadline it returns at once.
  It runs on the thread that holds the GIL anyway, and a point read (~50 instructions) ends
  before the first check: a latest tick with a deadline cost 0-2% more than without.

A statement interrupted while reading leaves nothing behind: SQLite rolls back nothing for a
read-only statement, the pool ends any read transaction when the block ends, and an
``interrupt()`` that lands after the statement finished is forgotten when the next one starts
(SQLite clears the flag once no statement is running).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from rawdb.errors import QueryTimeout

T = TypeVar("T")

PROGRESS_EVERY = 1000
"""Instructions between deadline checks in place. Measured on a long statement: every 100
cost 15-21%, every 1000 and every 10000 the same within the noise (0-7%, 0-3%); all stopped
within 0.3 ms of a 50 ms deadline. In place only point reads run, and they end before 1000."""
INTERRUPTED = "SQLITE_INTERRUPT"


@dataclass(slots=True)
class Alarm:
    """The progress handler of a connection that runs reads in place: true (stop) once the
    deadline of the statement running now has passed; ``at`` is None between statements."""

    at: float | None = None

    def __call__(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


def install(conn: sqlite3.Connection, alarm: Alarm) -> None:
    """Let ``alarm`` stop any statement ``conn`` runs once its deadline has passed."""
    conn.set_progress_handler(alarm, PROGRESS_EVERY)


async def on_thread(
    op: Callable[[], Awaitable[T]],
    at: float,
    interrupt: Callable[[], None],
    name: str,
    timeout: float,
) -> T:
    """Await ``op`` (a statement on a connection's own thread) with a timer calling
    ``interrupt`` when the monotonic clock reaches ``at``. The timer runs on the event loop,
    as the code that starts the next statement does, so once it is cancelled here it cannot
    reach a later statement."""
    remaining = at - time.monotonic()
    if remaining <= 0:
        raise QueryTimeout.not_started(name, timeout)
    timer = asyncio.get_running_loop().call_later(remaining, interrupt)
    try:
        return await op()
    finally:
        timer.cancel()


def is_interrupt(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", None) == INTERRUPTED
