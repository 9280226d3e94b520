"""Bounded latency histograms: fixed relative error, fixed memory, sliding windows.

A value ``v`` (seconds) goes to bucket ``ceil(log(v) / log(GAMMA))``; the bucket's
representative ``2 * GAMMA**i / (GAMMA + 1)`` is within ``RELATIVE_ERROR`` (1%) of every value
in it. Values are clamped to ``[MIN_VALUE, MAX_VALUE]`` (1 µs .. 1 h), so a histogram never holds
more than about 1,200 buckets however many values it saw: memory is bounded, unlike a list.

Percentiles use the nearest-rank definition: the value at 1-based rank ``ceil(q * n)`` of the
sorted values. The estimate is that value's bucket representative, clamped to the exact min and
max, so it is within 1% of the exact nearest-rank percentile.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable

RELATIVE_ERROR = 0.01
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(GAMMA)
MIN_VALUE = 1e-6
MAX_VALUE = 3600.0


def bucket_of(value: float) -> int:
    """The bucket index of a value in seconds (clamped to the histogram's range)."""
    clamped = min(MAX_VALUE, max(MIN_VALUE, value))
    return math.ceil(math.log(clamped) / _LOG_GAMMA)


def representative(index: int) -> float:
    """The value a bucket stands for: within ``RELATIVE_ERROR`` of anything in it."""
    return 2 * GAMMA**index / (GAMMA + 1)


class Histogram:
    """Counts per log bucket plus exact count, sum, min and max."""

    __slots__ = ("buckets", "count", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0

    def add(self, value: float) -> None:
        index = bucket_of(value)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def merge(self, other: Histogram) -> None:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    def quantile(self, q: float) -> float:
        """The nearest-rank ``q`` quantile (0 < q <= 1) within 1%; 0.0 when empty."""
        if not 0 < q <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {q}")
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(self.maximum, max(self.minimum, representative(index)))
        return self.maximum  # unreachable: the counts add up to count

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        return [self.quantile(q) for q in qs]


class Slot:
    """One time slice of a window: latencies, errors (database faults), refusals (a
    constraint the caller broke, e.g. a duplicate key) and rows seen in it."""

    __slots__ = ("epoch", "errors", "histogram", "refused", "rows")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.histogram = Histogram()
        self.errors = 0
        self.refused = 0
        self.rows = 0


class Window:
    """The last ``span`` seconds as ``slots`` rotating slices (older slices are dropped)."""

    __slots__ = ("_clock", "_ring", "_width", "span")

    def __init__(self, span: float, slots: int, clock: Callable[[], float]) -> None:
        if span <= 0 or slots < 1:
            raise ValueError("a window needs span > 0 and at least one slot")
        self.span = span
        self._width = span / slots
        self._clock = clock
        self._ring: list[Slot | None] = [None] * slots

    def current(self) -> Slot:
        """The slice for now, recycled from the oldest when time moved on."""
        epoch = math.floor(self._clock() / self._width)
        position = epoch % len(self._ring)
        slot = self._ring[position]
        if slot is None or slot.epoch != epoch:
            slot = self._ring[position] = Slot(epoch)
        return slot

    def live(self) -> list[Slot]:
        """The slices still inside the window."""
        newest = math.floor(self._clock() / self._width)
        oldest = newest - len(self._ring) + 1
        return [s for s in self._ring if s is not None and oldest <= s.epoch <= newest]

    def merged(self) -> Slot:
        """Every live slice added up (its ``epoch`` is meaningless)."""
        total = Slot(0)
        for slot in self.live():
            total.histogram.merge(slot.histogram)
            total.errors += slot.errors
            total.refused += slot.refused
            total.rows += slot.rows
        return total


BOUNDS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (seconds) of the cumulative buckets exposed to Prometheus: the same for every
process and statement, so histograms add up across workers (``histogram_quantile`` over
``sum by (le)``); 100 µs to a minute, beyond which is ``+Inf``."""


class Buckets:
    """Counts since the process started, per fixed upper bound (Prometheus' histogram)."""

    __slots__ = ("count", "counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS) + 1)  # the last one is above every bound
        self.count = 0
        self.total = 0.0

    def add(self, value: float) -> None:
        self.counts[bisect.bisect_left(BOUNDS, value)] += 1
        self.count += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count of values <= le) for every bound and then ``+Inf``."""
        running, out = 0, []
        for bound, n in zip((*map(repr, BOUNDS), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out
