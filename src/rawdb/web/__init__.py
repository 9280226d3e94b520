"""rawdb's FastAPI face (the ``web`` extra): a lifespan, a health router, a push, a dashboard.

The glue an application writes::

    from fastapi import FastAPI
    from rawdb.web import lifespan, router

    app = FastAPI(lifespan=lifespan(migrate=True))   # opens the pool, closes it on shutdown
    app.include_router(router())                       # /api/health/database, /metrics, ...

Endpoints: ``GET /api/health/database`` (the seed application's shape, each field a real
figure), ``GET /metrics`` (Prometheus), ``WS /ws/database`` (a snapshot every few seconds and
each alert as it is raised) and ``GET /dashboard`` (a live page of the same figures). The
application's own routes take the pool as a parameter typed ``rawdb.web.PoolDep``.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401 -- only to give the missing extra a clear message
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the wheel test
    raise ModuleNotFoundError(
        "rawdb.web needs FastAPI: install rawdb with its web extra, pip install 'rawdb[web]'"
    ) from exc

from rawdb.web.health import DatabaseHealth, database_health
from rawdb.web.routes import router
from rawdb.web.state import (
    Database,
    DatabaseDep,
    PoolDep,
    database,
    lifespan,
    open_database,
    pool,
)

__all__ = [
    "Database",
    "DatabaseDep",
    "DatabaseHealth",
    "PoolDep",
    "database",
    "database_health",
    "lifespan",
    "open_database",
    "pool",
    "router",
]
