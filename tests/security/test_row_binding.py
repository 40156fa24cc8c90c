"""Each sealed value is bound to its row as well as its column: a value copied from one ticket,
operation, conflict or event onto another fails to open, says which row, and the lists that
show many rows leave that one out instead of failing whole."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.api import views
from agent.clock import FakeClock
from agent.profile import Profile, open_profile
from agent.queue import SQLiteBackend
from agent.queue.operation import NewOperation, OpQuery
from agent.security.at_rest import scan
from agent.security.errors import SealedPayloadError
from agent.security.sealing import SealingCodec
from agent.store import audit
from agent.store.codec import get_codec
from agent.store.models import CachedEntity, Conflict, OpKind, OverlayValue
from agent.sync import localview
from agent.sync.conflicts import ConflictDesk

TEXT = "Alarm panel code for site North is 5150"


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def _sql(profile: Profile, statement: str, params: tuple[object, ...] = ()) -> None:
    """Edit the file behind the agent's back, as someone with the file could."""
    profile.store.checkpoint()
    conn = sqlite3.connect(profile.paths.database)
    try:
        conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def _tickets(profile: Profile, *ids: int) -> None:
    def run() -> None:
        for i in ids:
            localview.cache_put("Tickets", {"id": i, "title": f"{TEXT} #{i}"}, 1.0, None)

    profile.store.write(run)


def _copy_cached(profile: Profile, source: int, target: int) -> None:
    _sql(
        profile,
        "UPDATE cached_entity SET data = (SELECT data FROM cached_entity WHERE entity_id = ?) "
        "WHERE entity_id = ?",
        (source, target),
    )


def test_a_tickets_data_copied_onto_another_ticket_does_not_open(profile: Profile) -> None:
    _tickets(profile, 101, 102)
    _copy_cached(profile, 101, 102)
    assert profile.store.read(lambda: localview.cached("Tickets", 101)) is not None
    with pytest.raises(SealedPayloadError, match="Tickets 102"):
        profile.store.read(lambda: localview.cached("Tickets", 102))


