"""The `autotask-agent` command: version, status, settings, paths and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent import __version__
from agent.cli import main
from agent.paths import ENV_DATA_DIR, InvalidProfileName, resolve

ROOT = Path(__file__).resolve().parents[2]


def test_version_flag_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_python_dash_m_agent_is_the_same_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"autotask-agent {__version__}"


def test_status_creates_the_profile_under_the_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["database"] == str(tmp_path / "profiles" / "default" / "agent.sqlite3")
    assert info["operations"] == {} and info["open_conflicts"] == 0
    assert info["signed_in"] is False
    assert Path(info["log_file"]).parent == tmp_path / "logs"


def test_environment_variable_sets_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve().data_dir == tmp_path / "env"
    assert resolve(tmp_path / "flag").data_dir == tmp_path / "flag"  # the flag wins


def test_settings_set_validates_and_persists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "settings", "set", "sync_interval_s", "300"]) == 0
    assert "sync_interval_s = 300  (changed)" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "settings", "set", "sync_interval_s", "2"]) == 2
    assert "between 10 and 3600" in capsys.readouterr().err
    main(["--data-dir", str(tmp_path), "settings", "list"])
    assert "sync_interval_s = 300" in capsys.readouterr().out


def test_a_second_instance_gets_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.profile import open_profile

    first = open_profile(tmp_path)
    try:
        assert main(["--data-dir", str(tmp_path), "status"]) == 2
        assert "Another Field Sync instance" in capsys.readouterr().err
    finally:
        first.close()


def test_a_corrupt_database_is_reported_with_both_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "profiles" / "default" / "agent.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 64)
    assert main(["--data-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert str(db) in out and ".corrupt-" in out


def test_profile_names_cannot_escape_the_data_dir() -> None:
    with pytest.raises(InvalidProfileName):
        resolve("/tmp/x", "../../etc")
