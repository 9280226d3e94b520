"""The query advisor: every named statement's plan, judged against the current schema.

It reports, by statement name: a full scan of a big table (``error``: a statement that should
seek), an automatic index built at run time (``warning``), a temporary B-tree for ORDER BY /
GROUP BY / DISTINCT (``warning``; ``info`` on a small table). It lists indexes no statement's
plan uses and suggests missing ones, each suggestion tried on the planner's copy of the schema
and marked ``verified`` when it removes the problem. Plans come from
:class:`~rawdb.monitor.schema_copy.PlannerCopy`, so the real file is only read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from rawdb.monitor.schema_copy import PlannerCopy, Snapshot
from rawdb.monitor.suggest import candidate_columns, table_aliases
from rawdb.queries import Statement
from rawdb.sql_setup import SqlSetup

Severity = Literal["error", "warning", "info"]
Kind = Literal["full_scan", "index_scan", "temp_btree", "automatic_index"]
BIG_ROWS = 10_000
"""Tables with at least this many rows are big: scanning one is an error."""

_SCAN = re.compile(r"^SCAN (?P<name>\S+)(?: USING (?:COVERING )?INDEX (?P<index>\S+))?")
_SEARCH = re.compile(r"^SEARCH (?P<name>\S+) USING (?:COVERING )?INDEX (?P<index>\S+)")
_TEMP = re.compile(r"USE TEMP B-TREE FOR (?P<what>.+)$")
_LIMITED = re.compile(r"\bORDER\s+BY\b.*\bLIMIT\b", re.IGNORECASE | re.DOTALL)
_AUTO = re.compile(r"AUTOMATIC (?:PARTIAL )?COVERING INDEX")


@dataclass(frozen=True)
class Finding:
    """One problem in one statement's plan."""

    statement: str
    kind: Kind
    severity: Severity
    table: str | None
    detail: str
    rows: int | None
    source: str = ""

    def __str__(self) -> str:
        where = f" ({self.source})" if self.source else ""
        size = f", ~{self.rows:,} rows" if self.rows is not None else ""
        return f"{self.severity}: {self.statement}{where}: {self.detail}{size}"


@dataclass(frozen=True)
class Suggestion:
    """An index that would serve statements better; ``verified`` if trying it fixed them."""

    table: str
    columns: tuple[str, ...]
    statements: tuple[str, ...]
    verified: bool

    @property
    def ddl(self) -> str:
        name = "ix_" + self.table + "_" + "_".join(self.columns)
        return f"CREATE INDEX {name} ON {self.table} ({', '.join(self.columns)});"


@dataclass(frozen=True)
class UnusedIndex:
    """An index no named statement's plan uses, and what it may still be for."""

    name: str
    table: str
    note: str


@dataclass
class AdvisorReport:
    """Plans, findings, unused indexes and suggestions for a set of statements."""

    plans: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    unused_indexes: list[UnusedIndex] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    analyzed: bool = True
    notes: list[str] = field(default_factory=list)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def advise(
    snap: Snapshot,
    statements: Iterable[Statement] | Mapping[str, Statement],
    *,
    big_rows: int = BIG_ROWS,
    allow: Mapping[str, str] | None = None,
    setup: SqlSetup | str | None = None,
) -> AdvisorReport:
    """Plan every statement on a copy of ``snap``'s schema and judge the plans.

    ``allow`` maps statement names to the reason their full scans are intended (a statement
    that lists a whole table); their findings are kept as ``info``. ``setup`` is the
    application's SQL setup, for a schema that uses its functions or collations.
    """
    items = list(statements.values() if isinstance(statements, Mapping) else statements)
    allowed = allow or {}
    copy = PlannerCopy(snap, setup)
    report = AdvisorReport(analyzed=snap.analyzed)
    if not snap.analyzed:
        report.notes.append(
            "no statistics (sqlite_stat1): plans use SQLite's guesses; run ANALYZE or "
            "rawdb.monitor.upkeep.refresh_statistics() for plans that match the data"
        )
    used: set[str] = set()
    try:
        for stmt in items:
            plan = copy.plan(stmt.sql)
            report.plans[stmt.name] = plan
            used |= indexes_in(plan)
            findings = judge_plan(stmt, plan, snap, copy.columns, big_rows)
            if stmt.name in allowed:
                findings = [_allowed(f, allowed[stmt.name]) for f in findings]
            report.findings.extend(findings)
        report.suggestions = _suggest(copy, items, report.findings)
        foreign_keys = copy.foreign_keys()
    finally:
        copy.close()
    report.unused_indexes = unused(snap, used, foreign_keys)
    return report


