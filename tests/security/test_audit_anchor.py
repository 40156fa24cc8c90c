"""The audit trail is keyed and anchored in the keyring: events removed from either end, reordered,
rewritten and re-hashed, or the whole file put back to an older copy are each reported as what they
are, while retention's pruning, a crash before the anchor caught up and a salvage are not."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import keyring
import pytest

from agent.profile import Profile, open_profile
from agent.security.audit_anchor import load_audit_key
from agent.security.errors import DataKeyUnavailableError
from agent.security.keys import AUDIT_ANCHOR, AUDIT_KEY, DataKeyVault
from agent.security.retention import DAY, prune_audit
from agent.security.signout import sign_out_and_wipe
from agent.store import Store, audit, audit_chain
from agent.store.audit_chain import Anchor, uninstall
from agent.store.audit_verify import (
    NO_KEY,
    REORDERED,
    REWRITTEN,
    ROLLED_BACK,
    TRUNCATED_END,
    TRUNCATED_START,
)
from agent.store.models import AuditEvent
from tests.store.salvage_world import leaf_rowids, new_world, profile_with_unsent_notes, scribble

ID_SERVICE = "field-sync-autotask/id/"


def _entry(name: str) -> str | None:
    """An entry of the one database these tests keep entries for (its service is named by the
    random keyring id the database holds)."""
    values = keyring.get_keyring()._values  # the in-process keyring of the tests
    found = {svc for svc, entry in values if svc.startswith(ID_SERVICE) and entry == name}
    assert len(found) <= 1, found
    return values[(found.pop(), name)] if found else None


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def _fill(profile: Profile, n: int, start: int = 0, at: float = 1000.0) -> None:
    def run() -> None:
        for i in range(start, start + n):
            audit.append("edited", at=at + i, entity_type="Tickets", entity_id=i, detail={"n": i})

    profile.store.write(run)


def _anchored(profile: Profile, n: int) -> None:
    """`n` events, anchored (as the background update would, a second later)."""
    _fill(profile, n)
    assert profile.audit_chain is not None
    profile.audit_chain.flush()


def _raw(database: Path, *statements: str) -> None:
    """Edit the file as someone with access to it would: trigger dropped, rows changed."""
    with closing(sqlite3.connect(database)) as conn:
        conn.execute('DROP TRIGGER IF EXISTS "audit_event_no_update"')
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _verify(profile: Profile) -> audit.ChainReport:
    return profile.store.read(audit.verify)


def _stored_anchor() -> Anchor | None:
    return Anchor.parse(_entry(AUDIT_ANCHOR))


def test_an_untouched_trail_verifies_keyed_and_anchored(profile: Profile) -> None:
    _anchored(profile, 5)
    report = _verify(profile)
    assert report.ok and report.keyed and report.anchored and report.checked == 5
    assert _stored_anchor() == Anchor(5, profile.store.read(lambda: AuditEvent.select()[-1].hash))


def test_removing_the_newest_events_is_reported_as_a_truncated_end(profile: Profile) -> None:
    _anchored(profile, 5)
    _raw(profile.paths.database, "DELETE FROM audit_event WHERE id > 3")
    report = _verify(profile)
    assert not report.ok and report.kind == TRUNCATED_END
    assert "newest 2 event(s) were removed" in report.problem


def test_removing_the_oldest_events_is_reported_as_a_truncated_start(profile: Profile) -> None:
    _anchored(profile, 5)
    _raw(profile.paths.database, "DELETE FROM audit_event WHERE id <= 2")
    report = _verify(profile)
    assert not report.ok and report.kind == TRUNCATED_START and report.first_bad_id == 3


def test_swapping_two_events_is_reported_as_reordered(profile: Profile) -> None:
    _anchored(profile, 5)
    _raw(
        profile.paths.database,
        "UPDATE audit_event SET id = -2 WHERE id = 2",
        "UPDATE audit_event SET id = 2 WHERE id = 3",
        "UPDATE audit_event SET id = 3 WHERE id = -2",
    )
    report = _verify(profile)
    assert not report.ok and report.kind == REORDERED and report.first_bad_id == 2


def test_an_edited_event_with_its_tail_re_hashed_is_reported_as_rewritten(
    profile: Profile,
) -> None:
    _anchored(profile, 5)
    with closing(sqlite3.connect(profile.paths.database)) as conn:
        conn.execute('DROP TRIGGER "audit_event_no_update"')
        conn.execute("""UPDATE audit_event SET detail = '{"n":99}' WHERE id = 3""")
        rows = conn.execute(
            "SELECT id, at, action, entity_type, entity_id, op_id, detail, prev_hash "
            "FROM audit_event WHERE id >= 3 ORDER BY id"
        ).fetchall()
        prev = rows[0][7]
        for id_, at, action, etype, eid, op, detail, _ in rows:  # plain SHA-256, as before
            new = audit_chain.digest(prev, at, action, etype, eid, op, detail)
            conn.execute(
                "UPDATE audit_event SET prev_hash = ?, hash = ? WHERE id = ?", (prev, new, id_)
            )
            prev = new
        conn.commit()
    report = _verify(profile)
    assert not report.ok and report.kind == REWRITTEN and report.first_bad_id == 3


def test_an_older_copy_of_the_file_put_back_is_reported_as_rolled_back(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    _fill(profile, 3)
    profile.close()
    database = profile.paths.database
    copy = tmp_path / "older.sqlite3"
    shutil.copyfile(database, copy)
    profile = open_profile(tmp_path, "default")
    _fill(profile, 3, start=3)
    profile.close()
    for side in ("-wal", "-shm"):
        database.with_name(database.name + side).unlink(missing_ok=True)
    shutil.copyfile(copy, database)
    profile = open_profile(tmp_path, "default")
    try:
        report = _verify(profile)
        assert not report.ok and report.kind == ROLLED_BACK
        assert "older copy" in report.problem
    finally:
        profile.close()


def test_retention_pruning_stays_verifiable_and_a_further_cut_does_not(profile: Profile) -> None:
    _fill(profile, 6, at=10.0)
    _fill(profile, 2, start=6, at=5000.0)
    assert profile.store.write(lambda: prune_audit(1000.0, now=1000.0 + 730 * DAY)) == 6
    assert profile.audit_chain is not None
    profile.audit_chain.flush()
    report = _verify(profile)
    assert report.ok and report.anchored and report.checked == 3  # two kept and the checkpoint
    anchor = _stored_anchor()
    assert anchor is not None and (anchor.count, anchor.pruned) == (9, 6)
    first = profile.store.read(lambda: AuditEvent.select().order_by(AuditEvent.id).first().id)
    _raw(profile.paths.database, f"DELETE FROM audit_event WHERE id = {first}")
    report = _verify(profile)
    assert not report.ok and report.kind == TRUNCATED_START


def test_a_crash_before_the_anchor_caught_up_is_not_tampering(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    _anchored(profile, 3)
    _fill(profile, 4, start=3)  # committed; the anchor is updated only later
    chain = profile.audit_chain
    assert chain is not None
    chain._halt()  # the process dies here: no update, no close
    uninstall(chain.keying)
    profile.store.close()
    assert _stored_anchor() is not None and _stored_anchor().count == 3  # type: ignore[union-attr]

    key = load_audit_key(profile.vault)
    with Store(profile.paths.database) as store:
        lagging = store.read(lambda: audit.verify(key=key, anchor=_stored_anchor()))
    assert lagging.ok and lagging.anchored and lagging.ahead == 4
    profile = open_profile(tmp_path, "default")
    try:
        report = _verify(profile)
        assert report.ok and report.anchored and report.checked == 7
        assert _stored_anchor().count == 7  # type: ignore[union-attr]
    finally:
        profile.close()


def test_a_trail_kept_before_keying_is_verified_as_before_then_keyed(tmp_path: Path) -> None:
    database = tmp_path / "profiles" / "default" / "agent.sqlite3"
    database.parent.mkdir(parents=True)
    with Store(database) as store:  # an older version: plain SHA-256, and an older pruning
        store.write(lambda: [audit.append("edited", at=float(i), entity_id=i) for i in range(5)])
        store.write(lambda: AuditEvent.delete().where(AuditEvent.id == 1).execute())
    profile = open_profile(tmp_path, "default")
    try:
        _fill(profile, 2, start=5)
        report = _verify(profile)
        assert report.ok and report.keyed and report.anchored and report.unkeyed == 4
        marker = profile.store.read(lambda: AuditEvent.get(AuditEvent.action == audit.KEYED))
        assert audit.detail_of(marker)["unkeyed"] == 4
        _raw(profile.paths.database, "DELETE FROM audit_event WHERE id = 2")
        report = _verify(profile)  # the keyed event recorded where the old trail began
        assert not report.ok and report.kind == TRUNCATED_START
    finally:
        profile.close()


def test_signing_out_with_wipe_replaces_the_audit_key_and_its_anchor(profile: Profile) -> None:
    _anchored(profile, 3)
    key = _entry(AUDIT_KEY)
    anchor = _stored_anchor()
    sign_out_and_wipe(profile, confirmed=True)
    assert _entry(AUDIT_KEY) not in (None, key)
    assert _stored_anchor() not in (None, anchor) and _stored_anchor().count == 0  # type: ignore[union-attr]
    _anchored(profile, 2)
    report = _verify(profile)
    assert report.ok and report.anchored and report.checked == 2


def test_the_demo_profile_keeps_an_unkeyed_trail_and_says_so(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "demo", demo=True)
    try:
        assert profile.audit_chain is None
        _fill(profile, 3)
        report = _verify(profile)
        assert report.ok and not report.keyed and not report.anchored
        assert "not anchored" in report.summary
    finally:
        profile.close()


async def test_a_salvage_that_lost_events_verifies_and_anchors_the_new_trail(
    tmp_path: Path,
) -> None:
    world = new_world(tmp_path)
    await profile_with_unsent_notes(world)
    leaves = leaf_rowids(world.database, "audit_event")
    assert len(leaves) >= 3, "the trail spans several pages"
    scribble(world.database, [sorted(leaves)[len(leaves) // 2]])  # events in the middle lost
    agent = await world.open()
    try:
        assert agent.profile.recovery is not None
        report = await agent.verify_audit()
        assert report.ok and report.keyed and report.anchored and report.gaps == 1
        [reanchored] = await agent.audit_events(action=audit.REANCHORED)
        assert reanchored.detail["head_found"] is True
    finally:
        await agent.close()
    _raw(world.database, "DELETE FROM audit_event WHERE id > (SELECT MAX(id) - 2 FROM audit_event)")
    agent = await world.open()
    try:
        report = await agent.verify_audit()
        assert not report.ok and report.kind == TRUNCATED_END
    finally:
        await agent.close()


def test_a_start_without_the_audit_key_keeps_working_and_is_admitted_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = open_profile(tmp_path, "default")
    _fill(profile, 2)
    profile.close()

    def locked(vault: DataKeyVault) -> bytes | None:
        raise DataKeyUnavailableError(vault.profile, "the keyring is locked")

    with monkeypatch.context() as patch:
        patch.setattr("agent.security.audit_anchor.load_audit_key", locked)
        profile = open_profile(tmp_path, "default")
        assert profile.audit_chain is None
        _fill(profile, 3, start=2)
        report = _verify(profile)
        assert not report.ok and report.kind == NO_KEY  # keyed events, and no key to check them
        profile.close()
    profile = open_profile(tmp_path, "default")
    try:  # written without the key after keyed events: not vouched for (anyone could have)
        report = _verify(profile)
        assert not report.ok and report.first_bad_id == 3, report
        assert "without the audit key" in report.problem
    finally:
        profile.close()


def test_an_event_added_by_editing_the_file_is_never_vouched_for(profile: Profile) -> None:
    _anchored(profile, 3)
    head = profile.store.read(lambda: AuditEvent.select().order_by(AuditEvent.id.desc()).get())
    detail = '{"forged":true,"kind":"delete"}'
    forged = audit_chain.digest(head.hash, 5000.0, "sent", "Tickets", "1", None, detail, None)
    database = profile.paths.database
    profile.close()
    _raw(
        database,
        'INSERT INTO audit_event (at, action, entity_type, entity_id, op_id, detail, "values", '
        f"prev_hash, hash) VALUES (5000.0, 'sent', 'Tickets', '1', NULL, '{detail}', NULL, "
        f"'{head.hash}', '{forged}')",
    )
    again = open_profile(database.parents[2], "default")
    try:
        for _ in range(2):  # a second start must not vouch for it either
            report = _verify(again)
            assert not report.ok and report.first_bad_id == 4, report
            again.close()
            again = open_profile(database.parents[2], "default")
        assert (
            again.store.read(
                lambda: AuditEvent.select().where(AuditEvent.action == audit.KEYED).count()
            )
            == 0
        )
    finally:
        again.close()


def test_an_old_salvage_cannot_excuse_a_later_cut(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    _fill(profile, 6)
    profile.close()
    database = profile.paths.database
    raw = bytearray(database.read_bytes())
    raw[:100] = bytes(100)  # the header gone: everything is salvaged, the anchor still holds
    database.write_bytes(bytes(raw))
    profile = open_profile(tmp_path, "default")
    assert profile.recovery is not None
    _fill(profile, 3, start=6)
    assert _verify(profile).ok
    profile.close()
    _raw(database, "DELETE FROM audit_event WHERE id > (SELECT MAX(id) - 2 FROM audit_event)")
    profile = open_profile(tmp_path, "default")
    try:
        report = _verify(profile)
        assert not report.ok and report.kind == TRUNCATED_END
    finally:
        profile.close()


async def test_retention_run_twice_in_a_moment_is_not_tampering(tmp_path: Path) -> None:
    from datetime import timedelta

    from agent.api.facade import Agent
    from tests.e2e.conftest import open_world, options

    async with open_world(tmp_path, "prune-twice", 20) as world:
        await world.agent.sync_now()
        await world.agent.update_ticket((await world.agent.my_tickets())[0].id, title="x")
        sim, clock = world.sim, world.clock
    clock.advance(timedelta(days=800).total_seconds())  # everything is old now
    agent = await Agent.open(options(sim, clock, tmp_path))  # its start prunes
    try:
        await agent.run_retention()  # and at once again: before the anchor caught up
        report = await agent.verify_audit()
        assert report.ok and report.anchored, report
    finally:
        await agent.close()
