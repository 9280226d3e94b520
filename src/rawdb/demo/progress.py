"""A one-line progress bar with rate for the terminal (silent when output is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update(done)`` redraws ``[#####     ] 52% 104,000/200,000  81,234 ticks/s``."""

    def __init__(
        self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 30
    ) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream
        self.width = width
        self.started = time.perf_counter()
        self._last = 0.0
        self.enabled = stream.isatty()

    def rate(self, done: int) -> float:
        return done / max(1e-9, time.perf_counter() - self.started)

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        filled = int(self.width * done / self.total)
        bar = "#" * filled + " " * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {100 * done / self.total:3.0f}% "
            f"{done:,}/{self.total:,}  {self.rate(done):,.0f} ticks/s"
        )
        self.stream.flush()

    def finish(self, done: int) -> None:
        self.update(done, force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
