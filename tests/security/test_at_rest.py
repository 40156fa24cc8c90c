"""Encryption at rest of a real profile: the key in the keyring, switching, rotation, wrong keys."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from agent.profile import Profile, open_profile
from agent.security import at_rest
from agent.security.at_rest import rotate_data_key, scan
from agent.security.errors import DataKeyMissingError, DataKeyUnavailableError, WrongDataKeyError
from agent.security.keys import DATA_KEY, NEXT_DATA_KEY, DataKeyVault
from agent.security.sealing import SEALED_V1, key_id, new_data_key
from agent.store.codec import JsonCodec, get_codec
from agent.store.models import CachedEntity
from tests.security.helpers import NOTE, TITLE, file_digests, fill, raw_blobs, snapshot
from tests.security.keyring_helpers import service


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Profile]:
    profile = open_profile(tmp_path, "default")
    try:
        yield profile
    finally:
        profile.close()


def reopen(tmp_path: Path, name: str = "default") -> Profile:
    return open_profile(tmp_path, name)


def stored_key(data_dir: Path) -> bytes | None:
    text = keyring.get_password(service(data_dir), DATA_KEY)
    return None if text is None else base64.b64decode(text)


def test_first_open_creates_a_random_256_bit_key_in_the_keyring(
    opened: Profile, tmp_path: Path
) -> None:
    key = stored_key(tmp_path)
    assert key is not None and len(key) == 32
    assert opened.at_rest is not None and opened.at_rest.enabled
    assert keyring.get_password("field-sync-autotask/default", DATA_KEY) is None


def test_every_payload_column_is_sealed_on_disk(opened: Profile, tmp_path: Path) -> None:
    fill(opened)
    opened.store.checkpoint()
    blobs = raw_blobs(opened.paths.database)
    assert len(blobs) >= 9
    assert all(b[0] == SEALED_V1 for b in blobs)
    assert not any(TITLE.encode() in b or NOTE.encode() in b for b in blobs)
    assert snapshot(opened)["overlay"] == [("title", TITLE)]


def test_values_survive_closing_and_reopening(tmp_path: Path) -> None:
    profile = reopen(tmp_path)
    fill(profile)
    before = snapshot(profile)
    profile.close()
    assert isinstance(get_codec(), JsonCodec)  # closing stops using the profile's key
    profile = reopen(tmp_path)
    try:
        assert snapshot(profile) == before
    finally:
        profile.close()


def test_a_different_key_is_refused_and_the_database_is_untouched(tmp_path: Path) -> None:
    profile = reopen(tmp_path)
    fill(profile)
    folder = profile.paths.profile_dir
    profile.close()
    before = file_digests(folder)
    keyring.set_password(service(tmp_path), DATA_KEY, base64.b64encode(new_data_key()).decode())
    with pytest.raises(WrongDataKeyError, match="does not open") as caught:
        reopen(tmp_path)
    assert "Nothing was changed" in str(caught.value)
    assert file_digests(folder) == before


def test_a_missing_key_is_refused_and_the_database_is_untouched(tmp_path: Path) -> None:
    profile = reopen(tmp_path)
    fill(profile)
    folder = profile.paths.profile_dir
    profile.close()
    before = file_digests(folder)
    keyring.delete_password(service(tmp_path), DATA_KEY)
    with pytest.raises(DataKeyMissingError, match="no longer holds its key"):
        reopen(tmp_path)
    assert file_digests(folder) == before
    assert keyring.get_password(service(tmp_path), DATA_KEY) is None  # no new key slipped in


def test_a_damaged_keyring_entry_is_reported_not_replaced(tmp_path: Path) -> None:
    reopen(tmp_path).close()
    keyring.set_password(service(tmp_path), DATA_KEY, "not base64!")
    with pytest.raises(DataKeyUnavailableError, match="damaged"):
        reopen(tmp_path)
    assert keyring.get_password(service(tmp_path), DATA_KEY) == "not base64!"


def test_turning_encryption_off_decrypts_in_place_and_on_encrypts(opened: Profile) -> None:
    fill(opened)
    before = snapshot(opened)
    assert opened.at_rest is not None
    changed = opened.at_rest.set_enabled(False)
    assert changed >= 9
    assert opened.vault.encryption_chosen() is False
    assert all(b[0] != SEALED_V1 for b in raw_blobs(opened.paths.database))
    assert snapshot(opened) == before
    opened.at_rest.set_enabled(True)
    assert opened.vault.encryption_chosen() is True
    assert all(b[0] == SEALED_V1 for b in raw_blobs(opened.paths.database))
    assert snapshot(opened) == before


def test_a_choice_recorded_in_the_keyring_takes_effect_at_the_next_open(tmp_path: Path) -> None:
    profile = reopen(tmp_path)
    fill(profile)
    profile.vault.record_encryption(False)
    before = snapshot(profile)
    profile.close()
    profile = reopen(tmp_path)
    try:
        assert scan(profile.store).sealed_rows == 0
        assert snapshot(profile) == before
    finally:
        profile.close()


def test_plain_data_from_before_encryption_is_encrypted_at_open(tmp_path: Path) -> None:
    profile = reopen(tmp_path)
    assert profile.at_rest is not None
    profile.at_rest.set_enabled(False)
    fill(profile)
    before = snapshot(profile)
    profile.vault.record_encryption(True)
    profile.close()
    profile = reopen(tmp_path)
    try:
        state = scan(profile.store)
        assert state.plain_rows == 0 and state.sealed_rows >= 9
        assert snapshot(profile) == before
    finally:
        profile.close()


def test_rotation_reencrypts_everything_and_forgets_the_old_key(
    opened: Profile, tmp_path: Path
) -> None:
    fill(opened)
    before = snapshot(opened)
    old = stored_key(tmp_path)
    assert old is not None
    changed = rotate_data_key(opened.store, opened.vault)
    new = stored_key(tmp_path)
    assert new is not None and new != old and changed >= 9
    assert keyring.get_password(service(tmp_path), NEXT_DATA_KEY) is None
    assert scan(opened.store).key_ids == {key_id(new)}
    assert snapshot(opened) == before


def test_a_rotation_that_fails_midway_leaves_everything_on_the_old_key(
    opened: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(opened)
    before = snapshot(opened)
    old = stored_key(tmp_path)
    real = at_rest._rewrite_all

    def crash(conn, codec):  # type: ignore[no-untyped-def]
        real(conn, codec)  # every row rewritten with the new key, then the pass dies
        raise OSError("power cut")

    monkeypatch.setattr(at_rest, "_rewrite_all", crash)
    with pytest.raises(OSError):
        rotate_data_key(opened.store, opened.vault)
    monkeypatch.undo()
    assert stored_key(tmp_path) == old
    assert old is not None and scan(opened.store).key_ids == {key_id(old)}
    assert snapshot(opened) == before
    opened.store.write(  # later writes still use the old key
        lambda: CachedEntity.create(entity_type="Tickets", entity_id=999, data={}, fetched_at=2.0)
    )
    assert scan(opened.store).key_ids == {key_id(old)}
    opened.close()
    profile = reopen(tmp_path)
    try:
        # the unused key is dropped
        assert keyring.get_password(service(tmp_path), NEXT_DATA_KEY) is None
        assert stored_key(tmp_path) == old
    finally:
        profile.close()


def test_a_crash_after_the_rotation_committed_adopts_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = reopen(tmp_path)
    fill(profile)
    before = snapshot(profile)
    old = stored_key(tmp_path)
    real_save = DataKeyVault.save

    def save(self: DataKeyVault, key: bytes, entry: str = DATA_KEY) -> None:
        if entry == DATA_KEY and key != old:
            raise SystemExit("the process died before the keyring was updated")
        real_save(self, key, entry)

    monkeypatch.setattr(DataKeyVault, "save", save)
    with pytest.raises(SystemExit):
        rotate_data_key(profile.store, profile.vault)
    monkeypatch.undo()
    profile.close()
    assert stored_key(tmp_path) == old
    assert keyring.get_password(service(tmp_path), NEXT_DATA_KEY)
    profile = reopen(tmp_path)
    try:
        new = stored_key(tmp_path)
        assert new != old
        assert keyring.get_password(service(tmp_path), NEXT_DATA_KEY) is None
        assert new is not None and scan(profile.store).key_ids == {key_id(new)}
        assert snapshot(profile) == before
    finally:
        profile.close()


def test_the_demo_profile_runs_without_encryption(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "demo", demo=True)
    try:
        fill(profile)
        assert profile.at_rest is not None and not profile.at_rest.enabled
        assert all(b[0] != SEALED_V1 for b in raw_blobs(profile.paths.database))
        assert keyring.get_password(profile.vault.service, DATA_KEY) is None
    finally:
        profile.close()
