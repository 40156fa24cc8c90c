"""A queued operation's fingerprint (what deduplication compares) is keyed with a secret kept in
the keyring, so the values of a pending edit cannot be guessed from the file by hashing the
candidates (a status 0..49, a priority) beside the entity, kind and target it keeps in clear.
Fingerprints an earlier version wrote are converted at open, so an edit queued before still
deduplicates an identical one queued after."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import keyring

from agent.canonical import canonical_bytes
from agent.clock import FakeClock
from agent.profile import Profile, open_profile
from agent.queue import SQLiteBackend
from agent.queue.operation import NewOperation
from agent.security.signout import sign_out_and_wipe
from agent.store.models import OpKind
from tests.security.keyring_helpers import copy_folder, database, service

TICKET = 4711


def edit(status: int) -> NewOperation:
    return NewOperation(
        OpKind.UPDATE, "Ticket", {"status": status}, {"status": 1}, target_id=TICKET
    )


def queue(profile: Profile, new: NewOperation) -> int:
    return SQLiteBackend(profile.store, FakeClock()).enqueue(new).id


def live(profile: Profile) -> int:
    return SQLiteBackend(profile.store, FakeClock()).count()


def stored_fingerprints(data: Path, name: str = "default") -> dict[int, str]:
    with sqlite3.connect(f"file:{database(data, name)}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, fingerprint FROM outbox_op").fetchall()
    return {int(i): str(fp) for i, fp in rows}


def unkeyed(status: int) -> str:
    """What an earlier version stored, and what anyone can compute for a guess."""
    body = canonical_bytes(["Ticket", "update", TICKET, None, None, None, {"status": status}])
    return hashlib.sha256(body).hexdigest()


def as_an_earlier_version_left_it(data: Path, op_id: int, status: int) -> None:
    with sqlite3.connect(database(data)) as conn:
        conn.execute("UPDATE outbox_op SET fingerprint = ? WHERE id = ?", (unkeyed(status), op_id))
    conn.close()


def test_the_stored_fingerprint_does_not_give_away_the_pending_value(tmp_path: Path) -> None:
    p = open_profile(tmp_path)
    try:
        op_id = queue(p, edit(5))
    finally:
        p.close()
    stored = stored_fingerprints(tmp_path)[op_id]
    guesses = {unkeyed(status) for status in range(50)}
    assert stored not in guesses
    assert unkeyed(5) not in stored
    assert keyring.get_password(service(tmp_path), "fingerprint_key") is not None


def test_an_identical_edit_is_still_deduplicated_while_open_and_after_reopening(
    tmp_path: Path,
) -> None:
    p = open_profile(tmp_path)
    try:
        first = queue(p, edit(5))
        assert queue(p, edit(5)) == first and live(p) == 1
    finally:
        p.close()
    p = open_profile(tmp_path)
    try:
        assert queue(p, edit(5)) == first and live(p) == 1
    finally:
        p.close()


def test_an_edit_queued_by_an_earlier_version_deduplicates_one_queued_after(
    tmp_path: Path,
) -> None:
    p = open_profile(tmp_path)
    try:
        first = queue(p, edit(5))
    finally:
        p.close()
    as_an_earlier_version_left_it(tmp_path, first, 5)
    p = open_profile(tmp_path)
    try:
        assert stored_fingerprints(tmp_path)[first] not in {unkeyed(s) for s in range(50)}
        assert queue(p, edit(5)) == first and live(p) == 1
    finally:
        p.close()


def test_a_copy_of_the_folder_deduplicates_against_the_work_it_copied(tmp_path: Path) -> None:
    p = open_profile(tmp_path / "a")
    try:
        first = queue(p, edit(7))
    finally:
        p.close()
    copy_folder(tmp_path / "a", tmp_path / "c")
    c = open_profile(tmp_path / "c")
    try:
        assert queue(c, edit(7)) == first and live(c) == 1
    finally:
        c.close()


def test_fingerprints_are_rebuilt_when_their_key_is_gone(tmp_path: Path) -> None:
    p = open_profile(tmp_path)
    try:
        first = queue(p, edit(9))
    finally:
        p.close()
    before = stored_fingerprints(tmp_path)[first]
    keyring.delete_password(service(tmp_path), "fingerprint_key")
    p = open_profile(tmp_path)
    try:
        assert stored_fingerprints(tmp_path)[first] != before  # under the new key
        assert queue(p, edit(9)) == first and live(p) == 1
    finally:
        p.close()


def test_signing_out_with_a_wipe_replaces_the_fingerprint_key(tmp_path: Path) -> None:
    p = open_profile(tmp_path)
    try:
        queue(p, edit(3))
        before = keyring.get_password(p.vault.service, "fingerprint_key")
        sign_out_and_wipe(p, confirmed=True)
        after = keyring.get_password(p.vault.service, "fingerprint_key")
        assert before is not None and after is not None and after != before
        op_id = queue(p, edit(3))
    finally:
        p.close()
    assert stored_fingerprints(tmp_path)[op_id] not in {unkeyed(s) for s in range(50)}


def test_the_demo_profile_keeps_plain_fingerprints(tmp_path: Path) -> None:
    p = open_profile(tmp_path, "demo", demo=True)
    try:
        op_id = queue(p, edit(5))
    finally:
        p.close()
    assert stored_fingerprints(tmp_path, "demo")[op_id] == unkeyed(5)


def test_rotating_the_data_key_keeps_deduplication(tmp_path: Path) -> None:
    from agent.security import control

    p = open_profile(tmp_path)
    try:
        first = queue(p, edit(11))
        control.rotate_key(p)
        assert queue(p, edit(11)) == first and live(p) == 1
    finally:
        p.close()
    p = open_profile(tmp_path)
    try:
        assert queue(p, edit(11)) == first and live(p) == 1
    finally:
        p.close()
