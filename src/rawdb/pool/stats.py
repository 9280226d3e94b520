"""Pool figures for monitoring: counters plus a bounded window of recent acquire waits."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WaitSummary:
    """Acquire wait times in milliseconds over the most recent ``samples`` acquisitions."""

    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of the pool for dashboards and health reports; cheap to take."""

    size: int
    """Connections the pool owns: one writer plus the readers."""
    readers: int
    in_use: int
    """Connections handed out right now (writer included)."""
    waiting: int
    """Callers waiting for a connection right now."""
    writer_in_use: bool
    acquisitions: int
    """Connections handed out since the pool opened."""
    timeouts: int
    """Acquisitions that gave up after ``PoolConfig.acquire_timeout``."""
    wait: WaitSummary
    recycled: int
    """Connections closed and reopened for age or query count."""
    health_check_failures: int
    busy_retries: int
    """Reads that were retried after SQLITE_BUSY."""
    circuit_state: str
    """``closed``, ``open`` or ``half_open``."""
    consecutive_failures: int
    closed: bool


class WaitWindow:
    """The last ``size`` wait times; percentiles by sorting at most ``size`` numbers on demand."""

    def __init__(self, size: int) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def summary(self) -> WaitSummary:
        values = sorted(self._values)
        if not values:
            return WaitSummary(0, 0.0, 0.0, 0.0, 0.0)

        def pick(q: float) -> float:
            index = min(len(values) - 1, round(q * (len(values) - 1)))
            return round(values[index] * 1000, 3)

        return WaitSummary(len(values), pick(0.5), pick(0.95), pick(0.99), pick(1.0))


@dataclass(slots=True)
class Counters:
    """Running totals the pool bumps as it works."""

    acquisitions: int = 0
    timeouts: int = 0
    recycled: int = 0
    health_check_failures: int = 0
    busy_retries: int = 0
