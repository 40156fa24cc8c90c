"""Each data folder's keyring entries are its own: named by a random id kept in its database, so
two folders with the same profile name never share a key or credentials, and signing out (with
a wipe) in one leaves the other working. Profiles from before the ids keep working."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keyring
import pytest

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.profile import open_profile
from agent.security.keys import DATA_KEY, DataKeyVault
from agent.security.signout import sign_out_and_wipe
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.e2e.conftest import options
from tests.security.helpers import fill, snapshot
from tests.security.keyring_helpers import (
    CREDENTIALS,
    copy_folder,
    data_key,
    entries,
    keyring_id,
    legacy_service,
    make_legacy,
    opened_values,
    service,
)

DEMO_BUNDLE = ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
OTHER = ApiSecretBundle("someone@example.com", "another-secret-42", "OTHERCODE42")


def test_two_folders_with_one_profile_name_have_their_own_ids_keys_and_credentials(
    tmp_path: Path,
) -> None:
    a = open_profile(tmp_path / "a", "default")
    a.credentials.save(DEMO_BUNDLE)
    a.close()
    b = open_profile(tmp_path / "b", "default")
    try:
        assert not b.credentials.has_credentials()  # signed in in `a` only
    finally:
        b.close()
    ids = {keyring_id(tmp_path / "a"), keyring_id(tmp_path / "b")}
    assert len(ids) == 2 and None not in ids and all(len(i or "") >= 32 for i in ids)
    key_a, key_b = data_key(service(tmp_path / "a")), data_key(service(tmp_path / "b"))
    assert key_a and key_b and key_a != key_b
    assert entries(legacy_service()) == {}  # nothing is named after the profile any more
    again = open_profile(tmp_path / "a", "default")
    try:  # the id is kept: the same entries are found at the next open
        assert again.credentials.load() == DEMO_BUNDLE
        assert keyring_id(tmp_path / "a") in again.vault.service
    finally:
        again.close()


async def test_wiping_one_folder_leaves_another_with_the_same_profile_name_sending_its_work(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="twins", tickets=6, clock=clock)
    sim.limits.latency_enabled = False
    folders = {"a": tmp_path / "a", "b": tmp_path / "b"}
    for folder in folders.values():  # each signed in (credentials in the keyring)
        p = open_profile(folder, "default")
        p.credentials.save(DEMO_BUNDLE)
        p.close()
    edited: dict[str, tuple[int, str]] = {}
    for n, (label, folder) in enumerate(folders.items()):
        agent = await Agent.open(dataclasses.replace(options(sim, clock, folder), credentials=None))
        try:
            report = await agent.sync_now()
            assert report is not None and report.error is None
            ticket = (await agent.my_tickets())[n].id
            title = f"unsent work of folder {label}"
            await agent.update_ticket(ticket, title=title)
            assert (await agent.status()).pending == 1
            edited[label] = (ticket, title)
        finally:
            await agent.close()

    agent = await Agent.open(
        dataclasses.replace(options(sim, clock, folders["a"]), credentials=None)
    )
    try:
        await agent.sign_out(wipe_local_data=True)
    finally:
        await agent.close()

    # Ground truth: folder b's file still opens with b's own key, read from the keyring.
    key_b = data_key(service(folders["b"]))
    assert key_b is not None
    assert any(
        isinstance(v, dict) and v.get("title") == edited["b"][1]
        for v in opened_values(folders["b"], key_b)
    )
    agent = await Agent.open(
        dataclasses.replace(options(sim, clock, folders["b"]), credentials=None)
    )
    try:
        assert agent.engine is not None, "folder b is still signed in"
        ticket, title = edited["b"]
        detail = await agent.ticket(ticket)
        assert detail is not None
        report = await agent.sync_now()
        assert report is not None and report.error is None and report.push.succeeded == 1
    finally:
        await agent.close()
    assert sim.dump()["Tickets"][ticket]["title"] == title
    assert sim.dump()["Tickets"][edited["a"][0]]["title"] != edited["a"][1]  # a's was wiped


def test_a_profile_from_before_the_ids_adopts_its_entries_and_leaves_them_for_other_folders(
    tmp_path: Path,
) -> None:
    """Two folders written by an earlier version share the entries named after the profile.
    The first to open copies them to its own id and re-encrypts under a key of its own; wiping
    it touches only its own entries; the other still finds the shared ones and opens."""
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    p = open_profile(a_dir, "default")
    fill(p)
    p.credentials.save(DEMO_BUNDLE)
    before = snapshot(p)
    p.close()
    make_legacy(a_dir)
    copy_folder(a_dir, b_dir)  # another data folder of the same profile name, same era
    shared = entries(legacy_service())
    shared_key = data_key(legacy_service())
    assert set(shared) == {*CREDENTIALS, DATA_KEY} and shared_key is not None

    a = open_profile(a_dir, "default")
    try:
        assert snapshot(a) == before
        assert a.credentials.load() == DEMO_BUNDLE  # copied to its own id
        own_key = data_key(a.vault.service)
        assert own_key is not None and own_key != shared_key  # re-encrypted under its own key
        assert opened_values(a_dir, own_key)
        sign_out_and_wipe(a, confirmed=True)
        assert not a.credentials.has_credentials()
    finally:
        a.close()
    assert entries(legacy_service()) == shared  # never removed for another folder's sake

    b = open_profile(b_dir, "default")
    try:
        assert snapshot(b) == before
        assert b.credentials.load() == DEMO_BUNDLE
        key_b = data_key(b.vault.service)
        assert key_b not in (None, shared_key, data_key(service(a_dir)))
    finally:
        b.close()
    assert key_b is not None and opened_values(b_dir, key_b)


def test_a_new_folder_does_not_take_the_entries_named_after_its_profile(tmp_path: Path) -> None:
    keyring.set_password(legacy_service(), "username", OTHER.username)
    keyring.set_password(legacy_service(), "secret", OTHER.secret)
    keyring.set_password(legacy_service(), "integration_code", OTHER.integration_code)
    p = open_profile(tmp_path, "default")
    try:
        assert not p.credentials.has_credentials()
    finally:
        p.close()


def test_forgetting_the_legacy_entries_is_an_explicit_step(tmp_path: Path) -> None:
    from agent.security.control import forget_legacy_entries

    p = open_profile(tmp_path, "default")
    fill(p)
    p.close()
    make_legacy(tmp_path)
    p = open_profile(tmp_path, "default")
    try:
        assert entries(legacy_service())  # adopted, and left in place
        removed = forget_legacy_entries(p)
        assert removed == [DATA_KEY] and entries(legacy_service()) == {}
        assert forget_legacy_entries(p) == []
    finally:
        p.close()
    p = open_profile(tmp_path, "default")  # its own entries are untouched
    p.close()


def test_a_damaged_keyring_id_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    import sqlite3

    from agent.security.errors import DataKeyError
    from tests.security.keyring_helpers import database

    open_profile(tmp_path, "default").close()
    conn = sqlite3.connect(database(tmp_path))
    with conn:
        conn.execute("UPDATE setting SET value = '\"../other\"' WHERE key = 'keyring_id'")
    conn.close()
    with pytest.raises(DataKeyError, match="keyring id"):
        open_profile(tmp_path, "default")


def test_the_vault_needs_a_keyring_id() -> None:
    vault = DataKeyVault("default", "0" * 32)
    assert vault.service == "field-sync-autotask/id/" + "0" * 32
    with pytest.raises(ValueError):
        DataKeyVault("default", "default")


def test_without_a_keyring_an_earlier_database_waits_for_one_to_adopt_its_entries(
    tmp_path: Path,
) -> None:
    from keyring.backends import fail

    p = open_profile(tmp_path, "default")
    p.credentials.save(DEMO_BUNDLE)
    p.close()
    make_legacy(tmp_path)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        open_profile(tmp_path, "default", allow_unencrypted=True).close()
    finally:
        keyring.set_keyring(previous)
    assert keyring_id(tmp_path) is None  # no id recorded: nothing could be copied to it
    p = open_profile(tmp_path, "default")
    try:
        assert p.credentials.load() == DEMO_BUNDLE
    finally:
        p.close()


def test_the_vault_keeps_text_entries_and_forgets_every_entry_it_owns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.security import keys

    p = open_profile(tmp_path, "default")
    try:
        vault = p.vault
        vault.save_entry("audit_anchor", "17:abc")
        assert vault.load_entry("audit_anchor") == "17:abc"
        monkeypatch.setattr(keys, "OWNED_ENTRIES", (*keys.OWNED_ENTRIES, "audit_anchor"))
        vault.record_encryption(True)
        vault.forget_all()
        assert {e for (s, e) in keyring.get_keyring()._values if s == vault.service} == set()
    finally:
        p.close()


async def test_a_copy_of_a_data_folder_gets_entries_of_its_own_and_survives_the_originals_wipe(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="copy", tickets=6, clock=clock)
    sim.limits.latency_enabled = False
    original, copy = tmp_path / "a", tmp_path / "c"
    p = open_profile(original, "default")
    p.credentials.save(DEMO_BUNDLE)
    p.close()
    agent = await Agent.open(dataclasses.replace(options(sim, clock, original), credentials=None))
    try:
        await agent.sync_now()
        ticket = (await agent.my_tickets())[0].id
        await agent.update_ticket(ticket, title="typed before the copy")
    finally:
        await agent.close()
    copy_folder(original, copy)  # cp -a: the copy's database records the same keyring id
    copied = open_profile(copy, "default")
    copied.close()
    assert keyring_id(copy) != keyring_id(original)
    assert data_key(service(copy)) != data_key(service(original))
    again = open_profile(original, "default")  # the original keeps its own
    again.close()
    assert keyring_id(original) == again.vault.service.rsplit("/", 1)[-1]
    agent = await Agent.open(dataclasses.replace(options(sim, clock, original), credentials=None))
    try:
        await agent.sign_out(wipe_local_data=True)
    finally:
        await agent.close()
    agent = await Agent.open(dataclasses.replace(options(sim, clock, copy), credentials=None))
    try:
        assert agent.engine is not None, "the copy is still signed in"
        report = await agent.sync_now()
        assert report is not None and report.push.succeeded == 1
    finally:
        await agent.close()
    assert sim.dump()["Tickets"][ticket]["title"] == "typed before the copy"


def test_a_data_folder_moved_elsewhere_gets_entries_of_its_own_and_keeps_working(
    tmp_path: Path,
) -> None:
    p = open_profile(tmp_path / "a", "default")
    p.credentials.save(DEMO_BUNDLE)
    fill(p)
    before_values = snapshot(p)
    p.close()
    before = keyring_id(tmp_path / "a")
    (tmp_path / "a").rename(tmp_path / "moved")
    moved = open_profile(tmp_path / "moved", "default")
    try:
        assert keyring_id(tmp_path / "moved") != before  # the recorded place is elsewhere
        assert moved.credentials.load() == DEMO_BUNDLE
        assert snapshot(moved) == before_values
    finally:
        moved.close()
    # The entries of the place it left stay (nothing can tell a move from a copy whose
    # original is away for a while): an orphan in the keyring, never a folder without its key.
    assert entries(f"field-sync-autotask/id/{before}")


def test_the_same_folder_reached_by_another_path_keeps_its_entries(tmp_path: Path) -> None:
    p = open_profile(tmp_path / "a", "default")
    p.credentials.save(DEMO_BUNDLE)
    p.close()
    before = keyring_id(tmp_path / "a")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    again = open_profile(tmp_path / "link", "default")
    again.close()
    assert keyring_id(tmp_path / "a") == before


async def test_wiping_a_copy_opened_while_its_original_was_away_leaves_the_original_whole(
    tmp_path: Path,
) -> None:
    """cp -a A C; mv A A.away; open C; sign out of C with a wipe; move A back: A still opens
    with its own key and still sends the work it had queued."""
    clock = FakeClock()
    sim = Simulator(seed="away", tickets=6, clock=clock)
    sim.limits.latency_enabled = False
    original, copy, away = tmp_path / "a", tmp_path / "c", tmp_path / "a.away"
    p = open_profile(original, "default")
    p.credentials.save(DEMO_BUNDLE)
    p.close()
    agent = await Agent.open(dataclasses.replace(options(sim, clock, original), credentials=None))
    try:
        await agent.sync_now()
        ticket = (await agent.my_tickets())[0].id
        lists = await agent.picklists("TicketNotes")
        await agent.set_work_offline(True)
        await agent.add_note(
            ticket,
            "queued while offline, before the copy",
            title="Unsent",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        assert (await agent.status()).pending == 1
    finally:
        await agent.close()
    original_id = keyring_id(original)
    copy_folder(original, copy)
    original.rename(away)
    status = open_profile(copy, "default")  # `autotask-agent --data-dir C status`
    status.close()
    assert keyring_id(copy) != original_id, "the copy never takes over its original's id"
    agent = await Agent.open(dataclasses.replace(options(sim, clock, copy), credentials=None))
    try:
        await agent.sign_out(wipe_local_data=True)
    finally:
        await agent.close()
    away.rename(original)
    key = data_key(f"field-sync-autotask/id/{original_id}")
    assert key is not None
    assert any(
        isinstance(v, dict) and v.get("description") == "queued while offline, before the copy"
        for v in opened_values(original, key)
    )
    agent = await Agent.open(dataclasses.replace(options(sim, clock, original), credentials=None))
    try:
        assert keyring_id(original) == original_id
        assert agent.engine is not None, "the original is still signed in"
        await agent.set_work_offline(False)
        report = await agent.sync_now()
        assert report is not None and report.push.succeeded == 1
    finally:
        await agent.close()
    notes = sim.dump()["TicketNotes"].values()
    assert any(n["description"] == "queued while offline, before the copy" for n in notes)


async def test_a_copy_keeps_the_custom_directory_its_original_was_signed_in_to(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="copy-dir", tickets=4, clock=clock)
    sim.limits.latency_enabled = False
    directory = "https://sim.test/ATServicesRest/"
    original, copy = tmp_path / "a", tmp_path / "c"
    chosen = dataclasses.replace(
        options(sim, clock, original), credentials=None, directory_url=None
    )
    p = open_profile(original, "default")
    p.credentials.save(DEMO_BUNDLE)
    p.close()
    agent = await Agent.open(chosen)
    try:
        await agent.update_settings(api_directory_url=directory)
        assert agent.engine is not None and agent.sign_in_problem is None
    finally:
        await agent.close()
    copy_folder(original, copy)
    agent = await Agent.open(dataclasses.replace(chosen, data_dir=copy))
    try:
        assert keyring_id(copy) != keyring_id(original)
        assert agent.sign_in_problem is None and agent.engine is not None
        assert agent.profile.vault.chosen_directory() == directory
        report = await agent.sync_now()
        assert report is not None and report.error is None
    finally:
        await agent.close()


def test_a_copy_takes_every_entry_its_original_keeps_but_the_keys_ages_and_place(
    tmp_path: Path,
) -> None:
    from agent.credentials import CREDENTIAL_ENTRIES
    from agent.security import identity
    from agent.security.keys import OWNED_ENTRIES

    p = open_profile(tmp_path / "a", "default")
    own = p.vault.service
    p.close()
    not_copied = {"data_key_created", "data_key_next_created", "location"}
    assert set(identity.COPIED_KEYS) | not_copied == set(OWNED_ENTRIES)
    assert set(CREDENTIAL_ENTRIES) <= set(identity.COPIED_ENTRIES)
    for entry in identity.COPIED_ENTRIES:
        if entry not in (
            "data_key",
            "data_key_next",
            "audit_key",
            "audit_anchor",
            "audit_retention",
            "encryption",
            "fingerprint_key",
        ):
            keyring.set_password(own, entry, f"value of {entry}")
    copy_folder(tmp_path / "a", tmp_path / "c")
    c = open_profile(tmp_path / "c", "default")
    fork = c.vault.service
    c.close()
    assert fork != own
    for entry in identity.COPIED_ENTRIES:
        if entry not in ("data_key", "data_key_next", "audit_anchor"):  # re-made by the copy
            assert keyring.get_password(fork, entry) == keyring.get_password(own, entry), entry


def test_a_copy_made_during_the_originals_first_session_gets_entries_of_its_own(
    tmp_path: Path,
) -> None:
    original = open_profile(tmp_path / "a", "default")  # its first open, still running
    original.credentials.save(DEMO_BUNDLE)
    copy_folder(tmp_path / "a", tmp_path / "b")
    copied = open_profile(tmp_path / "b", "default")
    try:
        assert keyring_id(tmp_path / "b") != keyring_id(tmp_path / "a")
        assert copied.credentials.load() == DEMO_BUNDLE
    finally:
        copied.close()
        original.close()
