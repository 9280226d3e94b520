"""Pacing a long statement: a progress handler that rests it between slices of work.

A background scan that reads every page of the file (the monitor's ``dbstat`` size scan: a
minute at 100M ticks) holds a core and the disk for as long as it runs; the application's reads
beside it wait for both. Resting the scan between short slices hands them back: ``time.sleep``
releases the GIL, the CPU and the disk queue. The scan takes longer in wall time, by design.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

PACE_EVERY = 20_000
"""Instructions between checks of the slice's time: ~0.7 ms of a dbstat scan (every 2,000,
14,000 checks a second of scanning, each taking the GIL back from the event loop)."""


@dataclass(slots=True)
class Pace:
    """After each ``work_s`` of running, rest ``rest_s``; ``stop()`` interrupts the statement
    at its next check (as ``interrupt()`` would, but also one that has not started yet)."""

    work_s: float
    rest_s: float
    rested_s: float = 0.0
    stopped: bool = False
    _slice_started: float = field(default_factory=time.perf_counter)

    def __call__(self) -> bool:
        now = time.perf_counter()
        if now - self._slice_started >= self.work_s and not self.stopped:
            time.sleep(self.rest_s)
            self.rested_s += self.rest_s
            self._slice_started = time.perf_counter()
        return self.stopped

    def stop(self) -> None:
        self.stopped = True


def install(conn: sqlite3.Connection, pace: Pace) -> None:
    """Pace every statement ``conn`` runs from now on."""
    pace._slice_started = time.perf_counter()
    conn.set_progress_handler(pace, PACE_EVERY)
