"""Handing out a fixed set of connections: first come, first served, with a timeout.

A hand-written waiter queue rather than ``asyncio.Queue`` + ``wait_for``: when a timeout or a
cancellation races with a hand-over, the connection must go back to the pool, never get lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

from rawdb.errors import PoolClosed

T = TypeVar("T")


class Slots(Generic[T]):
    """A fixed set of items, each either idle or handed out; waiters are served in order."""

    def __init__(self, items: Iterable[T]) -> None:
        self._idle: deque[T] = deque(items)
        self.size = len(self._idle)
        self._waiters: deque[asyncio.Future[T]] = deque()
        self.in_use = 0
        self._closed = False
        self._drained = asyncio.Event()
        self._drained.set()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def close(self) -> None:
        """Refuse new takers; those already waiting are still served."""
        self._closed = True

    async def take(self, timeout: float) -> T:
        """An idle item, waiting up to ``timeout`` seconds (``TimeoutError`` after that)."""
        if self._closed:
            raise PoolClosed("the pool is closed; open a new one with Pool.open()")
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if self._idle and not self._waiters:
            self.in_use += 1
            self._drained.clear()
            return self._idle.popleft()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._drained.clear()
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give(waiter.result())  # handed over just as we gave up: pass it on
            else:
                waiter.cancel()
                self._forget(waiter)
            raise

    def give(self, item: T) -> None:
        """Return an item: straight to the longest waiter, else to the idle set."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)  # in_use is unchanged: it moves from one user to the next
                return
        self.in_use -= 1
        self._idle.append(item)
        self._check_drained()

    def idle_items(self) -> list[T]:
        return list(self._idle)

    async def drained(self) -> None:
        """Return once nothing is handed out and nobody is waiting."""
        await self._drained.wait()

    def _forget(self, waiter: asyncio.Future[T]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        self._check_drained()

    def _check_drained(self) -> None:
        if self.in_use == 0 and not any(not w.done() for w in self._waiters):
            self._drained.set()
