"""The command line and the policy: `policy check FILE` prints what a file would set (secrets
masked) or every fault with exit status 2; `policy show` tells what is in effect and where from;
`settings set` of a locked setting is one clear line and changes nothing; `settings list` says
which settings the policy sets; `keys decrypt` is refused when the policy requires encryption."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agent.cli import main
from tests.config.helpers import CODE, FULL, REDIS_PASSWORD, SECRET, use_policy, write_policy
from tests.core.cli_run import cli
from tests.security.keyring_helpers import database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_prints_what_a_policy_sets_with_secrets_masked(tmp_path: Path, capsys) -> None:
    path = write_policy(tmp_path / "policy.json", FULL)
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 0 and err == ""
    assert "a valid policy" in out
    for key in FULL:
        assert key in out
    assert FULL["api_user"] in out and "0.25" in out and "300" in out and "true" in out
    assert "rediss://fleet:********@redis.office.example:6380/0" in out
    assert "setting sync_interval_s, locked" in out
    for secret in (SECRET, CODE, REDIS_PASSWORD):
        assert secret not in out


def test_check_lists_every_fault_and_exits_2(tmp_path: Path, capsys) -> None:
    path = write_policy(
        tmp_path / "policy.json",
        {
            "colour": "blue",
            "sync_interval_s": "60",
            "directory": "http://directory.example/",
            "redis_url": "redis://redis.office.example:6379/0",
            "api_secret": SECRET,
        },
    )
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 4 and all(line.startswith(f"error: {path}: ") for line in lines)
    assert "unknown key 'colour'" in err and "sync_interval_s must be a whole number" in err
    assert "https://" in err and "rediss://" in err
    assert SECRET not in err


def test_check_of_a_missing_or_broken_file(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "policy", "check", str(tmp_path / "nope.json"))
    assert code == 2 and "cannot be read" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"quota_share": 0.5,}')
    code, _, err = run(capsys, "policy", "check", str(broken))
    assert code == 2 and "not valid JSON at line 1" in err


def test_show_tells_the_policy_in_effect_and_where_it_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code, out, _ = run(capsys, "policy", "show")
    assert code == 0 and "No administrator's policy" in out
    path = write_policy(tmp_path / "policy.json", {"quota_share": 0.2, "api_secret": SECRET})
    use_policy(monkeypatch, [path])
    code, out, _ = run(capsys, "policy", "show")
    assert code == 0 and "quota_share" in out and str(path) in out and SECRET not in out


def test_settings_set_of_a_locked_setting_is_one_line_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    path = write_policy(tmp_path / "policy.json", {"sync_interval_s": 300})
    use_policy(monkeypatch, [path])
    data = tmp_path / "data"
    code, out, err = run(
        capsys, "--data-dir", str(data), "settings", "set", "sync_interval_s", "30"
    )
    assert code == 2 and len(err.splitlines()) == 1
    assert "sync_interval_s is set by your administrator's policy" in err and str(path) in err
    conn = sqlite3.connect(database(data))
    try:
        assert conn.execute("SELECT * FROM setting WHERE key = 'sync_interval_s'").fetchall() == []
    finally:
        conn.close()
    code, out, err = run(capsys, "--data-dir", str(data), "settings", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "sync_interval_s" in line)
    assert "300" in line and "set by your administrator's policy" in line


def test_keys_decrypt_is_refused_when_the_policy_requires_encryption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    path = write_policy(tmp_path / "policy.json", {"encryption_required": True})
    use_policy(monkeypatch, [path])
    data = tmp_path / "data"
    code, _, err = run(capsys, "--data-dir", str(data), "keys", "decrypt", "--yes-store-in-clear")
    assert code == 2 and "requires local data to be encrypted" in err
    code, out, _ = run(capsys, "--data-dir", str(data), "status", "--json")
    info = json.loads(out)
    assert code == 0 and info["encryption"] == "encrypted"
    assert info["policy"] == f"encryption_required (from {path})"


def test_a_redis_password_from_the_command_line_is_kept_in_the_keyring_only(
    tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data"
    url = f"rediss://tech:{REDIS_PASSWORD}@office.example:6380/0"
    code, out, err = run(capsys, "--data-dir", str(data), "settings", "set", "redis_url", url)
    assert code == 0, err
    assert "rediss://tech@office.example:6380/0" in out
    assert REDIS_PASSWORD not in out + err
    db = database(data)
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert REDIS_PASSWORD.encode() not in stored


@pytest.mark.socket
def test_the_real_command_checks_a_policy(tmp_path: Path) -> None:
    good = write_policy(tmp_path / "good.json", {"quota_share": 0.4, "api_secret": SECRET})
    ran = cli(tmp_path / "data", "policy", "check", str(good), demo=False)
    assert ran.code == 0 and "quota_share" in ran.out and SECRET not in ran.out + ran.err
    bad = write_policy(tmp_path / "bad.json", {"quota_share": "most"})
    ran = cli(tmp_path / "data", "policy", "check", str(bad), demo=False)
    assert ran.code == 2 and "quota_share must be a number" in ran.err
    assert "Traceback" not in ran.err


@pytest.mark.socket
def test_without_a_keyring_a_redis_password_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ran = cli(data, "settings", "set", "redis_url", "rediss://tech:s3cr3t-pw@office:6380/0")
    line = ran.refused_in_one_line()
    assert "keyring" in line and "s3cr3t-pw" not in ran.out + ran.err


@pytest.mark.parametrize("command", ["check", "show"])
def test_what_encryption_required_means_is_said_for_true_and_for_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, command: str
) -> None:
    said = {}
    for flag in (True, False):
        path = write_policy(tmp_path / f"{flag}.json", {"encryption_required": flag})
        use_policy(monkeypatch, [path])
        named = [str(path)] if command == "check" else []
        code, out, err = run(capsys, "policy", command, *named)
        assert code == 0, err
        said[flag] = next(x for x in out.splitlines() if x.lstrip().startswith("encryption_req"))
    assert "= true" in said[True] and "local data always encrypted" in said[True]
    assert "= false" in said[False]
    assert "always encrypted" not in said[False] and "encrypted" in said[False]
    assert "the technician may" in said[False]


@pytest.mark.parametrize("command", [["check", "policy.json"], ["show"]])
def test_a_policy_command_writes_no_log_into_the_users_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, command: list[str]
) -> None:
    """Even an unexpected failure of a check leaves the user's folders alone: its details go to
    a file of their own in the temporary folder."""
    import logging

    from agent import logs
    from agent.config import sources

    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a new process
    monkeypatch.setitem(logs._state, "log_file", None)

    def broken(*_args: object) -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(sources, "read_file", broken)
    monkeypatch.setattr(sources, "load", broken)
    data = tmp_path / "data"
    monkeypatch.setenv("FIELD_SYNC_DATA_DIR", str(data))
    path = write_policy(tmp_path / "policy.json", {"quota_share": 0.5})
    argv = ["policy", command[0], *([str(path)] if len(command) > 1 else [])]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "an unexpected failure (RuntimeError: a defect)" in err
    assert not data.exists()


def test_check_says_when_nothing_keeps_a_team_within_its_share(tmp_path: Path, capsys) -> None:
    bare = write_policy(tmp_path / "bare.json", {"quota_share": 0.2, "api_secret": SECRET})
    code, out, _ = run(capsys, "policy", "check", str(bare))
    assert code == 0 and "neither fleet_size nor redis_url is set" in out
    sized = write_policy(tmp_path / "sized.json", {"quota_share": 0.2, "fleet_size": 12})
    code, out, _ = run(capsys, "policy", "check", str(sized))
    assert code == 0 and "fleet_size" in out and "neither" not in out
