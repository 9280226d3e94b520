"""Statement metrics: bounded histograms, exact-reference percentiles, windows, slow log."""

from __future__ import annotations

import math
import random

import pytest
import structlog

from rawdb.monitor.histogram import RELATIVE_ERROR, Histogram, Window, bucket_of
from rawdb.monitor.metrics import Metrics, param_shape


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def nearest_rank(values: list[float], q: float) -> float:
    """The exact nearest-rank percentile: the value at 1-based rank ceil(q * n)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


DISTRIBUTIONS = {
    "uniform": lambda r: r.uniform(0.0001, 0.2),
    "lognormal": lambda r: r.lognormvariate(-6, 1.5),
    "bimodal": lambda r: r.choice((0.0005, 0.002)) * r.uniform(0.9, 1.1) + r.choice((0, 0, 0.3)),
}


@pytest.mark.parametrize("shape", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("n", [1, 7, 100, 5000])
def test_percentiles_match_the_exact_reference(shape: str, n: int) -> None:
    """p50/p95/p99 are within the stated 1% of the exact nearest-rank percentiles."""
    rng = random.Random(f"{shape}-{n}")
    values = [DISTRIBUTIONS[shape](rng) for _ in range(n)]
    histogram = Histogram()
    for v in values:
        histogram.add(v)
    for q in (0.5, 0.95, 0.99, 1.0):
        exact = nearest_rank(values, q)
        assert abs(histogram.quantile(q) - exact) <= RELATIVE_ERROR * exact, (q, exact)
    assert histogram.count == n
    assert histogram.total == pytest.approx(sum(values))


def test_histogram_memory_is_bounded() -> None:
    """Values spread over the whole range (1 µs .. 1 h and beyond) fill at most ~1,200 buckets."""
    histogram = Histogram()
    for k in range(30_000):
        histogram.add(1e-6 * 1.001**k)  # 1 µs .. ~10 ms, 0.1% apart
        histogram.add(0.01 * 1.0003**k)  # 10 ms .. ~80 s
    histogram.add(0.0)
    histogram.add(10_000.0)
    assert len(histogram.buckets) <= bucket_of(3600.0) - bucket_of(1e-6) + 1 < 1300


def test_quantile_of_empty_histogram_is_zero_and_bad_q_refused() -> None:
    """An empty histogram answers 0; a quantile outside (0, 1] is refused."""
    assert Histogram().quantile(0.95) == 0.0
    with pytest.raises(ValueError, match="quantile"):
        Histogram().quantile(0)


def test_window_drops_old_slices() -> None:
    """Values older than the window's span stop counting."""
    clock = FakeClock()
    window = Window(60, 6, clock)
    window.current().histogram.add(0.5)
    clock.advance(30)
    window.current().histogram.add(0.001)
    assert window.merged().histogram.count == 2
    clock.advance(35)
    merged = window.merged().histogram
    assert merged.count == 1
    assert merged.maximum == 0.001


def test_metrics_with_injected_latencies() -> None:
    """Injected durations give the statement's count, errors, rows and percentiles."""
    clock = FakeClock()
    metrics = Metrics(clock=clock, insert_names=frozenset())
    latencies = [0.001 * (i + 1) for i in range(100)]  # 1 ms .. 100 ms
    for i, seconds in enumerate(latencies):
        failed = i % 25 == 0
        metrics.observe(
            "latest_tick", seconds, None if failed else 1, RuntimeError() if failed else None
        )
    figures = metrics.statement("latest_tick")
    assert figures is not None
    assert (figures.count, figures.errors, figures.rows) == (100, 4, 96)
    for q, got in ((0.5, figures.p50_ms), (0.95, figures.p95_ms), (0.99, figures.p99_ms)):
        exact_ms = nearest_rank(latencies, q) * 1000
        assert abs(got - exact_ms) <= RELATIVE_ERROR * exact_ms + 0.001
    assert figures.window_error_rate == pytest.approx(0.04)
    clock.advance(120)
    later = metrics.statement("latest_tick")
    assert later is not None
    assert (later.count, later.window_count, later.p95_ms) == (100, 0, 0.0)


def test_slow_statement_logged_once_with_shape_not_values() -> None:
    """A slow statement is logged once per name, with parameter types and never the values."""
    metrics = Metrics(clock=FakeClock(), slow_after=0.05, insert_names=frozenset())
    with structlog.testing.capture_logs() as logs:
        metrics.observe("get_instrument_by_symbol", 0.2, 1, None, ("SECRET-SYMBOL",))
        metrics.observe("get_instrument_by_symbol", 0.3, 1, None, ("SECRET-SYMBOL",))
        metrics.observe("fast_one", 0.001, 1, None, (1,))
    slow = [e for e in logs if e["event"] == "monitor.slow_statement"]
    assert len(slow) == 1
    assert slow[0]["statement"] == "get_instrument_by_symbol"
    assert slow[0]["duration_ms"] == 200.0
    assert slow[0]["params"] == ["str"]
    assert "SECRET" not in repr(slow)


