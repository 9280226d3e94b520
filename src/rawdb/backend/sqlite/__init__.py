"""The SQLite backend: the first tenant of the backend seam (:mod:`rawdb.backend.interface`).

Its modules: ``connection`` (open, tune, prove writable, transactions, the write lock),
``pragmas`` (the tuning as data), ``pooled`` (the pool's connections over aiosqlite),
``deadline`` (interrupting a read at its deadline),
``errors`` (result codes as rawdb errors), ``migrator_lock``, ``files`` (sizes and the WAL
header), ``driver`` (the driver's names for the code above the seam) and ``tenant`` (the
:class:`~rawdb.backend.interface.Backend` object over them).
"""
