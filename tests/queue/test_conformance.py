"""The outbox's behaviour, identical for the memory and SQLite backends."""

from __future__ import annotations

from typing import Any

import pytest

from agent.clock import FakeClock
from agent.queue import (
    NewOperation,
    OpQuery,
    QueueFullError,
    UnknownTempIdError,
)
from agent.queue.base import LedgerOutbox
from agent.queue.coalesce import CREATED_AND_DELETED
from agent.queue.strategies import Adaptive, WeightedFair
from agent.store.models import OpKind, OpState, Priority
from tests.queue.conftest import Factory


def update(target: int, base: dict[str, Any] | None = None, **fields: Any) -> NewOperation:
    return NewOperation(
        OpKind.UPDATE, "Ticket", fields, base or dict.fromkeys(fields, "was"), target_id=target
    )


def create(temp: str, entity: str = "Ticket", **fields: Any) -> NewOperation:
    return NewOperation(OpKind.CREATE, entity, fields, temp_id=temp)


def note_on(parent_temp: str, text: str) -> NewOperation:
    return NewOperation(
        OpKind.CREATE, "TicketNote", {"description": text}, parent_temp_id=parent_temp
    )


def ids(ops: list[Any]) -> list[int]:
    return [op.id for op in ops]


def test_an_enqueued_operation_can_be_read_back_with_its_endpoint(outbox: LedgerOutbox) -> None:
    op = outbox.enqueue(update(7, status=5))
    assert op.id > 0
    got = outbox.get(op.id)
    assert got == op
    assert got.state is OpState.PENDING
    assert got.fields == {"status": 5}
    assert got.base == {"status": "was"}
    assert got.endpoint == "Tickets"
    assert len(got.fingerprint) == 64
    assert outbox.get(op.id + 1000) is None


def test_identical_live_operation_is_returned_instead_of_a_copy(outbox: LedgerOutbox) -> None:
    first = outbox.enqueue(create("t1", title="Printer"))
    again = outbox.enqueue(create("t1", title="Printer"))
    assert again.id == first.id
    assert outbox.count() == 1
    outbox.claim("w", 60)
    assert outbox.enqueue(create("t1", title="Printer")).id == first.id  # leased is still live


@pytest.mark.parametrize("first_is", ["in flight", "outcome unknown"])
def test_a_value_typed_back_after_a_newer_one_is_not_taken_for_the_first(
    outbox: LedgerOutbox, first_is: str
) -> None:
    """B (sent or maybe landed), then C, then B again: the last B must go after C; taking it for
    the first B would leave C, an older value, on the server."""
    first = outbox.enqueue(update(4, base={"title": "A"}, title="B"))
    (claimed,) = outbox.claim("w", 60)
    outbox.mark_sent(claimed.id)
    if first_is == "outcome unknown":
        outbox.release(claimed.id, 0.0, "answer lost", "transient_network", outcome_unknown=True)
    middle = outbox.enqueue(update(4, base={"title": "B"}, title="C"))
    last = outbox.enqueue(update(4, base={"title": "C"}, title="B"))
    assert len({first.id, middle.id, last.id}) == 3 or (last.id == middle.id != first.id)
    newest = max(
        outbox.list_ops(OpQuery(states=frozenset({OpState.PENDING}))).items, key=lambda o: o.id
    )
    assert newest.fields == {"title": "B"}  # the last word, after C
    assert newest.id != first.id


def test_an_identical_operation_after_the_first_finished_is_queued_again(
    outbox: LedgerOutbox,
) -> None:
    first = outbox.enqueue(update(3, status=1))
    (claimed,) = outbox.claim("w", 60)
    outbox.acknowledge(claimed.id)
    second = outbox.enqueue(update(3, status=1))
    assert second.id != first.id
    assert second.state is OpState.PENDING


def test_pending_updates_of_one_entity_merge_later_values_win_base_stays_earliest(
    outbox: LedgerOutbox,
) -> None:
    first = outbox.enqueue(update(9, base={"status": 1, "title": "a"}, status=2, title="b"))
    merged = outbox.enqueue(update(9, base={"status": 2, "priority": 3}, status=5, priority=1))
    assert merged.id == first.id
    assert merged.fields == {"status": 5, "title": "b", "priority": 1}
    assert merged.base == {"status": 1, "title": "a", "priority": 3}
    assert outbox.count(OpQuery(states=frozenset({OpState.PENDING}))) == 1
    events = [e for e in outbox.history(first.id) if e.action == "coalesced"]
    assert len(events) == 1
    absorbed = events[0].detail["from"]
    assert events[0].detail["into"] == first.id
    assert absorbed != first.id
    assert outbox.get(absorbed).state is OpState.CANCELLED
    assert [e.action for e in outbox.history(absorbed)] == ["coalesced"]


