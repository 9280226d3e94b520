"""A simulated market feed: seeded random walks with spreads, volumes and bursts."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from rawdb.queries.rows import TickRow


@dataclass(frozen=True)
class Contract:
    """A futures contract the demo trades: symbol, name, starting price, tick size."""

    symbol: str
    name: str
    price: float
    tick: float


CONTRACTS = (
    Contract("ES", "E-mini S&P 500", 5200.0, 0.25),
    Contract("NQ", "E-mini Nasdaq-100", 18200.0, 0.25),
    Contract("YM", "E-mini Dow", 39000.0, 1.0),
    Contract("RTY", "E-mini Russell 2000", 2050.0, 0.1),
    Contract("CL", "Crude Oil", 78.5, 0.01),
    Contract("GC", "Gold", 2350.0, 0.1),
)


def simulate(
    ids: dict[str, int],
    start: datetime,
    span: timedelta,
    count: int,
    seed: int = 7,
) -> Iterator[TickRow]:
    """``count`` ticks spread over ``span`` from ``start``, in time order.

    Each instrument walks in whole ticks with volatility that clusters (a burst raises it for
    a while), spreads of one to three ticks that widen in bursts, and volumes that spike with
    them. The same seed gives the same feed.
    """
    rng = random.Random(seed)
    prices = {c.symbol: c.price for c in CONTRACTS if c.symbol in ids}
    contracts = [c for c in CONTRACTS if c.symbol in ids]
    step = span / count
    burst = 0
    for n in range(count):
        if burst == 0 and rng.random() < 0.0005:
            burst = rng.randint(200, 2000)
        heat = 4.0 if burst else 1.0
        burst = max(0, burst - 1)
        contract = contracts[rng.randrange(len(contracts))]
        moves = round(rng.gauss(0, 1.2 * heat))
        price = max(contract.tick, prices[contract.symbol] + moves * contract.tick)
        prices[contract.symbol] = price
        half = contract.tick * rng.randint(1, 3 if burst else 1)
        jitter = timedelta(microseconds=rng.randrange(max(1, int(step.total_seconds() * 1e6))))
        yield TickRow(
            ids[contract.symbol],
            start + step * n + jitter,
            round(price, 4),
            max(1, int(rng.expovariate(1 / (5 * heat)))),
            round(price - half, 4),
            round(price + half, 4),
            rng.randint(1, int(20 * heat)),
            rng.randint(1, int(20 * heat)),
        )


def spike(tick: TickRow, factor: float = 10.0) -> TickRow:
    """A bad print: the same tick with a price ``factor`` times too high (for soft delete)."""
    bad = round(tick.price * factor, 4) if tick.price is not None else math.nan
    return tick._replace(price=bad, bid=round(bad - 1, 4), ask=round(bad + 1, 4))