def judge_plan(
    stmt: Statement,
    plan: list[str],
    snap: Snapshot,
    columns: Mapping[str, list[str]],
    big_rows: int,
) -> list[Finding]:
    """The findings of one statement's plan lines."""
    aliases = table_aliases(stmt.sql, columns.keys())
    found: list[Finding] = []
    tables_seen: list[str] = []
    for line in plan:
        scan, search = _SCAN.match(line), _SEARCH.match(line)
        named = scan or search
        table = aliases.get(named["name"]) if named else None
        if table is not None:
            tables_seen.append(table)
        rows = snap.rows.get(table) if table else None
        big = rows is not None and rows >= big_rows
        if scan and table is not None and "VIRTUAL TABLE" not in line:
            kind: Kind = "index_scan" if scan["index"] else "full_scan"
            severity: Severity = "error" if big else "info"
            what = "scans the whole of"
            if scan["index"] and _LIMITED.search(stmt.sql):
                # Walking an index in ORDER BY order stops after LIMIT matches: cheap when
                # matches are common, every entry when they are rare.
                severity = "warning" if big else "info"
                what = "walks an index in ORDER BY order until LIMIT rows match, over"
            elif scan["index"]:
                what = "reads every entry of"
            found.append(
                Finding(
                    stmt.name,
                    kind,
                    severity,
                    table,
                    f"{what} {table}: {line}",
                    rows,
                    stmt.source,
                )
            )
        elif _AUTO.search(line):
            found.append(
                Finding(
                    stmt.name,
                    "automatic_index",
                    "warning",
                    table,
                    f"SQLite builds a temporary index on every run: {line}",
                    rows,
                    stmt.source,
                )
            )
        temp = _TEMP.search(line)
        if temp:
            owner = tables_seen[-1] if len(set(tables_seen)) == 1 else None
            owner_rows = snap.rows.get(owner) if owner else None
            small = owner_rows is not None and owner_rows < big_rows
            found.append(
                Finding(
                    stmt.name,
                    "temp_btree",
                    "info" if small else "warning",
                    owner,
                    f"sorts its result in a temporary B-tree for {temp['what']}",
                    owner_rows,
                    stmt.source,
                )
            )
    return found


def indexes_in(plan: Iterable[str]) -> set[str]:
    """Names of the indexes a plan uses."""
    names = set()
    for line in plan:
        match = _SEARCH.match(line) or _SCAN.match(line)
        if match and match["index"]:
            names.add(match["index"])
    return names


def unused(
    snap: Snapshot, used: set[str], foreign_keys: Mapping[str, list[tuple[str, ...]]]
) -> list[UnusedIndex]:
    """Indexes no plan uses, each with what it may still serve."""
    result = []
    for name, table, sql in snap.indexes():
        if name in used:
            continue
        leading = _leading(sql)
        fk = next((k for k in foreign_keys.get(table, []) if leading[: len(k)] == k), None)
        if re.match(r"\s*CREATE\s+UNIQUE", sql, re.IGNORECASE):
            note = "enforces uniqueness; keep it even if no statement reads through it"
        elif fk is not None:
            note = (
                f"serves the foreign key ({', '.join(fk)}): a RESTRICT check on deleting a "
                "parent row seeks it; keep it"
            )
        elif " WHERE " in sql.upper():
            note = "partial index no named statement uses"
        else:
            note = "no named statement uses it; if nothing else does, dropping it speeds inserts"
        result.append(UnusedIndex(name, table, note))
    return result


def _allowed(finding: Finding, reason: str) -> Finding:
    return Finding(
        finding.statement,
        finding.kind,
        "info",
        finding.table,
        f"{finding.detail} (intended: {reason})",
        finding.rows,
        finding.source,
    )


def _suggest(
    copy: PlannerCopy, statements: list[Statement], findings: list[Finding]
) -> list[Suggestion]:
    """Candidate indexes for the scans and sorts found, tried on the copy."""
    by_name = {s.name: s for s in statements}
    wanted: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    verified: dict[tuple[str, tuple[str, ...]], bool] = {}
    existing = {(t, _leading(sql)) for _, t, sql in copy.snapshot.indexes()}
    for f in findings:
        if f.severity == "info" or f.table is None or f.kind == "automatic_index":
            continue
        stmt = by_name[f.statement]
        cols = candidate_columns(stmt.sql, f.table, copy.columns[f.table])
        if not cols or (f.table, cols) in existing:
            continue
        key = (f.table, cols)
        wanted.setdefault(key, []).append(f.statement)
        plan = copy.with_index(f.table, cols, stmt.sql)
        fixed = plan is not None and not any(
            g.kind == f.kind and g.table == f.table
            for g in judge_plan(stmt, plan, copy.snapshot, copy.columns, 0)
        )
        verified[key] = verified.get(key, True) and fixed
    return [
        Suggestion(table, cols, tuple(dict.fromkeys(names)), verified[(table, cols)])
        for (table, cols), names in wanted.items()
    ]


def _leading(sql: str) -> tuple[str, ...]:
    match = re.search(r"\((?P<cols>[^)]*)\)", sql)
    if match is None:
        return ()
    return tuple(c.strip().strip('"').split()[0] for c in match["cols"].split(",") if c.strip())
