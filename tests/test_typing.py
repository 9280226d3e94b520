"""An application's own `mypy --strict` over code that uses rawdb's public API: it passes, and
a type error in such code is caught (so the check is not vacuous)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_APP = Path(__file__).parent / "typing" / "user_app.py"


def mypy_strict(target: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """mypy with the application's settings, not rawdb's own (an empty config file)."""
    config = cache.with_name("mypy.ini")
    config.write_text("[mypy]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(cache),
            "--config-file",
            str(config),
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=target.parent,
    )


def test_user_code_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    result = mypy_strict(USER_APP, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_type_error_in_user_code_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "user_app.py"
    text = USER_APP.read_text()
    assert "written: int = " in text
    broken.write_text(text.replace("written: int = ", "written: str = "))
    result = mypy_strict(broken, tmp_path / "cache")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Incompatible types in assignment" in result.stdout
