"""Sign out and wipe: only when confirmed; credentials, records and the old key are gone."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from agent.credentials import ApiSecretBundle
from agent.profile import Profile, open_profile
from agent.security.errors import SealedPayloadError, WipeNotConfirmedError
from agent.security.keys import DATA_KEY
from agent.security.sealing import SealingCodec
from agent.security.signout import sign_out_and_wipe
from agent.store import audit
from agent.store.models import AuditEvent, CachedEntity
from tests.security.helpers import fill, raw_blobs, snapshot
from tests.security.keyring_helpers import service


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    p.credentials.save(ApiSecretBundle("tech@example.com", "wipe-secret-123", "WIPECODE123"))
    fill(p)
    p.store.write(lambda: audit.append("edited", at=1.0, detail={"title": "x"}))
    yield p
    p.close()


def test_without_confirmation_nothing_is_touched(profile: Profile) -> None:
    before = snapshot(profile)
    with pytest.raises(WipeNotConfirmedError, match="confirmation"):
        sign_out_and_wipe(profile, confirmed=False)
    assert profile.credentials.has_credentials()
    assert snapshot(profile) == before


def test_a_confirmed_wipe_removes_credentials_records_audit_and_the_old_key(
    profile: Profile, tmp_path: Path
) -> None:
    old_key = base64.b64decode(keyring.get_password(service(tmp_path), DATA_KEY) or "")
    stolen = raw_blobs(profile.paths.database)  # a copy someone took before the wipe
    report = sign_out_and_wipe(profile, confirmed=True)
    assert report.credentials_removed and report.audit_removed and report.data_key_replaced
    assert not profile.credentials.has_credentials()
    assert snapshot(profile) == {"cached": [], "overlay": [], "conflict": []}
    assert profile.store.read(lambda: AuditEvent.select().count()) == 0
    new_key = base64.b64decode(keyring.get_password(service(tmp_path), DATA_KEY) or "")
    assert len(new_key) == 32 and new_key != old_key
    with pytest.raises(SealedPayloadError):
        SealingCodec([new_key]).decode(stolen[0], "cached_entity.data")
    # The profile stays usable, and opens again with the new key.
    profile.store.write(
        lambda: CachedEntity.create(entity_type="Tickets", entity_id=1, data={"a": 1}, fetched_at=1)
    )
    profile.close()
    again = open_profile(tmp_path, "default")
    try:
        assert again.store.read(lambda: [r.data for r in CachedEntity.select()]) == [{"a": 1}]
    finally:
        again.close()


def test_the_audit_trail_can_be_kept(profile: Profile) -> None:
    sign_out_and_wipe(profile, confirmed=True, keep_audit=True)
    assert profile.store.read(lambda: AuditEvent.select().count()) == 1


def test_backups_and_corrupt_copies_are_removed_only_when_asked(profile: Profile) -> None:
    folder = profile.paths.database.parent
    leftovers = [
        folder / "agent.sqlite3.v2-20260101T000000.bak",
        folder / "agent.sqlite3.corrupt-20260101T000000",
        folder / "agent.sqlite3.corrupt-20260101T000000-wal",
    ]
    unrelated = folder / "notes.txt"
    for path in [*leftovers, unrelated]:
        path.write_bytes(b"old copy")
    sign_out_and_wipe(profile, confirmed=True)
    assert all(p.exists() for p in leftovers)
    report = sign_out_and_wipe(profile, confirmed=True, remove_backups=True)
    assert sorted(report.files_removed) == sorted(leftovers)
    assert not any(p.exists() for p in leftovers)
    assert unrelated.exists() and profile.paths.database.exists()