def test_param_shape_describes_named_batches_and_iterators() -> None:
    """Shapes: key to type for named parameters, row count and row shape for batches."""
    assert param_shape({"start": "2026", "limit": 5}) == {"start": "str", "limit": "int"}
    assert param_shape([(1, 2.5), (2, 3.5)]) == {"rows": 2, "row": ["int", "float"]}
    assert param_shape(iter([(1,)])) == {"rows": "iterator"}
    assert param_shape(()) == []


def test_insert_rate_over_sliding_windows() -> None:
    """Rows of insert statements count toward the rates over the last 1, 10 and 60 s, the
    current second included: a burst that just ended shows at once (it read 0.0 in every
    window until its second was over)."""
    clock = FakeClock(5000.0)
    metrics = Metrics(clock=clock, insert_names=frozenset({"insert_tick"}))
    for _ in range(10):
        clock.advance(1)
        metrics.observe("insert_tick", 0.01, 1000, None)
        metrics.observe("latest_tick", 0.001, 1, None)  # reads do not count
    rates = metrics.insert_rates()
    assert rates[10] == pytest.approx(1000.0)
    assert rates[60] == pytest.approx(10_000 / 60)
    assert rates[1] == pytest.approx(1000.0)
    metrics.observe("INSERT INTO other …", 0.01, 500, None)  # ad-hoc inserts count too
    assert metrics.insert_rates()[1] == pytest.approx(1500.0)  # seen in this very second
    clock.advance(1)
    assert metrics.insert_rates()[1] == 0.0  # nothing yet in the new second
    assert metrics.insert_rates()[10] == pytest.approx(9_500 / 10)  # seconds 2..11 of 11


def test_failed_insert_rows_do_not_count() -> None:
    """A failed insert adds an error and no inserted rows."""
    metrics = Metrics(clock=FakeClock(), insert_names=frozenset({"insert_tick"}))
    metrics.observe("insert_tick", 0.01, None, RuntimeError("refused"))
    assert metrics.insert_rates()[60] == 0.0
    figures = metrics.statement("insert_tick")
    assert figures is not None and figures.errors == 1


def test_commit_lock_wait_and_writer_figures() -> None:
    """COMMIT and BEGIN IMMEDIATE feed commit latency and lock wait; the writer API records."""
    metrics = Metrics(clock=FakeClock(), insert_names=frozenset())
    metrics.observe("COMMIT", 0.004, None, None)
    metrics.observe("BEGIN IMMEDIATE", 0.250, None, None)
    metrics.record_batch(500, 0.02)
    metrics.record_batch(700, 0.03)
    metrics.set_queue_depth(1200)
    metrics.set_queue_depth(10)
    assert metrics.commit_latency().count == 1
    assert metrics.lock_wait().quantile(0.95) == pytest.approx(0.25, rel=RELATIVE_ERROR)
    batches, rows = metrics.batches()
    assert (batches.count, rows) == (2, 1200)
    assert (metrics.queue_depth, metrics.max_queue_depth) == (10, 1200)
    assert metrics.statements() == []  # transaction control is not a statement


def test_names_are_bounded() -> None:
    """Past ``max_names`` distinct names, statements are folded into '(other)'."""
    metrics = Metrics(clock=FakeClock(), max_names=3, insert_names=frozenset())
    for i in range(10):
        metrics.observe(f"SELECT {i} …", 0.001, 1, None)
    names = [s.name for s in metrics.statements()]
    assert len(names) == 4
    assert "(other)" in names


def test_monitor_statements_are_left_out() -> None:
    """The monitor's own statements (monitor_*) do not show in the figures."""
    metrics = Metrics(clock=FakeClock(), insert_names=frozenset())
    metrics.observe("monitor_dbstat", 2.0, 10, None)
    assert metrics.statements() == []


def test_default_insert_names_come_from_the_registry() -> None:
    """Without explicit names, the registry's INSERT statements feed the insert rate."""
    clock = FakeClock()
    metrics = Metrics(clock=clock)
    metrics.observe("insert_tick", 0.01, 100, None)
    metrics.observe("latest_tick", 0.01, 100, None)
    clock.advance(1)
    assert metrics.insert_rates()[60] == pytest.approx(100 / 60)
