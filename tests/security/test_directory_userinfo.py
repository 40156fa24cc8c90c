"""A directory address never carries a user name or password: refused, with a clear line that
does not repeat the password, wherever an address is set (the settings check the window and the
facade use, `settings set`, a policy file at `policy check` and at start), so none is kept in the
settings table, listed, or put in a diagnostics bundle."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from agent.api.facade import Agent, AgentOptions
from agent.cli import main
from agent.config.policy import PolicyError
from agent.config.sources import PolicySources
from agent.profile import open_profile
from agent.settings import SettingsError, validate
from tests.config.helpers import write_policy
from tests.security.keyring_helpers import database

PASSWORD = "Hunter2-Directory-Pw"
WITH_USERINFO = [
    f"https://user:{PASSWORD}@directory.example/ATServicesRest/",
    "https://user@directory.example/ATServicesRest/",
    f"https://:{PASSWORD}@directory.example/",
    f"http://admin:{PASSWORD}@127.0.0.1:8765/ATServicesRest/",
]


def _raw(data: Path) -> bytes:
    folder = database(data).parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("url", WITH_USERINFO)
def test_the_settings_check_refuses_an_address_with_a_user_name_or_password(url: str) -> None:
    with pytest.raises(SettingsError, match="user name or password") as caught:
        validate("api_directory_url", url)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", WITH_USERINFO)
def test_settings_set_refuses_it_in_one_line_and_keeps_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code = main(["--data-dir", str(tmp_path), "settings", "set", "api_directory_url", url])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "user name or password" in err and PASSWORD not in err
    assert main(["--data-dir", str(tmp_path), "settings", "list"]) == 0
    assert PASSWORD not in capsys.readouterr().out
    assert PASSWORD.encode() not in _raw(tmp_path)


async def test_the_window_s_save_through_the_facade_refuses_it(tmp_path: Path) -> None:
    agent = await Agent.open(AgentOptions(data_dir=tmp_path, sample_metrics=False))
    try:
        with pytest.raises(SettingsError, match="user name or password") as caught:
            await agent.update_settings(api_directory_url=WITH_USERINFO[0])
        assert PASSWORD not in str(caught.value)
        assert agent.settings.api_directory_url is None
        assert agent.profile.vault.chosen_directory() is None, "no choice was recorded"
    finally:
        await agent.close()
    assert PASSWORD.encode() not in _raw(tmp_path)


def test_policy_check_refuses_a_directory_with_a_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_policy(tmp_path / "policy.json", {"directory": WITH_USERINFO[0]})
    code = main(["policy", "check", str(path)])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert "directory" in out.err and "user name or password" in out.err
    assert PASSWORD not in out.err


def test_a_policy_with_such_a_directory_stops_the_start_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = write_policy(tmp_path / "policy.json", {"directory": WITH_USERINFO[1]})
    with pytest.raises(PolicyError, match="user name or password") as caught:
        open_profile(tmp_path / "data", policy_sources=PolicySources(files=(path,)))
    assert "user@" not in str(caught.value)
    assert not database(tmp_path / "data").exists()


def test_an_address_an_earlier_version_kept_with_a_password_is_neither_used_nor_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = open_profile(tmp_path)
    p.close()
    with sqlite3.connect(database(tmp_path)) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO setting (key, value) VALUES ('api_directory_url', ?)",
            (json.dumps(WITH_USERINFO[0]),),
        )
    conn.close()
    p = open_profile(tmp_path)
    try:
        assert p.settings.api_directory_url is None
    finally:
        p.close()
    assert main(["--data-dir", str(tmp_path), "settings", "list"]) == 0
    assert PASSWORD not in capsys.readouterr().out
    bundle = tmp_path / "diag.zip"
    assert main(["--data-dir", str(tmp_path), "diagnostics", "--output", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as z:
        assert all(PASSWORD.encode() not in z.read(n) for n in z.namelist())
