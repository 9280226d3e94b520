"""The pool's observer hook: every statement reported with name, time, rows and error."""

from __future__ import annotations

import pytest

from rawdb.errors import UniqueViolation
from rawdb.pool import Pool

Call = tuple[str, float, int | None, BaseException | None, object]


class Recorder:
    """An observer that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(self, name, seconds, rows, error, params) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((name, seconds, rows, error, params))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


async def test_observer_is_off_by_default(pool: Pool) -> None:
    """A new pool has no observer, so statements cost nothing extra."""
    assert pool.observer is None


async def test_observer_sees_reads_writes_and_transaction_control(pool: Pool) -> None:
    """Reads report rows returned, writes rows changed, and BEGIN IMMEDIATE/COMMIT are timed."""
    seen = Recorder()
    pool.observer = seen
    async with pool.write() as conn:
        await conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)", name="make_t")
        await conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)], name="fill_t")
    async with pool.read() as conn:
        await conn.fetchall("SELECT x FROM t WHERE x > ?", (1,), name="read_t")
    assert seen.names() == ["BEGIN IMMEDIATE", "make_t", "fill_t", "COMMIT", "read_t"]
    by_name = {c[0]: c for c in seen.calls}
    assert by_name["fill_t"][2] == 3
    assert by_name["read_t"][2] == 2
    assert by_name["read_t"][4] == (1,)
    assert all(c[1] >= 0 and c[3] is None for c in seen.calls)


async def test_observer_sees_the_failure_and_the_error_still_raises(pool: Pool) -> None:
    """A failing statement is reported with its error before the translated error propagates."""
    seen = Recorder()
    pool.observer = seen
    with pytest.raises(UniqueViolation):
        async with pool.write() as conn:
            await conn.execute("CREATE TABLE u (x INTEGER PRIMARY KEY)", name="make_u")
            await conn.execute("INSERT INTO u VALUES (1)", name="put_u")
            await conn.execute("INSERT INTO u VALUES (1)", name="put_u")
    failed = [c for c in seen.calls if c[3] is not None]
    assert [c[0] for c in failed] == ["put_u"]
    assert failed[0][2] is None


async def test_observer_can_be_removed(pool: Pool) -> None:
    """Setting the observer back to None stops the reports."""
    seen = Recorder()
    pool.observer = seen
    pool.observer = None
    async with pool.read() as conn:
        await conn.fetchall("SELECT 1", name="one")
    assert seen.calls == []
