"""The connection pool: one writer, N query_only readers, transactions, figures.

async with Pool.open(settings) as pool:
    async with pool.write() as conn:          # BEGIN IMMEDIATE … COMMIT
        await conn.execute(INSERT_SQL, row, name="insert_tick")
        async with conn.atomic():             # SAVEPOINT: undo only this part on error
            ...
    async with pool.read(timeout=0.05) as conn:  # QueryTimeout past 50 ms; None: no deadline
        rows = await conn.fetchall(SELECT_SQL, params, name="latest_tick")
"""

from rawdb.backend import Connection, ExecResult, Params
from rawdb.breaker import BreakerState
from rawdb.errors import CircuitOpen, PoolClosed, PoolTimeout, QueryTimeout
from rawdb.pool.base import Opening, Pool
from rawdb.pool.config import PoolConfig
from rawdb.pool.stats import PoolStats, WaitSummary

__all__ = [
    "BreakerState",
    "CircuitOpen",
    "Connection",
    "ExecResult",
    "Opening",
    "Params",
    "Pool",
    "PoolClosed",
    "PoolConfig",
    "PoolStats",
    "PoolTimeout",
    "QueryTimeout",
    "WaitSummary",
]
