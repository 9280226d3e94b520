"""The beat: one health report every few seconds, published and pushed to every WebSocket
(and handed to the application's own Prometheus registry, when it gave one).

However many dashboards are open, the report is made once per beat; each client has a short
queue of its own, so a slow client loses old snapshots instead of holding up the others.
Alerts go out the moment the monitor raises them, and the latest few are kept for a page
that connects later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from pathlib import Path
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic.main import IncEx

from rawdb import log, tasks
from rawdb.monitor import Alert, HealthReport, Monitor, prometheus, published
from rawdb.web.health import database_health
from rawdb.web.plans import PlanFigures

CLIENT_QUEUE = 4
"""Messages a client may have waiting; past it the oldest is dropped."""
RECENT_ALERTS = 50

# The cumulative buckets are for Prometheus; a page needs the percentiles only.
_EVERY_STATEMENT: IncEx = {"__all__": {"buckets"}}
_HEAVY: IncEx = {
    "statements": _EVERY_STATEMENT,
    "writer": {"commit_buckets", "lock_wait_buckets", "batch_buckets"},
}


class Beat:
    """Reports every ``every`` seconds: published beside the database and pushed to clients."""

    def __init__(
        self,
        monitor: Monitor,
        plans: PlanFigures,
        every: float,
        collector: prometheus.ReportCollector | None = None,
    ) -> None:
        self.monitor = monitor
        self.plans = plans
        self.every = every
        self.collector = collector
        self.recent: deque[Alert] = deque(maxlen=RECENT_ALERTS)
        self.latest: dict[str, Any] | None = None
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._unregister = monitor.alerts.register(self._on_alert)
        self._log = log.get_logger("web")

    @property
    def clients(self) -> int:
        return len(self._clients)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._unregister()
        task, self._task = self._task, None
        await tasks.cancel(task)
        database = Path(self.monitor.pool.settings.database)
        await asyncio.to_thread(published.withdraw, database)

    async def beat(self) -> dict[str, Any]:
        """Make one report now: publish it, push it, and return the snapshot."""
        report = await self.monitor.report()
        if self.collector is not None:
            self.collector.update(report)
        snapshot = self.snapshot(report)
        self.latest = snapshot
        database = Path(self.monitor.pool.settings.database)
        try:
            await asyncio.to_thread(
                published.write, database, report.model_dump(mode="json"), self.every
            )
        except OSError as exc:  # a full or read-only disk: the push still goes on
            self._log.warning(log.MONITOR_PUBLISH_FAILED, error=str(exc))
        self._send(snapshot)
        return snapshot

    def snapshot(self, report: HealthReport) -> dict[str, Any]:
        full = report.model_dump(mode="json", exclude=_HEAVY)
        health = database_health(report, self.plans, self.monitor.metrics.slow_after)
        return {
            "type": "snapshot",
            "every_s": self.every,
            "health": health.model_dump(mode="json"),
            "statements": full["statements"],
            "writer": full["writer"],
            "file": full["file"],
            "recent_alerts": [a.model_dump(mode="json") for a in self.recent],
        }

    async def serve(self, websocket: WebSocket) -> None:
        """One client, until it goes: the latest snapshot at once, then every beat."""
        await websocket.accept()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(CLIENT_QUEUE)
        first = self.latest if self.latest is not None else await self.beat()
        queue.put_nowait(first)
        self._clients.add(queue)
        sender = asyncio.create_task(self._drain(websocket, queue))
        try:
            while True:  # the client's messages are not commands; reading notices it leave
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            self._clients.discard(queue)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await sender

    async def _drain(self, websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            await websocket.send_json(await queue.get())

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception as exc:  # a failed beat must not end the next ones
                self._log.warning(log.WEB_PUSH_FAILED, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.every)

    def _on_alert(self, alert: Alert) -> None:
        self.recent.append(alert)
        self._send({"type": "alert", "alert": alert.model_dump(mode="json")})

    def _send(self, message: dict[str, Any]) -> None:
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()  # a slow client loses its oldest message, not the others
            queue.put_nowait(message)
