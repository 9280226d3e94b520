"""The pool on real database files: serialised writes, locks, nesting, recycling, shutdown."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rawdb.backend.sqlite.pooled import Retry, with_busy_retry
from rawdb.config import Settings
from rawdb.errors import (
    CannotOpen,
    ConfigError,
    DatabaseBusy,
    DatabaseCorrupt,
    ForeignKeyViolation,
    SchemaOutOfDate,
    UniqueViolation,
    UsageError,
)
from rawdb.migrate import Migrator
from rawdb.pool import CircuitOpen, Pool, PoolClosed, PoolConfig, PoolTimeout

SCHEMA = (
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, "
    "account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE RESTRICT, amount INTEGER)",
    "CREATE TABLE outside (id INTEGER PRIMARY KEY, note TEXT)",
)


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_migrations(tmp_path: Path) -> Path:
    """A migrations folder with no files: every database counts as current."""
    root = tmp_path / "nomig"
    (root / "migrations").mkdir(parents=True)
    return root


@pytest.fixture
def settings(db_path: Path) -> Settings:
    """Settings for a fresh file with three readers and a 2 s busy timeout."""
    return Settings(database=db_path, readers=3, busy_timeout_ms=2000, cache_size_kib=2048)


@pytest.fixture
def open_pool(settings: Settings, no_migrations: Path) -> Callable[..., Any]:
    """Open a pool with the test schema; keyword arguments go to PoolConfig or Settings."""

    async def opener(*, clock: Callable[[], float] = time.monotonic, **options: Any) -> Pool:
        setting_names = set(Settings.model_fields)
        changes = {k: v for k, v in options.items() if k in setting_names}
        config = PoolConfig(**{k: v for k, v in options.items() if k not in setting_names})
        pool = await Pool.open(
            settings.model_copy(update=changes),
            config=config,
            migrations_dir=no_migrations,
            clock=clock,
        )
        async with pool.write() as conn:
            for ddl in SCHEMA:
                await conn.execute(ddl.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        return pool

    return opener


@pytest.fixture
async def pool(open_pool: Callable[..., Any]) -> AsyncIterator[Pool]:
    """A pool with default configuration over the test schema, closed afterwards."""
    opened: Pool = await open_pool()
    yield opened
    await opened.close()


def plain(path: Path, timeout: float = 0.0) -> sqlite3.Connection:
    """A second, independent stdlib connection to the same file, in autocommit mode."""
    return sqlite3.connect(path, isolation_level=None, timeout=timeout)


# --- writes ------------------------------------------------------------------------------------


async def test_writes_are_serialised(pool: Pool) -> None:
    """Twenty tasks doing read-modify-write in pool.write() never overlap and lose no update."""
    async with pool.write() as conn:
        await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 0)")
    active, peak = 0, 0

    async def bump() -> None:
        nonlocal active, peak
        async with pool.write() as conn:
            active += 1
            peak = max(peak, active)
            row = await conn.fetchone("SELECT balance FROM accounts WHERE id = 1")
            assert row is not None
            await asyncio.sleep(0.001)
            await conn.execute("UPDATE accounts SET balance = ? WHERE id = 1", (row[0] + 1,))
            active -= 1

    await asyncio.gather(*(bump() for _ in range(20)))
    async with pool.read() as conn:
        row = await conn.fetchone("SELECT balance FROM accounts WHERE id = 1")
    assert peak == 1
    assert row is not None and row["balance"] == 20


async def test_write_commits_and_rolls_back(pool: Pool) -> None:
    """A block that ends commits; a block that raises leaves nothing behind."""
    async with pool.write() as conn:
        result = await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 5)")
    assert result.rowcount == 1 and result.lastrowid == 1
    with pytest.raises(RuntimeError):
        async with pool.write() as conn:
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (2, 5)")
            raise RuntimeError("boom")
    async with pool.read() as conn:
        rows = await conn.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r["id"] for r in rows] == [1]


async def test_cancelled_write_rolls_back_and_frees_the_writer(pool: Pool) -> None:
    """A task cancelled inside pool.write() leaves no partial change and the writer free."""
    inside = asyncio.Event()

    async def interrupted() -> None:
        async with pool.write() as conn:
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 0)")
            inside.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(interrupted())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pool.write() as conn:
        row = await conn.fetchone("SELECT count(*) FROM accounts")
    assert row is not None and row[0] == 0
    assert pool.stats().in_use == 0


async def test_failed_commit_rolls_back(pool: Pool) -> None:
    """A deferred foreign key that fails at COMMIT surfaces as ForeignKeyViolation, nothing kept."""
    async with pool.write() as conn:
        await conn.execute(
            "CREATE TABLE fills (id INTEGER PRIMARY KEY, account_id INTEGER "
            "REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED)"
        )
    with pytest.raises(ForeignKeyViolation, match="COMMIT"):
        async with pool.write() as conn:
            await conn.execute("INSERT INTO fills (account_id) VALUES (99)", name="fill_add")
    async with pool.write() as conn:  # the writer is clean: no transaction left open
        row = await conn.fetchone("SELECT count(*) FROM fills")
    assert row is not None and row[0] == 0


async def test_write_waits_for_a_lock_held_by_another_connection(pool: Pool) -> None:
    """BEGIN IMMEDIATE waits (busy_timeout) while another connection holds the write lock."""
    other = plain(pool.settings.database)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO outside (note) VALUES ('held')")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    started = time.perf_counter()
    async with pool.write() as conn:
        before = await conn.fetchone("SELECT count(*) FROM outside")  # read, then write
        await conn.execute("INSERT INTO outside (note) VALUES ('pool')")
    waited = time.perf_counter() - started
    assert before is not None and before[0] == 1  # the lock was ours before the first read
    other.close()
    async with pool.read() as conn:
        rows = await conn.fetchall("SELECT note FROM outside ORDER BY id")
    assert [r[0] for r in rows] == ["held", "pool"]
    assert 0.25 <= waited < 2.0


async def test_lock_held_past_busy_timeout_is_database_busy(open_pool: Callable[..., Any]) -> None:
    """A lock held longer than busy_timeout fails as DatabaseBusy after waiting, not at once."""
    pool: Pool = await open_pool(busy_timeout_ms=300)
    other = plain(pool.settings.database)
    other.execute("BEGIN IMMEDIATE")
    started = time.perf_counter()
    with pytest.raises(DatabaseBusy) as caught:
        async with pool.write() as conn:
            await conn.execute("INSERT INTO outside (note) VALUES ('never')")
    waited = time.perf_counter() - started
    other.execute("ROLLBACK")
    other.close()
    assert waited >= 0.25
    assert "BEGIN IMMEDIATE" in str(caught.value)
    async with pool.write() as conn:  # the writer is usable again
        await conn.execute("INSERT INTO outside (note) VALUES ('after')")
    await pool.close()


async def test_reads_go_on_while_another_connection_writes(pool: Pool) -> None:
    """In WAL mode an open write transaction elsewhere neither blocks nor shows to readers."""
    other = plain(pool.settings.database)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO outside (note) VALUES ('uncommitted')")
    started = time.perf_counter()
    async with pool.read() as conn:
        row = await conn.fetchone("SELECT count(*) FROM outside")
    other.execute("ROLLBACK")
    other.close()
    assert row is not None and row[0] == 0
    assert time.perf_counter() - started < 0.2


async def test_hundred_concurrent_tasks_add_up(open_pool: Callable[..., Any]) -> None:
    """100 tasks mixing transfers and snapshot reads, with an outside writer, all succeed."""
    pool: Pool = await open_pool(readers=4)
    async with pool.write() as conn:
        await conn.executemany(
            "INSERT INTO accounts (id, balance) VALUES (?, 1000)", [(i,) for i in range(10)]
        )
    stop = threading.Event()
    outside_commits = 0

    def outside_writer() -> None:
        nonlocal outside_commits
        other = plain(pool.settings.database, timeout=5.0)
        while not stop.is_set():
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO outside (note) VALUES ('tick')")
            time.sleep(0.002)
            other.execute("COMMIT")
            outside_commits += 1
            time.sleep(0.01)  # another process with gaps between its transactions
        other.close()

    thread = threading.Thread(target=outside_writer)
    thread.start()
    rng = random.Random(7)

    async def transfer() -> None:
        source, target = rng.sample(range(10), 2)
        amount = rng.randint(1, 50)
        async with pool.write() as conn:
            await conn.execute(
                "UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, source)
            )
            await asyncio.sleep(0)
            await conn.execute(
                "UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, target)
            )
            await conn.execute(
                "INSERT INTO ledger (account_id, amount) VALUES (?, ?)", (source, amount)
            )

    async def audit() -> int:
        async with pool.read(snapshot=True) as conn:
            total = await conn.fetchone("SELECT sum(balance) FROM accounts")
            await asyncio.sleep(0)
            again = await conn.fetchone("SELECT sum(balance) FROM accounts")
        assert total is not None and again is not None
        assert total[0] == again[0]
        return int(total[0])

    jobs = [transfer() if i % 2 else audit() for i in range(100)]
    try:
        results = await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        stop.set()
        thread.join()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert all(r == 10_000 for r in results if isinstance(r, int))
    async with pool.read() as conn:
        total = await conn.fetchone(
            "SELECT sum(balance), (SELECT count(*) FROM ledger) FROM accounts"
        )
    assert total is not None and tuple(total) == (10_000, 50)
    assert outside_commits > 0
    stats = pool.stats()
    assert stats.in_use == 0 and stats.waiting == 0 and stats.timeouts == 0
    await pool.close()


# --- nesting -----------------------------------------------------------------------------------


async def test_atomic_rolls_back_only_the_inner_part(pool: Pool) -> None:
    """An exception inside conn.atomic() undoes that block only; the outer write commits."""
    async with pool.write() as conn:
        await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 0)")
        with pytest.raises(ValueError, match="inner"):
            async with conn.atomic():
                await conn.execute("INSERT INTO accounts (id, balance) VALUES (2, 0)")
                async with conn.atomic():
                    await conn.execute("INSERT INTO accounts (id, balance) VALUES (3, 0)")
                raise ValueError("inner")
        async with conn.atomic():
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (4, 0)")
    async with pool.read() as conn:
        rows = await conn.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r[0] for r in rows] == [1, 4]


async def test_nested_write_in_same_task_is_a_savepoint(pool: Pool) -> None:
    """pool.write() inside pool.write() of the same task nests instead of deadlocking."""

    async def add(account: int, fail: bool = False) -> None:
        async with pool.write() as conn:
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (?, 0)", (account,))
            if fail:
                raise LookupError("refused")

    async with pool.write():
        await add(1)
        with pytest.raises(LookupError):
            await add(2, fail=True)
        await add(3)
    async with pool.read() as conn:
        rows = await conn.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r[0] for r in rows] == [1, 3]


async def test_outer_failure_undoes_released_savepoints(pool: Pool) -> None:
    """When the outer write raises, the inner blocks that succeeded are rolled back too."""
    with pytest.raises(KeyError):
        async with pool.write() as conn:
            async with conn.atomic():
                await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 0)")
            raise KeyError("outer")
    async with pool.read() as conn:
        row = await conn.fetchone("SELECT count(*) FROM accounts")
    assert row is not None and row[0] == 0


async def test_atomic_outside_a_write_is_refused(pool: Pool) -> None:
    """conn.atomic() on a reader is a UsageError that points at pool.write()."""
    async with pool.read() as conn:
        with pytest.raises(UsageError, match=r"pool\.write\(\)"):
            async with conn.atomic():
                pass


# --- acquiring ---------------------------------------------------------------------------------


async def test_writer_acquire_timeout(open_pool: Callable[..., Any]) -> None:
    """A second writer gives up after acquire_timeout with a message saying what to do."""
    pool: Pool = await open_pool(acquire_timeout=0.2)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with pool.write():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    started = time.perf_counter()
    with pytest.raises(PoolTimeout) as caught:
        async with pool.write():
            pass
    waited = time.perf_counter() - started
    release.set()
    await holder
    message = str(caught.value)
    assert isinstance(caught.value, DatabaseBusy)
    assert "0.2 s" in message and "acquire_timeout" in message
    assert 0.15 <= waited < 1.0
    assert pool.stats().timeouts == 1
    async with pool.write():  # nothing was lost: the writer is free again
        pass
    await pool.close()


async def test_reader_acquire_timeout(open_pool: Callable[..., Any]) -> None:
    """With its only reader busy, a reader acquire times out and names Settings.readers."""
    pool: Pool = await open_pool(readers=1, acquire_timeout=0.1)
    async with pool.read():
        with pytest.raises(PoolTimeout, match="RAWDB_READERS"):
            async with pool.read():
                pass
    await pool.close()


async def test_cancelled_waiter_loses_no_connection(open_pool: Callable[..., Any]) -> None:
    """Cancelling a task waiting for a reader leaves the reader in the pool."""
    pool: Pool = await open_pool(readers=1)

    async def wait_for_reader() -> None:
        async with pool.read():
            pass

    async with pool.read():
        waiter = asyncio.create_task(wait_for_reader())
        await asyncio.sleep(0.01)
        assert pool.stats().waiting == 1
        waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    stats = pool.stats()
    assert stats.in_use == 0 and stats.waiting == 0
    async with pool.read() as conn:
        assert await conn.fetchone("SELECT 1") is not None
    await pool.close()


async def test_stats_report_use_and_waits(open_pool: Callable[..., Any]) -> None:
    """stats() shows size, what is in use, who waits, and a bounded window of wait times."""
    pool: Pool = await open_pool(readers=2, wait_samples=5)
    async with pool.write(), pool.read():
        stats = pool.stats()
        assert (stats.size, stats.readers, stats.in_use) == (3, 2, 2)
        assert stats.writer_in_use
    for _ in range(10):
        async with pool.read():
            pass
    stats = pool.stats()
    assert stats.in_use == 0
    assert stats.acquisitions >= 12
    assert stats.wait.samples == 5
    assert 0 <= stats.wait.p50_ms <= stats.wait.p99_ms <= stats.wait.max_ms
    assert stats.circuit_state == "closed"
    await pool.close()


async def test_connection_is_dead_after_its_block(pool: Pool) -> None:
    """A connection kept past its async with block refuses to work."""
    async with pool.read() as conn:
        pass
    with pytest.raises(UsageError, match="after its"):
        await conn.fetchall("SELECT 1")


# --- roles and tuning --------------------------------------------------------------------------


async def test_readers_cannot_write(pool: Pool) -> None:
    """A write through a reader is refused as a UsageError and changes nothing."""
    async with pool.read() as conn:
        flag = await conn.fetchone("PRAGMA query_only")
        with pytest.raises(UsageError, match="query_only"):
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (9, 9)", name="sneak")
    assert flag is not None and flag[0] == 1
    async with pool.read() as conn:
        row = await conn.fetchone("SELECT count(*) FROM accounts")
    assert row is not None and row[0] == 0


async def test_foreign_keys_on_for_every_connection(open_pool: Callable[..., Any]) -> None:
    """The writer and every reader (held at once, so all distinct) have foreign keys on."""
    pool: Pool = await open_pool(readers=3)
    async with pool.write() as writer, pool.read() as r1, pool.read() as r2, pool.read() as r3:
        conns = [writer, r1, r2, r3]
        assert len({id(c.raw) for c in conns}) == 4
        for conn in conns:
            row = await conn.fetchone("PRAGMA foreign_keys")
            assert row is not None and row[0] == 1
    with pytest.raises(ForeignKeyViolation) as caught:
        async with pool.write() as conn:
            await conn.execute(
                "INSERT INTO ledger (account_id, amount) VALUES (42, 1)", name="ledger_add"
            )
    assert caught.value.statement == "ledger_add"
    assert "ledger_add" in str(caught.value)
    await pool.close()


async def test_recycled_after_query_count(open_pool: Callable[..., Any]) -> None:
    """A reader is reopened once it has run max_queries statements, still tuned."""
    pool: Pool = await open_pool(readers=1, max_queries=3)
    seen: list[object] = []  # kept alive, so identities cannot be reused
    for _ in range(7):
        async with pool.read() as conn:
            if not any(conn.raw is old for old in seen):
                seen.append(conn.raw)
            row = await conn.fetchone("PRAGMA foreign_keys")
            assert row is not None and row[0] == 1
            await conn.fetchone("SELECT 1")
    assert len(seen) >= 3
    assert pool.stats().recycled >= 2
    await pool.close()


async def test_recycled_after_max_age(open_pool: Callable[..., Any]) -> None:
    """A connection older than max_age is reopened before its next use."""
    clock = FakeClock()
    pool: Pool = await open_pool(readers=1, max_age=60.0, clock=clock)
    async with pool.read() as conn:
        first = conn.raw
    clock.now += 30
    async with pool.read() as conn:
        assert conn.raw is first
    clock.now += 31
    async with pool.read() as conn:
        assert conn.raw is not first
        assert await conn.fetchone("SELECT 1") is not None
    assert pool.stats().recycled == 1
    await pool.close()


async def test_health_check_replaces_a_dead_connection(open_pool: Callable[..., Any]) -> None:
    """A reader whose connection died is found by the check before reuse and reopened."""
    pool: Pool = await open_pool(readers=1, health_check_after=0.0)
    async with pool.read() as conn:
        dead = conn.raw
    await dead.close()  # dies while idle in the pool, unnoticed until the next use
    async with pool.read() as conn:
        assert conn.raw is not dead
        row = await conn.fetchone("SELECT count(*) FROM accounts")
    assert row is not None and row[0] == 0
    stats = pool.stats()
    assert stats.health_check_failures == 1
    assert stats.circuit_state == "closed"
    await pool.close()


# --- retries and the breaker -------------------------------------------------------------------


# --- point reads in place --------------------------------------------------------------------


async def test_point_reads_see_commits_and_keep_a_snapshot(pool: Pool) -> None:
    """fetchall_now sees what was committed, and inside a snapshot only the snapshot."""
    async with pool.write() as conn:
        await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 10)")
    async with pool.read() as conn:
        assert [tuple(r) for r in await conn.fetchall_now("SELECT balance FROM accounts")] == [
            (10,)
        ]
    async with pool.read(snapshot=True) as conn:
        assert (await conn.fetchall_now("SELECT balance FROM accounts"))[0][0] == 10
        async with pool.write() as writer:
            await writer.execute("UPDATE accounts SET balance = 20 WHERE id = 1")
        assert (await conn.fetchall_now("SELECT balance FROM accounts"))[0][0] == 10
    async with pool.read() as conn:
        assert (await conn.fetchall_now("SELECT balance FROM accounts"))[0][0] == 20


async def test_small_batches_write_in_place_in_the_writers_transaction(pool: Pool) -> None:
    """executemany_now writes inside the writer's transaction whichever way it runs (a few
    rows in place, more than IN_PLACE_ROWS on the connection's thread), and a failure rolls
    the whole transaction back with the rest."""
    sql = "INSERT INTO accounts (id, balance) VALUES (?, ?)"
    async with pool.write() as conn:
        assert await conn.executemany_now(sql, [(i, i) for i in range(1, 4)]) == 3
        assert await conn.executemany_now(sql, [(i, 1) for i in range(10, 611)]) == 601
    async with pool.read() as conn:
        assert (await conn.fetchall("SELECT count(*) FROM accounts"))[0][0] == 604
    with pytest.raises(UniqueViolation):
        async with pool.write() as conn:
            await conn.executemany_now(sql, [(1000, 0)])
            await conn.executemany_now(sql, [(1, 0)])  # a duplicate id
    async with pool.read() as conn:
        assert (await conn.fetchall("SELECT count(*) FROM accounts WHERE id = 1000"))[0][0] == 0


async def test_busy_retry_backs_off_until_the_lock_goes(db_path: Path) -> None:
    """A real SQLITE_BUSY is retried with back-off and succeeds once the lock is released."""
    holder, contender = plain(db_path), plain(db_path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    attempts, retries, pauses = 0, 0, []

    async def op() -> str:
        nonlocal attempts
        attempts += 1
        pauses.append(time.perf_counter())
        if attempts == 3:
            holder.execute("COMMIT")
        contender.execute("BEGIN IMMEDIATE")
        contender.execute("ROLLBACK")
        return "done"

    def counted() -> None:
        nonlocal retries
        retries += 1

    assert await with_busy_retry(op, Retry(4, 0.02, 0.5, counted)) == "done"
    assert (attempts, retries) == (3, 2)
    assert pauses[1] - pauses[0] >= 0.01  # at least half the 0.02 s base delay

    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await with_busy_retry(op, Retry(2, 0.001, 0.002, counted))
    holder.execute("ROLLBACK")
    holder.close()
    contender.close()


async def test_breaker_opens_on_connection_failures_and_recovers(
    open_pool: Callable[..., Any],
) -> None:
    """Five failed reopens open the breaker; after the cool-down three good reads close it."""
    clock = FakeClock()
    pool: Pool = await open_pool(readers=1, max_queries=1, clock=clock)
    path = Path(pool.settings.database)
    away = path.with_name(path.name + ".away")
    async with pool.read() as conn:
        await conn.fetchone("SELECT 1")
    # The path stops leading to the database (never by writing into it: the pool's SQLite
    # would read page 1 from the WAL anyway, and this process would drop its locks).
    path.rename(away)
    path.mkdir()
    for _ in range(5):
        with pytest.raises(CannotOpen, match="is a directory"):
            async with pool.read():
                pass
    assert pool.stats().circuit_state == "open"
    started = time.perf_counter()
    with pytest.raises(CircuitOpen, match="5 times in a row"):
        async with pool.read():
            pass
    assert time.perf_counter() - started < 0.05
    path.rmdir()
    away.rename(path)
    clock.now += 30.0
    assert pool.stats().circuit_state == "half_open"
    for _ in range(3):
        async with pool.read() as conn:
            assert await conn.fetchone("SELECT count(*) FROM accounts") is not None
    assert pool.stats().circuit_state == "closed"
    await pool.close()


# --- shutdown ----------------------------------------------------------------------------------


async def test_close_waits_for_work_in_flight(pool: Pool) -> None:
    """close() lets a running write finish and commit, then refuses new work."""
    started = asyncio.Event()

    async def slow_write() -> None:
        async with pool.write() as conn:
            started.set()
            await asyncio.sleep(0.2)
            await conn.execute("INSERT INTO accounts (id, balance) VALUES (1, 100)")

    task = asyncio.create_task(slow_write())
    await started.wait()
    began = time.perf_counter()
    await pool.close()
    assert time.perf_counter() - began >= 0.15
    assert task.done() and task.exception() is None
    assert pool.closed
    with pytest.raises(PoolClosed):
        async with pool.read():
            pass
    check = plain(pool.settings.database)
    assert check.execute("SELECT balance FROM accounts WHERE id = 1").fetchone() == (100,)
    check.close()


async def test_close_runs_optimize(open_pool: Callable[..., Any]) -> None:
    """PRAGMA optimize at close analyses a table the readers queried through an index."""
    pool: Pool = await open_pool()
    async with pool.write() as conn:
        await conn.execute("CREATE INDEX ix_ledger_account ON ledger (account_id)")
        await conn.executemany(
            "INSERT INTO accounts (id, balance) VALUES (?, 0)", [(i,) for i in range(50)]
        )
        await conn.executemany(
            "INSERT INTO ledger (account_id, amount) VALUES (?, 1)",
            [(i % 50,) for i in range(5000)],
        )
    async with pool.read() as conn:
        await conn.fetchall("SELECT amount FROM ledger WHERE account_id = 7")
    await pool.close()
    check = plain(pool.settings.database)
    rows = check.execute("SELECT tbl, idx FROM sqlite_stat1 WHERE tbl = 'ledger'").fetchall()
    check.close()
    assert ("ledger", "ix_ledger_account") in rows


async def test_opening_awaited_twice_opens_once(settings: Settings, no_migrations: Path) -> None:
    """Awaiting what Pool.open returns a second time gives the same pool, no new connections."""
    opening = Pool.open(settings, migrations_dir=no_migrations)
    first = await opening
    threads = threading.active_count()  # aiosqlite runs one thread per connection
    second = await opening
    try:
        assert second is first
        assert threading.active_count() == threads
    finally:
        await first.close()


async def test_pool_as_context_manager_closes(settings: Settings, no_migrations: Path) -> None:
    """async with Pool.open(...) yields an open pool and closes it on exit."""
    async with Pool.open(settings, migrations_dir=no_migrations) as pool, pool.read() as conn:
        assert await conn.fetchone("SELECT 1") is not None
    assert pool.closed


# --- schema version ----------------------------------------------------------------------------


async def test_schema_out_of_date_names_both_versions(settings: Settings, mdir: Any) -> None:
    """A database behind the newest migration is refused, naming current and newest."""
    mdir.add("0001_first.sql", "-- first\nCREATE TABLE a (x);\n", "DROP TABLE a;\n")
    Migrator(settings.database, mdir.root, settings=settings, backup=False).up()
    mdir.add("0002_second.sql", "-- second\nCREATE TABLE b (x);\n", "DROP TABLE b;\n")
    with pytest.raises(SchemaOutOfDate) as caught:
        await Pool.open(settings, migrations_dir=mdir.root)
    message = str(caught.value)
    assert "at migration 0001" in message and "newest is 0002" in message
    assert "migrate" in message


async def test_schema_newer_than_code_is_refused(settings: Settings, mdir: Any) -> None:
    """A database migrated past what this rawdb knows is refused too."""
    mdir.add("0001_first.sql", "-- first\nCREATE TABLE a (x);\n", "DROP TABLE a;\n")
    second = mdir.add("0002_second.sql", "-- second\nCREATE TABLE b (x);\n", None)
    Migrator(settings.database, mdir.root, settings=settings, backup=False).up()
    second.unlink()
    with pytest.raises(SchemaOutOfDate, match="newer than"):
        await Pool.open(settings, migrations_dir=mdir.root)


async def test_current_schema_opens(settings: Settings, mdir: Any) -> None:
    """A database with every migration applied opens."""
    mdir.add("0001_first.sql", "-- first\nCREATE TABLE a (x);\n", "DROP TABLE a;\n")
    Migrator(settings.database, mdir.root, settings=settings, backup=False).up()
    async with Pool.open(settings, migrations_dir=mdir.root) as pool:
        assert not pool.closed


async def test_unreadable_schema_is_a_rawdb_error(settings: Settings, mdir: Any) -> None:
    """A corrupt schema page met by the version check is DatabaseCorrupt, not a driver error."""
    mdir.add("0001_first.sql", "-- first\nCREATE TABLE a (x);\n", "DROP TABLE a;\n")
    Migrator(settings.database, mdir.root, settings=settings, backup=False).up()
    path = Path(settings.database)
    data = bytearray(path.read_bytes())
    data[100:400] = b"\xde\xad\xbe\xef" * 75
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupt):
        await Pool.open(settings, migrations_dir=mdir.root)


async def test_migrate_on_open(settings: Settings, mdir: Any) -> None:
    """Pool.open(migrate=True) runs the migrator first, then opens over the new schema."""
    mdir.add("0001_first.sql", "-- first table\nCREATE TABLE a (x INTEGER);\n", "DROP TABLE a;\n")
    async with Pool.open(settings, migrations_dir=mdir.root, migrate=True) as pool:
        async with pool.write() as conn:
            await conn.execute("INSERT INTO a (x) VALUES (1)")
        async with pool.read() as conn:
            row = await conn.fetchone("SELECT max(version) FROM rawdb_migrations")
    assert row is not None and row[0] == 1


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"acquire_timeout": 0}, "acquire_timeout must be greater than 0"),
        ({"retry_base_delay": 1.0, "retry_max_delay": 0.1}, "greater than retry_max_delay"),
        ({"max_queries": 0}, "max_queries must be at least 1"),
        ({"breaker_failures": 0}, "breaker_failures must be at least 1"),
        ({"read_retries": True}, "must be a whole number"),
        ({"acquire_timeout": "10"}, "must be a number of seconds"),
        ({"max_age": float("inf")}, "must be finite"),
    ],
)
def test_pool_config_says_what_is_wrong(options: dict[str, Any], fragment: str) -> None:
    """Each invalid PoolConfig argument is refused with a message naming it and the fix."""
    with pytest.raises(ConfigError, match=fragment):
        PoolConfig(**options)


def test_pool_config_accepts_none_to_disable_recycling() -> None:
    """None turns off recycling by age and by query count."""
    config = PoolConfig(max_age=None, max_queries=None, close_timeout=None)
    assert config.max_age is None and config.max_queries is None
