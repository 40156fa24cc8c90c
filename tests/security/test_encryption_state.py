"""Whether local data is encrypted is kept beside the key in the keyring: no row written into the
database can switch it off, only an explicit action of the user. Without a keyring, a real
profile writes nothing in clear unless the user allowed it, and says so."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from agent.api.facade import Agent, AgentOptions
from agent.profile import open_profile
from agent.security.at_rest import scan
from agent.security.encryption import Protection
from agent.security.errors import ClearStorageRefusedError, SecurityError
from agent.security.sealing import SEALED_V1
from agent.settings import SettingsError
from agent.store.models import CachedEntity
from tests.security.helpers import TITLE, fill, raw_blobs, snapshot
from tests.security.keyring_helpers import database, service


def write_row(data_dir: Path, key: str, value: object) -> None:
    """What anyone who can write the file can do: one row in the settings table."""
    conn = sqlite3.connect(database(data_dir))
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )
    conn.close()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.parametrize(("row", "value"), [("encrypt_at_rest", False), ("demo_mode", True)])
def test_a_row_in_the_settings_table_cannot_decrypt_the_data(
    tmp_path: Path, row: str, value: object
) -> None:
    p = open_profile(tmp_path, "default")
    fill(p)
    before = snapshot(p)
    p.close()
    write_row(tmp_path, row, value)
    p = open_profile(tmp_path, "default")
    try:
        state = scan(p.store)
        assert state.plain_rows == 0 and state.sealed_rows >= 9
        assert p.at_rest is not None and p.at_rest.enabled
        assert p.encryption.protection is Protection.ENCRYPTED
        assert snapshot(p) == before
    finally:
        p.close()
    assert all(b[0] == SEALED_V1 for b in raw_blobs(database(tmp_path)))


def test_demo_mode_and_encrypt_at_rest_are_no_longer_settings() -> None:
    from agent.settings import Settings, validate

    names = {f for f in Settings.__dataclass_fields__}
    assert "demo_mode" not in names and "encrypt_at_rest" not in names
    with pytest.raises(SettingsError, match="keys decrypt"):
        validate("encrypt_at_rest", False)
    with pytest.raises(SettingsError, match="--demo"):
        validate("demo_mode", True)


async def test_turning_encryption_off_needs_consent_and_is_kept_in_the_keyring(
    tmp_path: Path,
) -> None:
    agent = await Agent.open(AgentOptions(data_dir=tmp_path))
    try:
        await agent.store.awrite(
            lambda: CachedEntity.create(
                entity_type="Tickets", entity_id=1, data={"title": TITLE}, fetched_at=1.0
            )
        )
        with pytest.raises(SecurityError, match="store_in_clear"):
            await agent.set_encryption(False)
        assert agent.profile.at_rest is not None and agent.profile.at_rest.enabled
        state = await agent.set_encryption(False, store_in_clear=True)
        assert state.protection is Protection.OFF
        assert (await agent.status()).encryption.protection is Protection.OFF
    finally:
        await agent.close()
    assert keyring.get_password(service(tmp_path), "encryption") == "off"
    assert any(TITLE.encode() in b for b in raw_blobs(database(tmp_path)))
    p = open_profile(tmp_path, "default")  # the choice holds at the next start
    try:
        assert not p.at_rest.enabled and p.encryption.protection is Protection.OFF
    finally:
        p.close()
    keyring.delete_password(service(tmp_path), "encryption")  # no choice recorded: encrypted
    p = open_profile(tmp_path, "default")
    try:
        assert p.at_rest.enabled and scan(p.store).plain_rows == 0
    finally:
        p.close()


async def test_turning_encryption_on_again_encrypts_and_records_it(tmp_path: Path) -> None:
    agent = await Agent.open(AgentOptions(data_dir=tmp_path))
    try:
        await agent.set_encryption(False, store_in_clear=True)
        fill(agent.profile)
        state = await agent.set_encryption(True)
        assert state.protection is Protection.ENCRYPTED and state.key_created_at is not None
        assert scan(agent.store).plain_rows == 0
    finally:
        await agent.close()
    assert keyring.get_password(service(tmp_path), "encryption") == "on"


def test_without_a_keyring_nothing_is_written_in_clear(tmp_path: Path, no_keyring: None) -> None:
    p = open_profile(tmp_path, "default")
    try:
        assert p.encryption.protection is Protection.NO_KEYRING
        with pytest.raises(ClearStorageRefusedError, match="--allow-unencrypted"):
            fill(p)
        assert p.store.read(lambda: CachedEntity.select().count()) == 0
        assert "keyring" in p.encryption.describe(0.0)
    finally:
        p.close()
    assert raw_blobs(database(tmp_path)) == []


def test_without_a_keyring_the_user_may_allow_clear_storage(
    tmp_path: Path, no_keyring: None
) -> None:
    p = open_profile(tmp_path, "default", allow_unencrypted=True)
    try:
        fill(p)
        assert p.encryption.protection is Protection.CLEAR_NO_KEYRING
        assert "not encrypted" in p.encryption.describe(0.0)
    finally:
        p.close()
    p = open_profile(tmp_path, "default")  # the consent is given per start, not stored
    try:
        assert p.encryption.protection is Protection.NO_KEYRING
        assert snapshot(p)["overlay"] == [("title", TITLE)]  # what is there still reads
        with pytest.raises(ClearStorageRefusedError):
            fill(p)
    finally:
        p.close()


async def test_without_a_keyring_the_agent_opens_and_says_why_it_cannot_sync(
    tmp_path: Path, no_keyring: None
) -> None:
    agent = await Agent.open(AgentOptions(data_dir=tmp_path))
    try:
        status = await agent.status()
        assert not status.signed_in and "keyring" in status.reason
        assert status.encryption is not None
        assert status.encryption.protection is Protection.NO_KEYRING
        assert await agent.queue_page() is not None  # local reads work
        await agent.sign_out()  # nothing kept in a keyring: nothing to forget, no error
        await agent.sign_out(wipe_local_data=True)
    finally:
        await agent.close()


def test_encrypted_data_without_a_keyring_is_refused_at_open(tmp_path: Path) -> None:
    p = open_profile(tmp_path, "default")
    fill(p)
    p.close()
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        from agent.security.errors import DataKeyUnavailableError

        for allowed in (False, True):
            with pytest.raises(DataKeyUnavailableError, match="keyring"):
                open_profile(tmp_path, "default", allow_unencrypted=allowed)
    finally:
        keyring.set_keyring(previous)


def test_the_demo_profile_stays_unencrypted_and_needs_no_keyring(
    tmp_path: Path, no_keyring: None
) -> None:
    p = open_profile(tmp_path, "demo", demo=True)
    try:
        fill(p)
        assert p.encryption.protection is Protection.DEMO
    finally:
        p.close()