def test_the_ticket_list_leaves_out_an_unreadable_ticket_and_names_it(
    profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    _tickets(profile, 101, 102, 103)
    _copy_cached(profile, 101, 102)
    with caplog.at_level(logging.WARNING):
        listed = profile.store.read(views.ticket_summaries)
    assert sorted(t.id for t in listed) == [101, 103]
    assert any("Tickets 102" in r.getMessage() for r in caplog.records)


def test_the_next_download_replaces_an_unreadable_cached_ticket(profile: Profile) -> None:
    _tickets(profile, 101, 102)
    _copy_cached(profile, 101, 102)
    _tickets(profile, 102)  # the server's copy, downloaded again
    assert profile.store.read(lambda: localview.cached("Tickets", 102)) == {
        "id": 102,
        "title": f"{TEXT} #102",
    }


def test_a_pending_value_copied_onto_another_ticket_does_not_open(profile: Profile) -> None:
    def run() -> None:
        localview.set_overlay("Tickets", "101", {"title": TEXT}, None, 1.0)
        localview.set_overlay("Tickets", "102", {"title": "harmless"}, None, 1.0)

    profile.store.write(run)
    _sql(
        profile,
        "UPDATE overlay_value SET value = (SELECT value FROM overlay_value WHERE entity_key='101')"
        " WHERE entity_key = '102'",
    )
    with pytest.raises(SealedPayloadError, match="Tickets 102 title"):
        profile.store.read(lambda: localview.overlays("Tickets", "102"))


def test_pending_values_follow_a_created_entity_to_its_server_id(profile: Profile) -> None:
    def run() -> None:
        localview.set_overlay("TicketNotes", "~tmp1", {"description": TEXT}, None, 1.0)
        localview.rekey_overlay("TicketNotes", "tmp1", 555)

    profile.store.write(run)
    got = profile.store.read(lambda: localview.overlays("TicketNotes", "555"))
    assert got == {"description": (TEXT, None)}


def _two_operations(profile: Profile) -> tuple[SQLiteBackend, int, int]:
    outbox = SQLiteBackend(profile.store, FakeClock(), audit=False)
    a, b = (
        outbox.enqueue(
            NewOperation(OpKind.UPDATE, "Tickets", target_id=t, fields={"title": f"{TEXT} {t}"})
        )
        for t in (201, 202)
    )
    return outbox, a.id, b.id


def test_an_operations_change_copied_onto_another_does_not_open(profile: Profile) -> None:
    outbox, a, b = _two_operations(profile)
    _sql(
        profile,
        "UPDATE outbox_op SET fields = (SELECT fields FROM outbox_op WHERE id = ?), "
        "base = (SELECT base FROM outbox_op WHERE id = ?) WHERE id = ?",
        (a, a, b),
    )
    assert outbox.get(a) is not None
    with pytest.raises(SealedPayloadError, match=f"operation #{b}"):
        outbox.get(b)
    # The queue's list still shows every operation; the unreadable one says why.
    listed = {op.id: op for op in outbox.list_ops(OpQuery()).items}
    assert set(listed) == {a, b}
    assert listed[a].fields == {"title": f"{TEXT} 201"}
    assert "integrity check" in (listed[b].last_error or "")


def test_a_claim_sets_an_unreadable_operation_aside_and_sends_the_rest(profile: Profile) -> None:
    outbox, a, b = _two_operations(profile)
    _sql(
        profile,
        "UPDATE outbox_op SET fields = (SELECT fields FROM outbox_op WHERE id = ?) WHERE id = ?",
        (a, b),
    )
    claimed = outbox.claim("w", 60)
    assert [op.id for op in claimed] == [a]
    listed = {op.id: op for op in outbox.list_ops(OpQuery()).items}
    assert listed[b].state.value == "parked"
    assert "integrity check" in (listed[b].reason or listed[b].last_error or "")


def test_a_conflicts_side_copied_onto_another_conflict_does_not_open(profile: Profile) -> None:
    def run() -> tuple[int, int]:
        ids = []
        for entity in (301, 302):
            c = Conflict.create(
                entity_type="Tickets",
                entity_id=entity,
                field="title",
                base="old",
                mine=f"{TEXT} {entity}",
                theirs="theirs",
                detected_at=1.0,
            )
            ids.append(c.id)
        return ids[0], ids[1]

    a, b = profile.store.write(run)
    _sql(
        profile,
        "UPDATE conflict SET mine = (SELECT mine FROM conflict WHERE id = ?) WHERE id = ?",
        (a, b),
    )
    assert profile.store.read(lambda: Conflict.get_by_id(a).mine) == f"{TEXT} 301"
    with pytest.raises(SealedPayloadError, match=f"conflict #{b}"):
        profile.store.read(lambda: Conflict.get_by_id(b).mine)
    desk = ConflictDesk(profile.store, SQLiteBackend(profile.store, FakeClock()), FakeClock())
    listed = {c.id: c for c in desk.list_conflicts()}  # both shown: one readable, one not
    assert listed[a].problem is None and listed[a].mine == f"{TEXT} 301"
    assert listed[b].problem and listed[b].mine is None


def test_audit_values_copied_onto_another_event_break_the_chain(profile: Profile) -> None:
    def run() -> None:
        for i in range(2):
            audit.append("edited", at=float(i), detail={"fields": {"title": TEXT}})

    profile.store.write(run)  # identical values: only the binding to the row tells them apart
    _sql(
        profile,
        'UPDATE audit_event SET "values" = (SELECT "values" FROM audit_event ORDER BY id LIMIT 1)'
        " WHERE id = (SELECT MAX(id) FROM audit_event)",
    )
    report = profile.store.read(audit.verify)
    assert not report.ok and "cannot be opened" in report.problem


def test_values_bound_to_their_column_only_are_rebound_at_open(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    codec = get_codec()
    assert isinstance(codec, SealingCodec)
    # As the previous version wrote them: bound to the column, not the row.
    old_a = codec.encode({"id": 401, "title": TEXT}, "cached_entity.data")
    old_b = codec.encode("pending text", "overlay_value.value")
    conn = sqlite3.connect(profile.paths.database)
    conn.execute(
        "INSERT INTO cached_entity (entity_type, entity_id, data, fetched_at, deleted_on_server)"
        " VALUES ('Tickets', 401, ?, 1.0, 0)",
        (old_a,),
    )
    conn.execute(
        "INSERT INTO overlay_value (entity_type, entity_key, field, value, updated_at)"
        " VALUES ('Tickets', '401', 'title', ?, 1.0)",
        (old_b,),
    )
    conn.commit()
    conn.close()
    assert scan(profile.store).misbound_rows == 2
    profile.close()
    profile = open_profile(tmp_path, "default")
    try:
        assert scan(profile.store).misbound_rows == 0
        assert profile.store.read(lambda: localview.cached("Tickets", 401)) == {
            "id": 401,
            "title": TEXT,
        }
        got = profile.store.read(lambda: OverlayValue.get(OverlayValue.entity_key == "401").value)
        assert got == "pending text"
        # Rebound: now tied to ticket 401, so it no longer opens as another ticket's data.
        _tickets(profile, 402)
        _copy_cached(profile, 401, 402)
        with pytest.raises(SealedPayloadError):
            profile.store.read(lambda: CachedEntity.get(CachedEntity.entity_id == 402).data)
    finally:
        profile.close()
