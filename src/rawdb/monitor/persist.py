"""Optional persistence of statement samples to ``query_performance``, bounded by retention.

A :class:`Sampler` hooks into :class:`~rawdb.monitor.metrics.Metrics` and keeps, in a bounded
queue, every failed or slow statement and one in ``every`` of the others. :meth:`Sampler.flush`
writes the queue in one transaction and deletes samples older than ``retention_days``; call it
from a periodic task. Nothing is written unless the application asks for it.

(``performance_metrics`` holds trading performance per strategy and period, not database
samples, so the sampler writes only ``query_performance``.)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rawdb import log
from rawdb.errors import SchemaOutOfDate, UsageError
from rawdb.monitor.metrics import Metrics
from rawdb.monitor.sql import BY_DIALECT
from rawdb.pool import Pool
from rawdb.queries.run import changed_rows
from rawdb.statements import Registry

Sample = tuple[str, int, int, int | None, bool, str | None]
HAS_TABLE = "monitor_has_query_performance"
FIELDS = ("query_name", "started_at", "duration_us", "row_count", "succeeded", "error")


class Sampler:
    """Samples statements into a bounded queue; :meth:`flush` stores them.

    ``every``: keep one in this many ordinary statements (failed and slow ones always);
    ``keep``: the most samples held between flushes (the oldest go first).
    """

    def __init__(
        self,
        metrics: Metrics,
        *,
        every: int = 100,
        keep: int = 10_000,
        retention_days: float = 7.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if every < 1 or keep < 1 or retention_days <= 0:
            raise UsageError(
                f"Sampler needs every >= 1, keep >= 1 and retention_days > 0 "
                f"(got {every}, {keep}, {retention_days})"
            )
        self.every = every
        self.retention_days = retention_days
        self.pending: deque[Sample] = deque(maxlen=keep)
        self._seen = 0
        self._slow_after = metrics.slow_after
        self._wall = wall
        metrics.on_sample = self.sample

    def sample(self, name: str, seconds: float, rows: int | None, error: str | None) -> None:
        """Called by the metrics for every statement; keeps the ones worth storing."""
        self._seen += 1
        if error is None and seconds < self._slow_after and self._seen % self.every:
            return
        finished_us = int(self._wall() * 1_000_000)
        duration_us = max(0, int(seconds * 1_000_000))
        row_count = rows if rows is not None and rows >= 0 else None
        self.pending.append(
            (
                name[:128],
                finished_us - duration_us,
                duration_us,
                row_count,
                error is None,
                error,
            )
        )

    async def flush(self, pool: Pool) -> int:
        """Write the queued samples and prune old ones in one transaction; returns rows written."""
        batch = list(self.pending)
        self.pending.clear()
        cutoff = int((self._wall() - self.retention_days * 86_400) * 1_000_000)
        sql = _statements(pool)
        async with pool.write() as conn:
            if (
                await conn.fetchone(sql["monitor_has_query_performance"].sql, name=HAS_TABLE)
                is None
            ):
                raise SchemaOutOfDate(
                    "query_performance does not exist in this database (migration 0006); run "
                    "`python -m rawdb.migrate up` before persisting samples"
                )
            if batch:
                rows = [dict(zip(FIELDS, sample, strict=True)) for sample in batch]
                insert = sql["monitor_insert_query_performance"].sql
                await conn.executemany(insert, rows, name="monitor_insert_samples")
            prune = sql["monitor_prune_query_performance"].sql
            pruned = await conn.execute(prune, {"cutoff": cutoff}, name="monitor_prune_samples")
        log.get_logger("monitor").info(
            log.MONITOR_SAMPLES_WRITTEN, written=len(batch), pruned=changed_rows(pruned)
        )
        return len(batch)


async def recent_summary(
    pool: Pool, *, seconds: float = 3600, limit: int = 200_000
) -> list[dict[str, Any]]:
    """Per statement over the stored samples of the last ``seconds``: count, errors, p95 (ms).

    Empty when the table is missing. Percentiles are exact over at most ``limit`` samples.
    """
    since = int((time.time() - seconds) * 1_000_000)
    sql = _statements(pool)
    async with pool.read(timeout=None) as conn:  # up to `limit` samples: no read deadline
        if await conn.fetchone(sql["monitor_has_query_performance"].sql, name=HAS_TABLE) is None:
            return []
        recent = sql["monitor_recent_query_performance"].sql
        rows = await conn.fetchall(
            recent, {"since": since, "limit": limit}, name="monitor_recent_samples"
        )
    by_name: dict[str, list[tuple[int, bool]]] = {}
    for row in rows:
        by_name.setdefault(str(row["query_name"]), []).append(
            (int(row["duration_us"]), bool(row["succeeded"]))
        )
    summary = []
    for name, samples in by_name.items():
        durations = sorted(d for d, _ in samples)
        rank = max(1, -(-95 * len(durations) // 100)) - 1  # nearest rank: ceil(0.95 n)
        summary.append(
            {
                "name": name,
                "samples": len(samples),
                "errors": sum(1 for _, ok in samples if not ok),
                "p95_ms": durations[rank] / 1000,
            }
        )
    return summary


def _statements(pool: Pool) -> Registry:
    return BY_DIALECT[pool.dialect]
