"""Thresholds and alerts: a failing health check raises an alert once per cool-down.

An alert goes to the structured log (event ``monitor.alert``) and to every callback the
application registered (its WebSocket broadcaster, say). A callback may be a plain function or
a coroutine function; a coroutine is scheduled on the running loop. A callback that raises is
logged and never breaks monitoring. When a check passes again after alerting, one
``monitor.alert_cleared`` event is logged and the cool-down resets.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rawdb import log

Status = Literal["healthy", "degraded", "unhealthy"]
AlertCallback = Callable[["Alert"], Awaitable[None] | None]


class Thresholds(BaseModel):
    """Limits past which a check degrades, with QuantumLeap's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query_p95_ms: float = Field(default=100.0, gt=0, description="p95 of any query over the window")
    maintenance_p95_ms: float = Field(
        default=60_000.0,
        gt=0,
        description="p95 of one-off DDL and maintenance (a month's table made, ANALYZE, a move "
        "of rows): seconds are normal there, a query's limit is not",
    )
    pool_use: float = Field(default=0.8, gt=0, le=1, description="share of connections in use")
    database_mb: float = Field(default=5000.0, gt=0, description="database file size in MB (10^6)")
    wal_mb: float = Field(default=512.0, gt=0, description="WAL file size in MB: checkpoints lag")
    error_rate: float = Field(default=0.01, ge=0, le=1, description="failed share of statements")
    error_rate_min_statements: int = Field(
        default=20, ge=1, description="statements in the window before the error rate is judged"
    )
    lock_wait_ms: float = Field(
        default=1000.0, gt=0, description="p95 wait for a connection or lock"
    )
    cooldown_seconds: float = Field(
        default=300.0, ge=0, description="quiet time between repeat alerts"
    )


class Alert(BaseModel):
    """One alert: which check, about what, how far past its limit."""

    model_config = ConfigDict(frozen=True)

    check: str
    subject: str = ""
    """What the check is about when it has several (a statement name); empty otherwise."""
    status: Status
    message: str
    value: float | None = None
    limit: float | None = None
    raised_at: float = Field(description="seconds since the epoch")


class Check(BaseModel):
    """One health check's verdict; ``reason`` says why in words."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    reason: str
    value: float | None = None
    limit: float | None = None
    subjects: list[str] = Field(default_factory=list)
    """What failed the check when it has several (statement names)."""


class AlertManager:
    """Turns failing checks into alerts, at most once per cool-down for each check and subject.

    ``clock`` is monotonic seconds for the cool-down (tests pass a fake); ``wall`` stamps alerts.
    """

    def __init__(
        self,
        cooldown: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.cooldown = cooldown
        self._clock = clock
        self._wall = wall
        self._callbacks: list[AlertCallback] = []
        self._last_raised: dict[tuple[str, str], float] = {}
        self._active: dict[tuple[str, str], Alert] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._log = log.get_logger("monitor")

    def register(self, callback: AlertCallback) -> Callable[[], None]:
        """Call ``callback(alert)`` for every alert; returns a function that unregisters it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def process(self, checks: Iterable[Check]) -> list[Alert]:
        """Alerts for the failing checks that are out of cool-down (each raised and sent)."""
        now = self._clock()
        raised: list[Alert] = []
        failing: set[tuple[str, str]] = set()
        for check in checks:
            for subject in check.subjects or [""]:
                key = (check.name, subject)
                if check.status == "healthy":
                    continue
                failing.add(key)
                last = self._last_raised.get(key)
                if last is not None and now - last < self.cooldown:
                    continue
                self._last_raised[key] = now
                alert = self._raise(check, subject)
                self._active[key] = alert
                raised.append(alert)
        for key in [k for k in self._last_raised if k not in failing]:
            del self._last_raised[key]
            self._active.pop(key, None)
            self._log.info(log.MONITOR_ALERT_CLEARED, check=key[0], subject=key[1])
        return raised

    def active(self) -> list[Alert]:
        """The latest alert of every check and subject still failing."""
        return list(self._active.values())

    async def drain(self) -> None:
        """Wait for asynchronous callbacks still running (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _raise(self, check: Check, subject: str) -> Alert:
        alert = Alert(
            check=check.name,
            subject=subject,
            status=check.status,
            message=check.reason,
            value=check.value,
            limit=check.limit,
            raised_at=self._wall(),
        )
        self._log.warning(
            log.MONITOR_ALERT,
            check=alert.check,
            subject=alert.subject,
            status=alert.status,
            reason=alert.message,
            value=alert.value,
            limit=alert.limit,
        )
        for callback in list(self._callbacks):
            self._send(callback, alert)
        return alert

    def _send(self, callback: AlertCallback, alert: Alert) -> None:
        try:
            result = callback(alert)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(self._await(result, alert))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception as exc:  # a broken subscriber must not break monitoring
            self._failed(alert, exc)

    async def _await(self, result: Awaitable[None], alert: Alert) -> None:
        try:
            await result
        except Exception as exc:
            self._failed(alert, exc)

    def _failed(self, alert: Alert, exc: Exception) -> None:
        self._log.error(log.MONITOR_ALERT_CALLBACK_FAILED, check=alert.check, error=repr(exc))


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of several statuses (healthy when there are none)."""
    order: dict[Status, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}
    return max(statuses, key=order.__getitem__, default="healthy")