def test_an_update_is_not_merged_into_an_operation_already_in_flight(
    outbox: LedgerOutbox,
) -> None:
    first = outbox.enqueue(update(9, status=2))
    outbox.claim("w", 60)
    second = outbox.enqueue(update(9, status=3))
    assert second.id != first.id
    assert outbox.get(first.id).fields == {"status": 2}
    assert outbox.claim("w", 60) == []  # waits for the leased one: order on one entity
    outbox.acknowledge(first.id)
    assert ids(outbox.claim("w", 60)) == [second.id]


def test_a_create_followed_by_updates_becomes_one_create(outbox: LedgerOutbox) -> None:
    made = outbox.enqueue(create("tmp-1", title="Printer", status=1))
    later = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"status": 5}, {"status": 1}, temp_id="tmp-1")
    )
    assert later.id == made.id
    assert later.kind is OpKind.CREATE
    assert later.fields == {"title": "Printer", "status": 5}
    assert later.base == {}
    assert ids(outbox.claim("w", 60)) == [made.id]


def test_a_create_then_its_delete_before_sync_sends_nothing(outbox: LedgerOutbox) -> None:
    made = outbox.enqueue(create("tmp-2", title="Oops"))
    note = outbox.enqueue(note_on("tmp-2", "first look"))
    gone = outbox.enqueue(NewOperation(OpKind.DELETE, "Ticket", {}, temp_id="tmp-2"))
    for op_id in (made.id, gone.id, note.id):
        op = outbox.get(op_id)
        assert op.state is OpState.CANCELLED
    assert outbox.get(made.id).reason == CREATED_AND_DELETED
    assert outbox.get(gone.id).reason == CREATED_AND_DELETED
    assert outbox.claim("w", 60) == []
    assert "cancelled" in [e.action for e in outbox.history(made.id)]


def test_operations_on_one_entity_leave_in_the_order_made(outbox: LedgerOutbox) -> None:
    first = outbox.enqueue(update(4, status=1))
    outbox.park(first.id, "needs a look")  # parked: no longer holds the entity back
    second = outbox.enqueue(update(4, status=2))
    outbox.requeue(first.id)
    assert ids(outbox.claim("w", 60, limit=10)) == [first.id]
    outbox.release(first.id, retry_at=0.0, error="timeout", category="transient")
    assert ids(outbox.claim("w", 60, limit=10)) == [first.id]
    outbox.acknowledge(first.id)
    assert ids(outbox.claim("w", 60, limit=10)) == [second.id]


def test_a_note_waits_for_its_tickets_create_and_gets_the_real_id(outbox: LedgerOutbox) -> None:
    ticket = outbox.enqueue(create("tmp-3", title="New"))
    outbox.claim("w", 60)  # the create is in flight: the note cannot merge into anything
    note = outbox.enqueue(note_on("tmp-3", "on site"))
    fix = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"status": 5}, {"status": 1}, temp_id="tmp-3")
    )
    assert outbox.get(note.id).depends_on == [ticket.id]
    assert outbox.get(fix.id).depends_on == [ticket.id]
    assert outbox.claim("w", 60) == []
    outbox.acknowledge(ticket.id, server_id=81234)
    assert outbox.get(ticket.id).target_id == 81234
    assert outbox.get(note.id).parent_id == 81234
    assert outbox.get(fix.id).target_id == 81234
    assert sorted(ids(outbox.claim("w", 60))) == [note.id, fix.id]


def test_a_reference_to_an_already_created_entity_uses_its_server_id(
    outbox: LedgerOutbox,
) -> None:
    ticket = outbox.enqueue(create("tmp-4", title="New"))
    outbox.claim("w", 60)
    outbox.acknowledge(ticket.id, server_id=555)
    note = outbox.enqueue(note_on("tmp-4", "later"))
    assert note.parent_id == 555
    assert note.depends_on == []


def test_an_unknown_temporary_id_is_refused(outbox: LedgerOutbox) -> None:
    with pytest.raises(UnknownTempIdError):
        outbox.enqueue(note_on("never-made", "x"))
    assert outbox.count() == 0


def test_enqueue_many_is_all_or_nothing(outbox: LedgerOutbox) -> None:
    with pytest.raises(UnknownTempIdError):
        outbox.enqueue_many([update(1, status=1), note_on("missing", "x")])
    assert outbox.count() == 0
    made = outbox.enqueue_many([update(1, status=1), update(2, status=2), update(1, title="t")])
    assert made[0].id == made[2].id
    assert outbox.count(OpQuery(states=frozenset({OpState.PENDING}))) == 2


def test_strict_priority_hands_out_the_most_urgent_first(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    low = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=1, priority=Priority.LOW)
    )
    fake_clock.advance(1)
    crit = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=2, priority=Priority.CRITICAL)
    )
    fake_clock.advance(1)
    norm = outbox.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=3))
    assert ids(outbox.claim("w", 60, strategy="strict")) == [crit.id, norm.id, low.id]


