"""Batches leave grouped by endpoint and kind, sized by how recent calls went."""

from __future__ import annotations

from agent.queue import NewOperation
from agent.queue.base import LedgerOutbox
from agent.queue.batching import MAX_BATCH, BatchSizer, Dispatcher
from agent.store.models import OpKind


def test_batch_size_grows_on_fast_success_and_halves_on_errors_and_slow_calls() -> None:
    sizer = BatchSizer(size=20, step=10, slow_after=2.0)
    assert sizer.record(ok=True, latency=0.3) == 30
    assert sizer.record(ok=True, latency=0.3) == 40
    assert sizer.record(ok=False, latency=0.3) == 20
    assert sizer.record(ok=True, latency=5.0) == 10


def test_batch_size_stays_within_its_bounds_and_never_exceeds_500() -> None:
    sizer = BatchSizer(size=490, maximum=10_000, step=100)
    for _ in range(5):
        sizer.record(ok=True, latency=0.1)
    assert sizer.size == MAX_BATCH
    for _ in range(20):
        sizer.record(ok=False, latency=0.1)
    assert sizer.size == sizer.minimum == 1


def test_dispatcher_groups_a_claim_by_endpoint_and_kind(outbox: LedgerOutbox) -> None:
    outbox.enqueue_many(
        [
            NewOperation(OpKind.UPDATE, "Ticket", {"status": 5}, target_id=1),
            NewOperation(OpKind.CREATE, "TicketNote", {"d": "x"}, parent_id=1),
            NewOperation(OpKind.UPDATE, "Ticket", {"status": 5}, target_id=2),
            NewOperation(OpKind.CREATE, "TimeEntry", {"hoursWorked": 1}, parent_id=1),
        ]
    )
    dispatcher = Dispatcher(outbox, "w", sizer=BatchSizer(size=3), strategy="fifo")
    batches = dispatcher.next_batches()
    assert [(b.endpoint, b.kind, len(b.ops)) for b in batches] == [
        ("Tickets", "update", 2),
        ("TicketNotes", "create", 1),
    ]
    dispatcher.record(batches[0], ok=True, latency=0.1)
    assert dispatcher.sizer.size == 13
    assert [(b.endpoint, len(b.ops)) for b in dispatcher.next_batches()] == [("TimeEntries", 1)]
