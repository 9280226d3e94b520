"""A circuit breaker for database connections: stop hammering a database that keeps failing.

Closed: everything goes through; ``failure_threshold`` consecutive failures open it.
Open: every call fails fast with :class:`CircuitOpen` until ``cooldown`` seconds have passed.
Half-open: calls go through as trials; ``success_threshold`` successes close it, one failure
opens it again for another cool-down. The clock is injectable so tests need not sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from rawdb.errors import CircuitOpen, ConfigError

Clock = Callable[[], float]


class BreakerState(StrEnum):
    """Where the breaker stands; the value is what monitoring shows."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


Listener = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Counts consecutive connection failures and successes; see the module docstring."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        success_threshold: int = 3,
        clock: Clock = time.monotonic,
        on_change: Listener | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ConfigError(
                f"failure_threshold must be at least 1 (got {failure_threshold}); "
                "it is how many consecutive failures open the breaker"
            )
        if cooldown < 0:
            raise ConfigError(
                f"cooldown must be >= 0 seconds (got {cooldown}); it is how long the breaker "
                "stays open before letting a trial through"
            )
        if success_threshold < 1:
            raise ConfigError(
                f"success_threshold must be at least 1 (got {success_threshold}); it is how "
                "many half-open successes close the breaker"
            )
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.success_threshold = success_threshold
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0
        self._last_error = ""

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker turns half-open once its cool-down has passed."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def last_error(self) -> str:
        """The failure that last counted, as text ('' when none)."""
        return self._last_error

    def check(self) -> None:
        """Raise :class:`CircuitOpen` while the breaker is open; return when a call may go on."""
        if self.state is not BreakerState.OPEN:
            return
        remaining = max(0.0, self.cooldown - (self._clock() - self._opened_at))
        raise CircuitOpen(
            f"database connections failed {self.failure_threshold} times in a row "
            f"(last: {self._last_error or 'unknown'}); rawdb is not trying again for "
            f"{remaining:.1f} s. Fix the cause (file missing, disk, permissions); "
            "calls resume on their own after the cool-down."
        )

    def record_success(self) -> None:
        """A connection worked: resets the failure count; in half-open, counts towards closing."""
        state = self.state
        self._failures = 0
        if state is BreakerState.HALF_OPEN:
            self._successes += 1
            if self._successes >= self.success_threshold:
                self._move(BreakerState.CLOSED)

    def record_failure(self, error: BaseException | str = "") -> None:
        """A connection failed: one more towards opening; in half-open, opens again at once."""
        state = self.state
        self._last_error = str(error)
        self._failures += 1
        if state is BreakerState.HALF_OPEN or (
            state is BreakerState.CLOSED and self._failures >= self.failure_threshold
        ):
            self._opened_at = self._clock()
            self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        self._successes = 0
        if new is BreakerState.CLOSED:
            self._failures = 0
        if self._on_change is not None and old is not new:
            self._on_change(old, new)


__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpen"]
