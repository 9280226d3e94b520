"""How the pool behaves under load and failure: timeouts, recycling, retries, the breaker."""

from __future__ import annotations

from pydantic import Field, model_validator

from rawdb.config import Checked
from rawdb.errors import ConfigError


class PoolConfig(Checked):
    """Pool behaviour with defaults; every argument is checked when the object is built.

    Connection count and SQLite tuning live in :class:`rawdb.Settings` (``readers``,
    ``busy_timeout_ms``); this is about how connections are handed out and looked after.
    """

    acquire_timeout: float = Field(default=10.0, gt=0)
    """Seconds a caller waits for a free connection before :class:`PoolTimeout`."""
    max_age: float | None = Field(default=3600.0, gt=0)
    """Seconds after which a connection is closed and reopened before its next use (None: never)."""
    max_queries: int | None = Field(default=100_000, ge=1)
    """Statements after which a connection is reopened before its next use (None: never)."""
    health_check_after: float = Field(default=5.0, ge=0)
    """A connection idle this many seconds is checked with ``SELECT 1`` before reuse."""
    read_retries: int = Field(default=4, ge=0)
    """Extra attempts for a read that failed with SQLITE_BUSY (0: no retry)."""
    retry_base_delay: float = Field(default=0.01, gt=0)
    """First back-off delay in seconds; it doubles each attempt, with jitter."""
    retry_max_delay: float = Field(default=0.5, gt=0)
    """Longest single back-off delay in seconds."""
    breaker_failures: int = Field(default=5, ge=1)
    """Consecutive connection failures that open the circuit breaker."""
    breaker_cooldown: float = Field(default=30.0, ge=0)
    """Seconds the breaker stays open before letting trial calls through."""
    breaker_successes: int = Field(default=3, ge=1)
    """Half-open successes that close the breaker again."""
    close_timeout: float | None = Field(default=30.0, ge=0)
    """Seconds ``close()`` waits for connections in use (None: wait as long as it takes)."""
    wait_samples: int = Field(default=1024, ge=1)
    """How many recent acquire wait times ``stats()`` summarises."""

    @model_validator(mode="after")
    def _delays_in_order(self) -> PoolConfig:
        if self.retry_base_delay > self.retry_max_delay:
            raise ConfigError(
                f"PoolConfig.retry_base_delay ({self.retry_base_delay}) is greater than "
                f"retry_max_delay ({self.retry_max_delay}); raise retry_max_delay or lower "
                "retry_base_delay"
            )
        return self