def test_fifo_hands_out_in_the_order_made_regardless_of_priority(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    made = []
    for target, level in enumerate([Priority.BACKGROUND, Priority.CRITICAL, Priority.NORMAL]):
        made.append(
            outbox.enqueue(
                NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=target, priority=level)
            )
        )
        fake_clock.advance(1)
    assert ids(outbox.claim("w", 60, strategy="fifo")) == ids(made)


def test_weighted_fair_background_work_is_overtaken_for_at_most_four_aging_steps(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    step = 10.0
    fair = WeightedFair(aging_step=step)
    background = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=0, priority=Priority.BACKGROUND)
    )
    made_at = fake_clock.now().timestamp()
    served_before: list[float] = []
    for target in range(1, 80):  # a critical edit every second, one claim per second
        fake_clock.advance(1)
        outbox.enqueue(
            NewOperation(
                OpKind.UPDATE, "Ticket", {"a": 1}, target_id=target, priority=Priority.CRITICAL
            )
        )
        (got,) = outbox.claim("w", 600, limit=1, strategy=fair)
        if got.id == background.id:
            break
        served_before.append(got.created_at - made_at)
    else:
        pytest.fail("background work starved")
    assert max(served_before) <= 4 * step  # nothing made later than the bound overtook it
    assert len(served_before) >= 4 * step - 1  # and newer critical work did go first meanwhile


def test_deadline_aware_serves_the_earliest_deadline_then_priority(
    outbox: LedgerOutbox,
) -> None:
    plain = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=1, priority=Priority.CRITICAL)
    )
    late = outbox.enqueue(
        NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=2, deadline_at=9e9)
    )
    soon_low = outbox.enqueue(
        NewOperation(
            OpKind.UPDATE, "Ticket", {"a": 1}, target_id=3, priority=Priority.LOW, deadline_at=5e9
        )
    )
    soon_high = outbox.enqueue(
        NewOperation(
            OpKind.UPDATE, "Ticket", {"a": 1}, target_id=4, priority=Priority.HIGH, deadline_at=5e9
        )
    )
    got = outbox.claim("w", 60, strategy="deadline")
    assert ids(got) == [soon_high.id, soon_low.id, late.id, plain.id]


def test_adaptive_favours_work_that_currently_succeeds_when_the_link_is_degraded(
    outbox: LedgerOutbox,
) -> None:
    note = outbox.enqueue(NewOperation(OpKind.CREATE, "TicketNote", {"d": 1}, parent_id=1))
    ticket = outbox.enqueue(update(5, status=1))
    adaptive = Adaptive(outbox.outcomes)
    assert ids(outbox.claim("probe", 1, strategy=adaptive)) == [note.id, ticket.id]
    fake_ids = ids(outbox.recover_expired_leases())  # nothing expired yet: leases still held
    assert fake_ids == []
    for _ in range(10):
        outbox.record_outcome("TicketNotes", "create", False, 5.0)
        outbox.record_outcome("Tickets", "update", True, 0.2)
    outbox.release(note.id, 0.0)
    outbox.release(ticket.id, 0.0)
    assert outbox.outcomes.degraded
    assert ids(outbox.claim("w", 60, strategy="adaptive")) == [ticket.id, note.id]


