"""What the deleted_at index costs an insert: full index (0007) vs partial index (0008).

    python tools/bench_deleted_at.py [--rows N] [--runs K]

Same ticks, same pragmas, 10k per commit, runs interleaved; prints rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench_common import migrated, stdlib_insert, stored_rows, ticks
from rawdb import log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    log.configure(level="warning")
    rows = stored_rows(ticks(args.rows))
    rates: dict[int, list[float]] = {7: [], 8: []}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.runs):
            for version, samples in rates.items():
                db = migrated(Path(scratch) / f"v{version}.sqlite3", version)
                samples.append(stdlib_insert(db, rows, 10_000))
    full, partial = (statistics.median(rates[v]) for v in (7, 8))
    print(f"full deleted_at index (0007):    {full:>10,.0f} rows/s")
    print(f"partial deleted_at index (0008): {partial:>10,.0f} rows/s  ({partial / full:.2f}x)")


if __name__ == "__main__":
    main()
