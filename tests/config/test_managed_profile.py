"""A policy applied to a real profile: its settings win and cannot be changed, its sign-in and
Redis password are in the keyring and nowhere in the database file, encryption stays on when it
requires, a bad policy stops the start with nothing changed, and the demo profile ignores it.
Checked against the keyring and the database file themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from agent.config.managed import EncryptionRequiredError
from agent.config.policy import PolicyError
from agent.profile import open_profile
from agent.security import control
from agent.security.at_rest import scan
from agent.security.encryption import Protection
from agent.security.errors import SecurityError
from agent.settings import SettingLockedError, SettingsError
from tests.config.helpers import CODE, FULL, REDIS_PASSWORD, SECRET, use_policy, write_policy
from tests.security.helpers import fill
from tests.security.keyring_helpers import database, service


def file_bytes(data: Path, name: str = "default") -> bytes:
    db = database(data, name)
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))


POLICY_VALUES = {
    "sync_interval_s": 300,
    "quota_share": 0.25,
    "redis_url": "rediss://fleet@redis.office.example:6380/0",
    "api_directory_url": FULL["directory"],
}


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_policy(tmp_path / "etc" / "policy.json", FULL)
    use_policy(monkeypatch, [path])
    return path


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_the_policy_settings_win_over_this_computers(tmp_path: Path, monkeypatch, policy_file):
    use_policy(monkeypatch, [])
    data = tmp_path / "data"
    profile = open_profile(data)
    profile.settings_repo.update(sync_interval_s=60, quota_share=0.8, notifications=False)
    profile.close()
    use_policy(monkeypatch, [policy_file])
    profile = open_profile(data)
    try:
        s = profile.settings
        assert (s.sync_interval_s, s.quota_share) == (300, 0.25)
        assert s.api_directory_url == FULL["directory"]
        assert s.redis_url == "rediss://fleet@redis.office.example:6380/0"
        assert s.notifications is False  # not the policy's: this computer's own
        assert profile.settings_repo.stored().sync_interval_s == 60  # kept underneath
    finally:
        profile.close()
    use_policy(monkeypatch, [])  # the policy withdrawn: this computer's own values return
    profile = open_profile(data)
    try:
        assert (profile.settings.sync_interval_s, profile.settings.quota_share) == (60, 0.8)
    finally:
        profile.close()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sync_interval_s", 120),
        ("quota_share", 0.5),
        ("redis_url", None),
        ("api_directory_url", None),
    ],
)
def test_a_locked_setting_cannot_be_changed(tmp_path: Path, policy_file: Path, name, value):
    profile = open_profile(tmp_path / "data")
    try:
        with pytest.raises(SettingLockedError) as caught:
            profile.settings_repo.update(**{name: value})
        assert name in str(caught.value) and str(policy_file) in str(caught.value)
        assert getattr(profile.settings, name) == POLICY_VALUES[name]
        profile.settings_repo.update(notifications=False)  # the others still can
        assert profile.settings.notifications is False
    finally:
        profile.close()


def test_the_sign_in_and_redis_password_go_to_the_keyring_and_nowhere_else(
    tmp_path: Path, policy_file: Path
) -> None:
    data = tmp_path / "data"
    profile = open_profile(data)
    try:
        fill(profile)
        held = repr(profile) + repr(vars(profile)) + repr(profile.policy)
    finally:
        profile.close()
    own = service(data)
    assert keyring.get_password(own, "username") == FULL["api_user"]
    assert keyring.get_password(own, "secret") == SECRET
    assert keyring.get_password(own, "integration_code") == CODE
    assert keyring.get_password(own, "redis_password") == REDIS_PASSWORD
    on_disk = file_bytes(data)
    for secret in (SECRET, CODE, REDIS_PASSWORD):
        assert secret.encode() not in on_disk
        assert secret not in held


def test_a_rotated_secret_in_the_policy_replaces_the_kept_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy_file: Path
) -> None:
    data = tmp_path / "data"
    open_profile(data).close()
    write_policy(policy_file, {**FULL, "api_secret": "rotated-secret-2"})
    open_profile(data).close()
    assert keyring.get_password(service(data), "secret") == "rotated-secret-2"


def test_encryption_required_encrypts_data_kept_in_clear_and_refuses_decrypting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy_file: Path
) -> None:
    data = tmp_path / "data"
    use_policy(monkeypatch, [])
    profile = open_profile(data)
    fill(profile)
    control.set_encryption(profile, False, store_in_clear=True)
    assert scan(profile.store).plain_rows > 0
    profile.close()
    use_policy(monkeypatch, [policy_file])
    profile = open_profile(data)
    try:
        assert profile.protection is Protection.ENCRYPTED
        state = scan(profile.store)
        assert state.plain_rows == 0 and state.sealed_rows > 0
        assert keyring.get_password(service(data), "encryption") == "on"
        with pytest.raises(SecurityError, match="requires local data to be encrypted"):
            control.set_encryption(profile, False, store_in_clear=True)
        assert scan(profile.store).plain_rows == 0
    finally:
        profile.close()


def test_encryption_required_refuses_allow_unencrypted_without_a_keyring(
    tmp_path: Path, policy_file: Path, no_keyring: None
) -> None:
    data = tmp_path / "data"
    with pytest.raises(EncryptionRequiredError, match=str(policy_file)):
        open_profile(data, allow_unencrypted=True)
    assert not database(data).exists()
    profile = open_profile(data)  # without the flag it opens, and keeps nothing in clear
    try:
        assert profile.protection is Protection.NO_KEYRING
    finally:
        profile.close()


def test_a_bad_policy_stops_the_start_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    open_profile(data).close()
    before = file_bytes(data)
    bad = write_policy(tmp_path / "policy.json", {"sync_interval_s": "often"})
    use_policy(monkeypatch, [bad])
    with pytest.raises(PolicyError, match="sync_interval_s") as caught:
        open_profile(data)
    assert str(bad) in str(caught.value) and "policy check" in str(caught.value)
    assert file_bytes(data) == before


def test_the_demo_profile_ignores_the_policy(tmp_path: Path, policy_file: Path) -> None:
    profile = open_profile(tmp_path / "data", "demo", demo=True)
    try:
        assert profile.policy.empty and profile.settings.sync_interval_s == 60
    finally:
        profile.close()


def test_a_redis_password_set_here_goes_to_the_keyring(tmp_path: Path) -> None:
    data = tmp_path / "data"
    profile = open_profile(data)
    try:
        profile.settings_repo.update(redis_url=f"rediss://fleet:{REDIS_PASSWORD}@r.example:6380/0")
        assert profile.settings.redis_url == "rediss://fleet@r.example:6380/0"
        assert profile.settings_repo.redis_connection_url() == (
            f"rediss://fleet:{REDIS_PASSWORD}@r.example:6380/0"
        )
        assert keyring.get_password(service(data), "redis_password") == REDIS_PASSWORD
        assert REDIS_PASSWORD.encode() not in file_bytes(data)
        profile.settings_repo.update(redis_url="rediss://r.example:6380/0")  # no password now
        assert keyring.get_password(service(data), "redis_password") is None
        assert profile.settings_repo.redis_connection_url() == "rediss://r.example:6380/0"
    finally:
        profile.close()


def test_without_a_keyring_a_redis_password_is_refused_and_nothing_kept(
    tmp_path: Path, no_keyring: None
) -> None:
    data = tmp_path / "data"
    profile = open_profile(data, allow_unencrypted=True)
    try:
        with pytest.raises(SettingsError, match="only in the system keyring"):
            profile.settings_repo.update(redis_url="rediss://:pw-secret@r.example/0")
        assert profile.settings.redis_url is None
        profile.settings_repo.update(redis_url="rediss://r.example/0")  # no password: kept
        assert profile.settings.redis_url == "rediss://r.example/0"
    finally:
        profile.close()
    assert b"pw-secret" not in file_bytes(data)


def test_a_password_an_earlier_version_kept_in_the_table_moves_to_the_keyring(
    tmp_path: Path,
) -> None:
    import json

    from agent.store.models import Setting

    data = tmp_path / "data"
    profile = open_profile(data)
    url = f"rediss://:{REDIS_PASSWORD}@r.example/0"
    profile.store.write(lambda: Setting.replace(key="redis_url", value=json.dumps(url)).execute())
    profile.close()
    profile = open_profile(data)
    try:
        assert profile.settings.redis_url == "rediss://r.example/0"
        assert profile.settings_repo.redis_connection_url() == url
    finally:
        profile.close()
    assert keyring.get_password(service(data), "redis_password") == REDIS_PASSWORD
    assert REDIS_PASSWORD.encode() not in file_bytes(data)