def test_a_released_operation_waits_until_its_retry_time(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    op = outbox.enqueue(update(1, status=1))
    outbox.claim("w", 60)
    now = fake_clock.now().timestamp()
    again = outbox.release(op.id, now + 30, "HTTP 503", "transient")
    assert (again.state, again.attempts, again.last_error, again.error_category) == (
        OpState.PENDING,
        1,
        "HTTP 503",
        "transient",
    )
    assert outbox.claim("w", 60) == []
    fake_clock.advance(30)
    (got,) = outbox.claim("w", 60)
    assert got.attempts == 2


def test_parking_conflicts_and_requeue_are_recorded(outbox: LedgerOutbox) -> None:
    a = outbox.enqueue(update(1, status=1))
    b = outbox.enqueue(update(2, status=1))
    outbox.claim("w", 60)
    parked = outbox.park(a.id, "status 99 is not allowed", error="400", category="validation")
    conflict = outbox.park(b.id, "dispatcher changed status", conflict=True)
    assert (parked.state, parked.reason, parked.error_category) == (
        OpState.PARKED,
        "status 99 is not allowed",
        "validation",
    )
    assert conflict.state is OpState.CONFLICT
    assert outbox.claim("w", 60) == []
    assert "parked" in [e.action for e in outbox.history(a.id)]
    assert outbox.requeue(a.id).state is OpState.PENDING
    assert ids(outbox.claim("w", 60)) == [a.id]


def test_cancel_is_recorded_and_cascades_to_waiting_operations(outbox: LedgerOutbox) -> None:
    ticket = outbox.enqueue(create("tmp-9", title="x"))
    outbox.claim("w", 60)
    note = outbox.enqueue(note_on("tmp-9", "y"))
    gone = outbox.cancel(ticket.id, "technician discarded it")
    assert gone.state is OpState.CANCELLED
    assert gone.reason == "technician discarded it"
    assert outbox.get(note.id).state is OpState.CANCELLED
    assert any(e.action == "cancelled" for e in outbox.history(ticket.id))
    assert outbox.claim("w", 60) == []


def test_changing_priority_changes_the_claim_order(outbox: LedgerOutbox) -> None:
    a = outbox.enqueue(update(1, status=1))
    b = outbox.enqueue(update(2, status=1))
    assert outbox.set_priority(b.id, Priority.CRITICAL).priority is Priority.CRITICAL
    assert ids(outbox.claim("w", 60)) == [b.id, a.id]


def test_listing_pages_by_keyset_and_offset_and_counts_by_filter(outbox: LedgerOutbox) -> None:
    made = outbox.enqueue_many(
        [
            NewOperation(
                OpKind.UPDATE,
                "Ticket" if i % 2 else "TimeEntry",
                {"n": i},
                target_id=i,
                priority=Priority(i % 5),
            )
            for i in range(25)
        ]
    )
    outbox.claim("w", 60, limit=5, strategy="fifo")
    pending = OpQuery(states=frozenset({OpState.PENDING}), limit=7)
    seen: list[int] = []
    after: int | None = None
    while True:
        page = outbox.list_ops(OpQuery(states=pending.states, limit=7, after_id=after))
        seen.extend(ids(page.items))
        if page.next_after_id is None:
            break
        after = page.next_after_id
    assert seen == ids(made)[5:]
    assert ids(outbox.list_ops(OpQuery(offset=10, limit=3)).items) == ids(made)[10:13]
    assert outbox.count(OpQuery(states=frozenset({OpState.LEASED}))) == 5
    assert outbox.count(OpQuery(priority=Priority.LOW)) == 5
    assert outbox.count(OpQuery(entity_type="TimeEntry")) == 13
    assert ids(outbox.list_ops(OpQuery(entity_type="Ticket", target_id=3)).items) == [made[3].id]
    counts = outbox.counts_by_state()
    assert (counts[OpState.PENDING], counts[OpState.LEASED], counts[OpState.DONE]) == (20, 5, 0)


def test_purge_drops_finished_operations_past_retention_only(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    old_done = outbox.enqueue(update(1, status=1))
    old_gone = outbox.enqueue(update(2, status=1))
    live = outbox.enqueue(update(3, status=1))
    outbox.claim("w", 60, limit=1)
    outbox.acknowledge(old_done.id)
    outbox.cancel(old_gone.id, "not needed")
    fake_clock.advance(3600)
    recent = outbox.enqueue(update(4, status=1))
    outbox.cancel(recent.id, "not needed")
    assert outbox.purge(retention_seconds=600) == 2
    assert outbox.get(old_done.id) is None
    assert outbox.get(old_gone.id) is None
    assert outbox.get(live.id) is not None
    assert outbox.get(recent.id) is not None


def test_expired_leases_return_and_a_sent_write_comes_back_outcome_unknown(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    sent = outbox.enqueue(update(1, status=1))
    unsent = outbox.enqueue(update(2, status=1))
    outbox.claim("dead-worker", 30)
    assert outbox.mark_sent(sent.id).outcome_unknown
    assert outbox.recover_expired_leases() == []
    fake_clock.advance(31)
    back = {op.id: op for op in outbox.recover_expired_leases()}
    assert set(back) == {sent.id, unsent.id}
    assert back[sent.id].outcome_unknown is True
    assert back[unsent.id].outcome_unknown is False
    assert all(op.state is OpState.PENDING and op.lease_owner is None for op in back.values())
    assert sorted(ids(outbox.claim("w2", 30))) == [sent.id, unsent.id]


def test_capacity_refuses_background_work_but_never_a_technicians_edit(
    make_outbox: Factory,
) -> None:
    box = make_outbox(capacity=2)
    for target in range(2):
        box.enqueue(
            NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=target, technician=False)
        )
    with pytest.raises(QueueFullError):
        box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"a": 1}, target_id=9, technician=False))
    mine = box.enqueue(update(9, status=1))
    assert mine.technician
    assert box.count() == 3


async def test_async_wrappers_reach_the_same_queue(outbox: LedgerOutbox) -> None:
    op = await outbox.aenqueue(update(1, status=1))
    (got,) = await outbox.aclaim("w", 60)
    assert got.id == op.id
    done = await outbox.aacknowledge(op.id)
    assert done.state is OpState.DONE
