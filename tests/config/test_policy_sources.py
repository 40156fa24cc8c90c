"""Reading the administrator's policy: every key checked with a message naming it, a JSON file,
the Windows registry (through a reader standing in for winreg) and a macOS managed preferences
plist, combined with the management channel first, then the system file, then the file beside
the installation."""

from __future__ import annotations

import plistlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agent.config import sources
from agent.config.policy import PolicyError, parse
from agent.config.sources import PolicySources, load, read_file, system_policy_file
from tests.config.helpers import CODE, FULL, REDIS_PASSWORD, SECRET, write_policy


def test_a_full_policy_is_read_and_keeps_no_secret(tmp_path: Path) -> None:
    policy, secrets = read_file(write_policy(tmp_path / "policy.json", FULL))
    assert policy.locked_settings == {
        "api_directory_url": (FULL["directory"], str(tmp_path / "policy.json")),
        "quota_share": (0.25, str(tmp_path / "policy.json")),
        "sync_interval_s": (300, str(tmp_path / "policy.json")),
        "redis_url": ("rediss://fleet@redis.office.example:6380/0", str(tmp_path / "policy.json")),
    }
    assert policy.credential_entries == {"username", "secret", "integration_code"}
    assert policy.encryption_required and policy.api_user == FULL["api_user"]
    held = repr(policy) + repr(policy.values) + repr(secrets)
    for secret in (SECRET, CODE, REDIS_PASSWORD):
        assert secret not in held
    assert (secrets.api_secret, secrets.integration_code) == (SECRET, CODE)
    assert secrets.redis_password == REDIS_PASSWORD


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"sync_interval": 60}, "unknown key 'sync_interval'"),
        ({"Quota_Share": 0.5}, "keys are lower case: quota_share"),
        ({"sync_interval_s": "60"}, "sync_interval_s must be a whole number"),
        ({"sync_interval_s": 5}, "between 10 and 3600"),
        ({"sync_interval_s": 60.5}, "whole number"),
        ({"quota_share": True}, "quota_share must be a number"),
        ({"quota_share": 2}, "between 0.05 and 1.0"),
        ({"encryption_required": "yes"}, "true or false"),
        ({"encryption_required": 1}, "true or false"),
        ({"api_secret": ""}, "api_secret is empty"),
        ({"api_user": 42}, "api_user must be text"),
        ({"api_user": "two words"}, "spaces"),
        ({"directory": "http://directory.example/"}, "https://"),
        ({"directory": "not a url"}, "directory"),
        ({"redis_url": "redis://redis.office.example:6379"}, "rediss://"),
        ({"redis_url": "rediss://r.example/0?ssl_cert_reqs=none"}, "ssl_cert_reqs"),
        ({"redis_url": None}, "redis_url must be text"),
    ],
)
def test_a_bad_key_is_refused_naming_it(values: dict[str, Any], said: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(values, "policy.json")
    assert any(said in problem for problem in caught.value.problems), caught.value.problems
    assert "policy.json" in str(caught.value)


def test_every_fault_of_a_file_is_listed_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        parse({"colour": 1, "sync_interval_s": 1, "quota_share": "x"}, "p.json")
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"{not json", "not valid JSON at line 1"),
        (b"[1, 2]", "a JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"quota_share": NaN}', "NaN"),
    ],
)
def test_a_file_that_is_not_a_policy_says_why(tmp_path: Path, content: bytes, said: str):
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    with pytest.raises(PolicyError) as caught:
        read_file(path)
    assert said in caught.value.problems[0] and str(path) in str(caught.value)


def test_a_managed_preferences_plist_is_read(tmp_path: Path) -> None:
    path = tmp_path / "com.fieldsync.FieldSync.plist"
    path.write_bytes(plistlib.dumps({"quota_share": 0.3, "encryption_required": True}))
    policy, _ = read_file(path)
    assert policy.values == {"quota_share": 0.3, "encryption_required": True}


