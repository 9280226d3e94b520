"""Health reports an application publishes beside its database, for the operator's command.

A separate process (``rawdb monitor``) sees none of the application's statement timings, pool
or alerts, so it could say HEALTHY of a file whose application is degraded. An application
that runs :meth:`Monitor.start_publishing` writes its latest report every few seconds to
``<database>.monitor/<host>-<pid>.json`` (written under a temporary name and renamed, so a
reader never sees half a file); the command reads them, with their age, and judges with them.
A report is stale once it is three intervals old, or when its process is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

from rawdb.monitor.thresholds import Status

STALE_AFTER = 3
"""Intervals after which a published report no longer speaks for its process."""
MAX_BYTES = 4 * 1024 * 1024
"""A published report larger than this is not read (it is not one rawdb wrote)."""


def folder(database: Path) -> Path:
    """Where the reports of ``database`` are published: ``<database>.monitor/``."""
    return database.with_name(database.name + ".monitor")


def own_file(database: Path) -> Path:
    return folder(database) / f"{socket.gethostname()}-{os.getpid()}.json"


def write(database: Path, report: dict[str, Any], every_s: float) -> Path:
    """Publish ``report`` (a JSON-ready dict) for this process; returns the file."""
    target = own_file(database)
    target.parent.mkdir(exist_ok=True)
    payload = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "written_at": time.time(),
        "every_s": every_s,
        "report": report,
    }
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, target)
    return target


def withdraw(database: Path) -> None:
    """Remove this process's report (it stopped publishing)."""
    own_file(database).unlink(missing_ok=True)


@dataclass(frozen=True)
class Published:
    """One application's report as the command finds it."""

    pid: int
    host: str
    age_s: float
    stale: bool
    why_stale: str
    status: Status
    report: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "host": self.host,
            "age_s": round(self.age_s, 3),
            "stale": self.stale,
            "why_stale": self.why_stale,
            "status": self.status,
            "report": self.report,
        }


def read_all(database: Path, now: float | None = None) -> list[Published]:
    """Every report published for ``database``, newest first; unreadable files are skipped."""
    found: list[Published] = []
    moment = time.time() if now is None else now
    for path in sorted(folder(database).glob("*.json")):
        entry = _read(path, moment)
        if entry is not None:
            found.append(entry)
    return sorted(found, key=lambda p: p.age_s)


def _read(path: Path, now: float) -> Published | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        pid, host = int(data["pid"]), str(data["host"])
        age = max(0.0, now - float(data["written_at"]))
        every = float(data["every_s"])
        report = dict(data["report"])
        status = str(report["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status not in get_args(Status):
        return None
    why = ""
    if host == socket.gethostname() and not _alive(pid):
        why = f"process {pid} is gone"
    elif age > STALE_AFTER * every:
        why = f"last written {age:.0f} s ago, every {every:g} s expected"
    return Published(pid, host, age, bool(why), why, cast("Status", status), report)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True
