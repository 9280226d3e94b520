"""The database an application's FastAPI app serves, opened and closed with the app.

``lifespan()`` is for an app with no lifespan of its own; an app that has one opens rawdb
inside it with ``async with open_database(app, ...)``. Either way the pool, the monitor and
the beat live on ``app.state.rawdb`` and the dependencies :func:`database` and :func:`pool`
hand them to the app's routes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from starlette.requests import HTTPConnection

from rawdb.config import Settings
from rawdb.errors import UsageError
from rawdb.monitor import Monitor, Thresholds, prometheus
from rawdb.pool import Pool, PoolConfig
from rawdb.web.plans import PlanFigures
from rawdb.web.push import Beat

STATE_KEY = "rawdb"


def worker_label() -> str:
    """Every sample's ``worker`` label, so workers behind one port stay apart (read when
    asked: a server that forks its workers after importing the app gives each its own)."""
    return str(os.getpid())


@dataclass
class Database:
    """What the routes need: the pool, its monitor, the beat and the advisor's figures."""

    pool: Pool
    monitor: Monitor
    beat: Beat
    plans: PlanFigures


@asynccontextmanager
async def open_database(
    app: FastAPI,
    settings: Settings | None = None,
    *,
    migrate: bool = False,
    config: PoolConfig | None = None,
    thresholds: Thresholds | None = None,
    push_every: float = 2.0,
    plans_every: float = 3600.0,
    registry: CollectorRegistry | None = None,
) -> AsyncIterator[Database]:
    """Open the pool (``Settings.from_env()`` by default) and start the beat; close both after.

    ``push_every``: seconds between reports (published for ``rawdb monitor``, pushed to the
    WebSocket clients); ``plans_every``: seconds between the advisor's runs; ``registry``: the
    application's own Prometheus registry, which then carries rawdb's families too (each
    labelled with this process's id, and as fresh as the last beat).
    """
    for name, value in (("push_every", push_every), ("plans_every", plans_every)):
        if not value > 0:
            raise UsageError(f"{name} must be a number of seconds above 0, got {value!r}")
    async with Pool.open(settings, config=config, migrate=migrate) as opened:
        monitor = Monitor(opened, thresholds=thresholds)
        plans = PlanFigures()
        collector = None if registry is None else prometheus.ReportCollector(worker=worker_label())
        beat = Beat(monitor, plans, push_every, collector)
        db = Database(opened, monitor, beat, plans)
        setattr(app.state, STATE_KEY, db)
        if registry is not None and collector is not None:
            registry.register(collector)
        beat.start()
        plans.start(opened, plans_every)
        try:
            yield db
        finally:
            await plans.stop()
            await beat.stop()
            await monitor.close()
            if registry is not None and collector is not None:
                registry.unregister(collector)
            delattr(app.state, STATE_KEY)


def lifespan(
    settings: Settings | None = None,
    *,
    migrate: bool = False,
    config: PoolConfig | None = None,
    thresholds: Thresholds | None = None,
    push_every: float = 2.0,
    registry: CollectorRegistry | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """``FastAPI(lifespan=lifespan(...))``: rawdb open while the app runs (see open_database)."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(
            app,
            settings,
            migrate=migrate,
            config=config,
            thresholds=thresholds,
            push_every=push_every,
            registry=registry,
        ):
            yield

    return run


def database(connection: HTTPConnection) -> Database:
    """The app's rawdb (a FastAPI dependency, for HTTP routes and WebSockets alike)."""
    db = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(db, Database):
        raise UsageError(
            "rawdb is not open in this app: pass lifespan=rawdb.web.lifespan() to FastAPI, "
            "or open it in the app's own lifespan with rawdb.web.open_database(app)"
        )
    return db


def pool(connection: HTTPConnection) -> Pool:
    """The app's pool (a FastAPI dependency); routes take ``pool: rawdb.web.PoolDep``."""
    return database(connection).pool


DatabaseDep = Annotated[Database, Depends(database)]
PoolDep = Annotated[Pool, Depends(pool)]
