"""What every pool is, whatever its engine: the interface the layers above use, and
:meth:`Pool.open`, which makes the pool of the settings' engine (``rawdb.pool.<dialect>``:
:mod:`rawdb.pool.sqlite`, or :mod:`rawdb.pool.postgresql` with ``rawdb[postgresql]``)."""

from __future__ import annotations

import asyncio
import importlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rawdb.breaker import Clock
from rawdb.config import FROM_SETTINGS, ReadTimeout, Settings
from rawdb.pool.config import PoolConfig
from rawdb.pool.stats import PoolStats

if TYPE_CHECKING:
    from rawdb.backend import Connection

Observer = Callable[[str, float, int | None, BaseException | None, object], None]
"""Told of every statement: ``(name, seconds, rows, error, params)``."""


class Pool(ABC):
    """One writer and ``settings.readers`` reader connections to one database.

    Open with ``await Pool.open(settings)`` or ``async with Pool.open(settings) as pool``: a
    file's pool (:class:`rawdb.pool.sqlite.SqlitePool`), or with ``settings.database_url`` a
    PostgreSQL one (:class:`rawdb.pool.postgresql.PostgresPool`), with this interface.
    """

    dialect: str
    """The engine's name, which names its statement folders and its data-API module."""

    def __init__(self, settings: Settings, config: PoolConfig | None = None) -> None:
        self.settings = settings
        self.config = config or PoolConfig()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        config: PoolConfig | None = None,
        migrate: bool = False,
        migrations_dir: Path | None = None,
        clock: Clock = time.monotonic,
    ) -> Opening:
        """Check (or, with ``migrate=True``, bring) the schema up to date, then connect.

        ``migrations_dir`` is a folder holding ``migrations/`` (default: the shipped ones);
        ``clock`` drives recycling by age and the breaker's cool-down (tests pass a fake).
        """
        chosen = settings or Settings.from_env()
        # The engine's module is imported only when asked for (psycopg only with a URL).
        engine = importlib.import_module(f"rawdb.pool.{chosen.dialect}")
        pool: Pool = engine.POOL(chosen, config, clock=clock)
        return Opening(pool, migrate=migrate, migrations_dir=migrations_dir)

    @abstractmethod
    def read(
        self,
        *,
        snapshot: bool = False,
        own_writes: bool = False,
        timeout: ReadTimeout = FROM_SETTINGS,
    ) -> AbstractAsyncContextManager[Connection]:
        """A reader; ``snapshot=True``: one state for every query; ``own_writes=True`` inside
        this task's ``pool.write()``: the writer in its transaction; ``timeout``: a deadline."""

    @abstractmethod
    def write(self) -> AbstractAsyncContextManager[Connection]:
        """The writer in a transaction, committed when the block ends, rolled back when it
        raises; nested in the same task, a savepoint."""

    @abstractmethod
    def stats(self) -> PoolStats:
        """Pool figures for monitoring (cheap; no database access)."""

    @property
    @abstractmethod
    def observer(self) -> Observer | None:
        """Called after every named statement (a :class:`rawdb.monitor.Metrics`, say)."""

    @observer.setter
    @abstractmethod
    def observer(self, observer: Observer | None) -> None: ...

    @property
    @abstractmethod
    def closed(self) -> bool: ...

    @abstractmethod
    async def close(self) -> None:
        """Wait for the work in flight, then close every connection. Safe twice."""

    @abstractmethod
    async def _start(self, *, migrate: bool, migrations_dir: Path | None) -> Pool:
        """Check or migrate the schema, then connect (what awaiting :meth:`open` does)."""

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Opening:
    """What :meth:`Pool.open` returns: ``await`` it for the pool, or ``async with`` it."""

    def __init__(self, pool: Pool, *, migrate: bool, migrations_dir: Path | None) -> None:
        self._pool = pool
        self._migrate = migrate
        self._dir = migrations_dir
        self._started: asyncio.Future[Pool] | None = None

    def __await__(self) -> Generator[Any, None, Pool]:
        if self._started is None:  # awaited again (or entered after an await): open once
            self._started = asyncio.ensure_future(
                self._pool._start(migrate=self._migrate, migrations_dir=self._dir)
            )
        return self._started.__await__()

    async def __aenter__(self) -> Pool:
        return await self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._pool.close()
