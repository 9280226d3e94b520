"""The circuit breaker's state machine, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from rawdb.breaker import BreakerState, CircuitBreaker
from rawdb.errors import CircuitOpen, ConfigError, DatabaseRefused


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


@pytest.fixture
def changes() -> list[tuple[str, str]]:
    """Where the breaker reports its transitions."""
    return []


@pytest.fixture
def breaker(clock: FakeClock, changes: list[tuple[str, str]]) -> CircuitBreaker:
    """A breaker with the default thresholds (5 failures, 30 s, 3 successes)."""
    return CircuitBreaker(clock=clock, on_change=lambda old, new: changes.append((old, new)))


def trip(breaker: CircuitBreaker, times: int = 5) -> None:
    for n in range(times):
        breaker.record_failure(f"cannot open ({n})")


def test_starts_closed_and_lets_calls_through(breaker: CircuitBreaker) -> None:
    """A new breaker is closed and check() passes."""
    assert breaker.state is BreakerState.CLOSED
    breaker.check()


def test_four_failures_keep_it_closed_the_fifth_opens(breaker: CircuitBreaker) -> None:
    """The default threshold is five consecutive failures."""
    trip(breaker, 4)
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure("disk I/O error")
    assert breaker.state is BreakerState.OPEN


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    trip(breaker, 4)
    breaker.record_success()
    trip(breaker, 4)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 4


def test_open_breaker_fails_fast_with_the_cause_and_the_wait(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """check() on an open breaker raises CircuitOpen naming the last error and time left."""
    trip(breaker)
    clock.now += 10
    with pytest.raises(CircuitOpen) as caught:
        breaker.check()
    message = str(caught.value)
    assert isinstance(caught.value, DatabaseRefused)
    assert "5 times in a row" in message
    assert "cannot open (4)" in message
    assert "20.0 s" in message


def test_half_open_after_the_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """The breaker stays open for 30 s and turns half-open at 30 s, letting calls through."""
    trip(breaker)
    clock.now += 29.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.check()


def test_three_half_open_successes_close_it(
    breaker: CircuitBreaker, clock: FakeClock, changes: list[tuple[str, str]]
) -> None:
    """Two successes are not enough, the third closes; each transition is reported once."""
    trip(breaker)
    clock.now += 30
    breaker.record_success()
    breaker.record_success()
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_half_open_failure_reopens_for_a_new_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """One failure in half-open opens the breaker again and restarts the cool-down."""
    trip(breaker)
    clock.now += 30
    breaker.record_success()
    breaker.record_success()
    breaker.record_failure("still broken")
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    breaker.record_success()
    assert breaker.state is BreakerState.HALF_OPEN  # the earlier successes do not carry over


def test_thresholds_are_configurable(clock: FakeClock) -> None:
    """Custom failure count, cool-down and success count are honoured."""
    breaker = CircuitBreaker(failure_threshold=2, cooldown=1.5, success_threshold=1, clock=clock)
    trip(breaker, 2)
    assert breaker.state is BreakerState.OPEN
    clock.now += 1.5
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be at least 1"),
        ({"cooldown": -1.0}, "cooldown must be >= 0"),
        ({"success_threshold": 0}, "success_threshold must be at least 1"),
    ],
)
def test_bad_settings_say_what_to_pass(options: dict[str, float], fragment: str) -> None:
    """Invalid thresholds are refused with a message naming the argument."""
    with pytest.raises(ConfigError, match=fragment):
        CircuitBreaker(**options)  # type: ignore[arg-type]
