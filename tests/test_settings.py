"""Settings apply RAWDB_* overrides exactly as docs/app.md says, whichever way they are built."""

from __future__ import annotations

from pathlib import Path

import pytest

from rawdb import Pool, Settings
from rawdb.errors import ConfigError


async def test_environment_reaches_settings_built_with_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RAWDB_SYNCHRONOUS=FULL with Settings(database=...): the connections run synchronous=2."""
    monkeypatch.setenv("RAWDB_SYNCHRONOUS", "FULL")
    monkeypatch.setenv("RAWDB_READERS", "2")
    settings = Settings(database=tmp_path / "env.sqlite3")
    assert (settings.synchronous, settings.readers) == ("FULL", 2)
    async with Pool.open(settings, migrate=True) as pool:
        async with pool.write() as conn:
            row = await conn.fetchone("PRAGMA synchronous")
        async with pool.read() as reader:
            on_reader = await reader.fetchone("PRAGMA synchronous")
    assert row is not None and row[0] == 2
    assert on_reader is not None and on_reader[0] == 2


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAWDB_SYNCHRONOUS", "FULL")
    monkeypatch.setenv("RAWDB_BUSY_TIMEOUT_MS", "1234")
    settings = Settings(synchronous="NORMAL")
    assert (settings.synchronous, settings.busy_timeout_ms) == ("NORMAL", 1234)


def test_a_mapping_given_to_from_env_is_the_only_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAWDB_READERS", "7")
    assert Settings.from_env({"RAWDB_BUSY_TIMEOUT_MS": "10"}).readers == 4
    assert Settings.from_env().readers == 7
    assert Settings.from_env(readers=None).readers == 7  # an unset CLI option changes nothing


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RAWDB_READERS", "many"), ("RAWDB_SYNCHRONOUS", "SOMETIMES"), ("RAWDB_READERS", "0")],
)
def test_a_bad_environment_value_is_a_config_error(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        Settings(database=Path("x.sqlite3"))


def test_an_unknown_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        Settings(bogus=1)  # type: ignore[call-arg]
