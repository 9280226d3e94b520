"""How the pool behaves under load and failure: timeouts, recycling, retries, the breaker."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from rawdb.errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolConfig:
    """Pool behaviour with defaults; every argument is checked when the object is built.

    Connection count and SQLite tuning live in :class:`rawdb.Settings` (``readers``,
    ``busy_timeout_ms``); this is about how connections are handed out and looked after.
    """

    acquire_timeout: float = 10.0
    """Seconds a caller waits for a free connection before :class:`PoolTimeout`."""
    max_age: float | None = 3600.0
    """Seconds after which a connection is closed and reopened before its next use (None: never)."""
    max_queries: int | None = 100_000
    """Statements after which a connection is reopened before its next use (None: never)."""
    health_check_after: float = 5.0
    """A connection idle this many seconds is checked with ``SELECT 1`` before reuse."""
    read_retries: int = 4
    """Extra attempts for a read that failed with SQLITE_BUSY (0: no retry)."""
    retry_base_delay: float = 0.01
    """First back-off delay in seconds; it doubles each attempt, with jitter."""
    retry_max_delay: float = 0.5
    """Longest single back-off delay in seconds."""
    breaker_failures: int = 5
    """Consecutive connection failures that open the circuit breaker."""
    breaker_cooldown: float = 30.0
    """Seconds the breaker stays open before letting trial calls through."""
    breaker_successes: int = 3
    """Half-open successes that close the breaker again."""
    close_timeout: float | None = 30.0
    """Seconds ``close()`` waits for connections in use (None: wait as long as it takes)."""
    wait_samples: int = 1024
    """How many recent acquire wait times ``stats()`` summarises."""

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_type(item.name, str(item.type), getattr(self, item.name))
        _positive("acquire_timeout", self.acquire_timeout, "pass e.g. 10 (seconds)")
        if self.max_age is not None:
            _positive("max_age", self.max_age, "pass e.g. 3600 (seconds), or None to never recycle")
        if self.max_queries is not None:
            _at_least("max_queries", self.max_queries, 1, "pass e.g. 100000, or None")
        _at_least("health_check_after", self.health_check_after, 0, "0 checks before every use")
        _at_least("read_retries", self.read_retries, 0, "0 turns retrying off")
        _positive("retry_base_delay", self.retry_base_delay, "pass e.g. 0.01 (seconds)")
        if self.retry_base_delay > self.retry_max_delay:
            raise ConfigError(
                f"PoolConfig.retry_base_delay ({self.retry_base_delay}) is greater than "
                f"retry_max_delay ({self.retry_max_delay}); raise retry_max_delay or lower "
                "retry_base_delay"
            )
        _at_least("breaker_failures", self.breaker_failures, 1, "pass e.g. 5")
        _at_least("breaker_cooldown", self.breaker_cooldown, 0, "pass e.g. 30 (seconds)")
        _at_least("breaker_successes", self.breaker_successes, 1, "pass e.g. 3")
        if self.close_timeout is not None:
            _at_least("close_timeout", self.close_timeout, 0, "None waits as long as it takes")
        _at_least("wait_samples", self.wait_samples, 1, "pass e.g. 1024")


def _check_type(name: str, annotation: str, value: object) -> None:
    """Numbers only (no bools, no text, nothing infinite); None only where the field allows it."""
    if value is None and annotation.endswith("| None"):
        return
    wants_int = annotation.startswith("int")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (wants_int and not isinstance(value, int))
    ):
        kind = "a whole number" if wants_int else "a number of seconds"
        raise ConfigError(f"PoolConfig.{name} must be {kind}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"PoolConfig.{name} must be finite, got {value!r}")


def _positive(name: str, value: float, hint: str) -> None:
    if value <= 0:
        raise ConfigError(f"PoolConfig.{name} must be greater than 0 (got {value}); {hint}")


def _at_least(name: str, value: float, low: float, hint: str) -> None:
    if value < low:
        raise ConfigError(f"PoolConfig.{name} must be at least {low} (got {value}); {hint}")
