"""The shipped migrations travel inside the wheel and are found without a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from rawdb.migrate import discover, shipped_root

from conftest import ROOT, build_wheel


def test_shipped_set_is_found_from_the_checkout() -> None:
    """In a source checkout, the shipped set is the repository's sql/ folder."""
    root = shipped_root()
    names = {m.name for m in discover(root).migrations}
    assert names == {p.stem for p in (ROOT / "sql" / "migrations").glob("*.sql")}


def test_installed_wheel_finds_its_migrations(tmp_path: Path) -> None:
    """A wheel holds sql/ as package data; installed elsewhere, status lists every migration."""
    wheel = build_wheel(ROOT, tmp_path / "dist")
    shipped = sorted(p.name for p in (ROOT / "sql" / "migrations").glob("*.sql"))
    with zipfile.ZipFile(wheel) as archive:
        inside = sorted(
            Path(n).name for n in archive.namelist() if n.startswith("rawdb/sql/migrations/")
        )
    assert inside == shipped
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    probe = (
        "import rawdb.migrate as m, json; r = m.shipped_root(); "
        "print(json.dumps([str(r), [x.name for x in m.discover(r).migrations]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=workdir,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    root, names = json.loads(out)
    assert Path(root).is_relative_to(target)
    assert sorted(f"{n}.sql" for n in names) == shipped
