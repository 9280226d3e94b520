"""The reliability report: tests record each scenario; the session writes docs/reliability.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


@dataclass
class Scenario:
    """One scenario: what was done, how often, and what was checked each time."""

    name: str
    checks: str
    repetitions: int = 0
    failures: int = 0
    notes: list[str] = field(default_factory=list)


SCENARIOS: dict[str, Scenario] = {}


def record(name: str, checks: str, *, ok: bool, note: str | None = None) -> None:
    scenario = SCENARIOS.setdefault(name, Scenario(name, checks))
    scenario.repetitions += 1
    scenario.failures += 0 if ok else 1
    if note:
        scenario.notes.append(note)


def write_report() -> None:
    """Rewrite the report from this session's records (only when the session ran them all)."""
    lines = [
        "# Reliability report",
        "",
        "Written by the test suite itself (`tests/reliability.py`) at the end of a run that",
        f"included these scenarios; last written {datetime.date.today().isoformat()}.",
        "",
        "| scenario | what is checked after each repetition | repetitions | result |",
        "|---|---|---:|---|",
    ]
    for scenario in sorted(SCENARIOS.values(), key=lambda s: s.name):
        result = "pass" if scenario.failures == 0 else f"{scenario.failures} failed"
        lines.append(f"| {scenario.name} | {scenario.checks} | {scenario.repetitions} | {result} |")
    REPORT.write_text("\n".join(lines) + "\n")
