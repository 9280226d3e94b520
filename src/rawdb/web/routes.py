"""The router: the seed's health endpoint, Prometheus' /metrics, the push and the dashboard."""

from __future__ import annotations

import posixpath
from importlib import resources

from fastapi import APIRouter, Response, WebSocket
from fastapi.responses import HTMLResponse

from rawdb.monitor import prometheus
from rawdb.web.health import DatabaseHealth, database_health
from rawdb.web.state import DatabaseDep, worker_label

UNHEALTHY = 503
"""The health endpoint's status code when the database is unhealthy (for load balancers)."""


def router(
    *,
    health_path: str = "/api/health/database",
    metrics_path: str | None = "/metrics",
    push_path: str = "/ws/database",
    dashboard_path: str | None = "/dashboard",
) -> APIRouter:
    """rawdb's routes; each path can be moved, and ``/metrics`` or the dashboard left out
    (``None``: an app that serves its own ``/metrics`` registers rawdb's collector instead,
    ``open_database(..., registry=...)``)."""
    routes = APIRouter(tags=["database"])
    page = resources.files("rawdb.web").joinpath("dashboard.html").read_text(encoding="utf-8")

    @routes.get(health_path, response_model=DatabaseHealth)
    async def health(response: Response, db: DatabaseDep) -> DatabaseHealth:
        """The database's health in the seed application's shape; 503 when unhealthy."""
        report = await db.monitor.report()
        if report.status == "unhealthy":
            response.status_code = UNHEALTHY
        return database_health(report, db.plans, db.monitor.metrics.slow_after)

    if metrics_path is not None:

        @routes.get(metrics_path, response_class=Response)
        async def metrics(db: DatabaseDep) -> Response:
            """Prometheus' text exposition, each sample labelled with this worker's process id."""
            report = await db.monitor.report()
            text = prometheus.render(report, worker=worker_label())
            return Response(content=text, media_type=prometheus.CONTENT_TYPE)

    @routes.websocket(push_path)
    async def push(websocket: WebSocket, db: DatabaseDep) -> None:
        await db.beat.serve(websocket)

    if dashboard_path is not None:
        # Paths relative to the page's own, so the router works under an app's prefix too.
        here = posixpath.dirname(dashboard_path)
        body = page.replace("__PUSH_PATH__", posixpath.relpath(push_path, here)).replace(
            "__HEALTH_PATH__", posixpath.relpath(health_path, here)
        )

        @routes.get(dashboard_path, response_class=HTMLResponse, include_in_schema=False)
        async def dashboard() -> HTMLResponse:
            return HTMLResponse(body)

    return routes