class FakeRegistry:
    """The values of HKLM keys, as winreg would give them (REG_SZ as str, REG_DWORD as int)."""

    def __init__(self, keys: Mapping[str, Mapping[str, Any]]) -> None:
        self.keys = keys
        self.asked: list[str] = []

    def __call__(self, path: str) -> Mapping[str, Any] | None:
        self.asked.append(path)
        return self.keys.get(path)


def test_the_registry_gives_numbers_as_text_flags_as_dwords_and_names_in_any_case(
    tmp_path: Path,
) -> None:
    registry = FakeRegistry(
        {
            r"SOFTWARE\Policies\FieldSync": {
                "": "the key's unnamed default value",
                "Quota_Share": "0.2",
                "sync_interval_s": 600,
                "encryption_required": 1,
                "api_user": "api@office.example",
            }
        }
    )
    policy, _ = load(PolicySources(registry=registry))
    assert registry.asked == [r"SOFTWARE\Policies\FieldSync"]
    assert policy.values == {
        "quota_share": 0.2,
        "sync_interval_s": 600,
        "encryption_required": True,
        "api_user": "api@office.example",
    }
    assert policy.origin("quota_share") == r"HKLM\SOFTWARE\Policies\FieldSync"


def test_a_bad_registry_value_names_the_key(tmp_path: Path) -> None:
    registry = FakeRegistry({r"SOFTWARE\Policies\FieldSync": {"encryption_required": 7}})
    with pytest.raises(PolicyError, match="encryption_required"):
        load(PolicySources(registry=registry))


def test_the_management_channel_wins_then_the_system_file_then_the_installation(
    tmp_path: Path,
) -> None:
    system = write_policy(
        tmp_path / "etc" / "policy.json", {"quota_share": 0.3, "sync_interval_s": 90}
    )
    beside = write_policy(
        tmp_path / "app" / "policy.json",
        {
            "quota_share": 0.9,
            "sync_interval_s": 900,
            "api_secret": "beside",
            "encryption_required": True,
        },
    )
    registry = FakeRegistry({r"SOFTWARE\Policies\FieldSync": {"quota_share": "0.1"}})
    policy, secrets = load(PolicySources(files=(system, beside), registry=registry))
    assert policy.values["quota_share"] == 0.1
    assert policy.values["sync_interval_s"] == 90
    assert policy.encryption_required and secrets.api_secret == "beside"
    assert policy.origin("sync_interval_s") == str(system)
    assert policy.origin("encryption_required") == str(beside)


def test_no_source_means_no_policy(tmp_path: Path) -> None:
    policy, _ = load(PolicySources(files=(tmp_path / "missing.json",)))
    assert policy.empty and policy.locked_settings == {}


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        (
            "win32",
            {"ProgramData": r"D:\ProgramData"},
            Path(r"D:\ProgramData") / "FieldSync" / "policy.json",
        ),
        ("darwin", {}, Path("/Library/Application Support/FieldSync/policy.json")),
        ("linux", {}, Path("/etc/field-sync/policy.json")),
    ],
)
def test_the_system_location_of_each_platform(
    platform: str, env: dict[str, str], expected: Path
) -> None:
    assert system_policy_file(platform, env) == expected


def test_this_computers_sources_per_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(sources.sys, "frozen", True, raising=False)
    monkeypatch.setattr(sources.sys, "executable", str(tmp_path / "FieldSync" / "FieldSync.exe"))
    windows = PolicySources.for_this_computer("win32")
    assert windows.registry is sources.winreg_reader and windows.managed_plist is None
    assert windows.files[-1] == (tmp_path / "FieldSync" / "policy.json").resolve()
    mac = PolicySources.for_this_computer("darwin")
    assert mac.managed_plist == Path("/Library/Managed Preferences/com.fieldsync.FieldSync.plist")
    assert mac.registry is None
    linux = PolicySources.for_this_computer("linux")
    assert linux.files[0] == Path("/etc/field-sync/policy.json")


def test_without_winreg_the_registry_has_no_policy() -> None:
    assert sources.winreg_reader(sources.REGISTRY_KEY) is None  # not Windows: no key
