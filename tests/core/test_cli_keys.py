"""`autotask-agent keys ...` and the key's age in `status`: rotation, switching encryption with
explicit consent, forgetting the entries an earlier version named after the profile, and one
clear line when there is nothing to do it with."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from agent.cli import main
from agent.profile import open_profile
from agent.security.at_rest import scan
from tests.security.helpers import fill
from tests.security.keyring_helpers import data_key, legacy_service, make_legacy, service

DAY = 86_400.0


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def status(capsys: pytest.CaptureFixture[str], data: Path) -> dict[str, object]:
    code, out, err = run(capsys, data, "status", "--json")
    assert code == 0, err
    info: dict[str, object] = json.loads(out)
    return info


@pytest.fixture
def data(tmp_path: Path) -> Path:
    p = open_profile(tmp_path, "default")
    fill(p)
    p.close()
    return tmp_path


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_keys_rotate_replaces_the_key_and_status_shows_its_age(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created = float(keyring.get_password(service(data), "data_key_created") or 0)
    assert abs(created - time.time()) < 60
    keyring.set_password(service(data), "data_key_created", str(time.time() - 40 * DAY))
    info = status(capsys, data)
    assert info["encryption"] == "encrypted"
    assert info["data_key_age_days"] == 40
    old = data_key(service(data))

    code, out, err = run(capsys, data, "keys", "rotate")
    assert code == 0, err
    assert "re-encrypted" in out
    new = data_key(service(data))
    assert new is not None and new != old
    info = status(capsys, data)
    assert info["data_key_age_days"] == 0
    code, out, _ = run(capsys, data, "status")
    assert "data key" in out and "encrypted" in out


def test_keys_decrypt_needs_explicit_consent_and_keys_encrypt_undoes_it(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, data, "keys", "decrypt")
    assert code == 2 and "--yes-store-in-clear" in err
    assert keyring.get_password(service(data), "encryption") is None
    code, _, err = run(capsys, data, "keys", "decrypt", "--yes-store-in-clear")
    assert code == 0, err
    assert status(capsys, data)["encryption"] == "off"
    assert keyring.get_password(service(data), "encryption") == "off"
    code, _, err = run(capsys, data, "keys", "rotate")
    assert code == 2 and "off" in err and "keys encrypt" in err
    code, _, err = run(capsys, data, "keys", "encrypt")
    assert code == 0, err
    assert status(capsys, data)["encryption"] == "encrypted"
    p = open_profile(data, "default")
    try:
        assert scan(p.store).plain_rows == 0
    finally:
        p.close()


def test_encrypted_data_without_a_keyring_is_one_line_for_every_command(
    data: Path, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    for argv in (["keys", "rotate"], ["keys", "encrypt"], ["status"]):
        code, _, err = run(capsys, data, *argv)
        assert code == 2 and "keyring" in err and len(err.strip().splitlines()) == 1, err


def test_status_and_keys_say_what_happens_without_a_keyring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    info = status(capsys, tmp_path)
    assert info["encryption"] == "no_keyring"
    assert "--allow-unencrypted" in str(info["encryption_detail"])
    code, _, err = run(capsys, tmp_path, "keys", "rotate")
    assert code == 2 and "keyring" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, tmp_path, "--allow-unencrypted", "status", "--json")
    assert code == 0 and json.loads(out)["encryption"] == "clear_no_keyring"


def test_keys_rotate_on_the_demo_profile_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, tmp_path, "--demo", "keys", "rotate")
    assert code == 2 and "demo" in err and "never encrypted" in err


def test_keys_forget_legacy_removes_the_name_based_entries_when_confirmed(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_legacy(data)
    code, _, err = run(capsys, data, "keys", "forget-legacy")
    assert code == 2 and "--yes" in err
    assert keyring.get_password(legacy_service(), "data_key") is not None
    code, _, err = run(capsys, data, "keys", "forget-legacy", "--yes")
    assert code == 0, err
    assert keyring.get_password(legacy_service(), "data_key") is None
    assert status(capsys, data)["encryption"] == "encrypted"
