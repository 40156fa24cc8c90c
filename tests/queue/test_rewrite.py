"""Rewriting a live operation and finding operations whose outcome is unknown, on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from agent.queue import InvalidOperationError, NewOperation, OperationNotFound, OpQuery
from agent.queue.base import LedgerOutbox
from agent.queue.coalesce import fingerprint_of
from agent.store.models import OpKind, OpState


def update(target: int, **fields: Any) -> NewOperation:
    return NewOperation(
        OpKind.UPDATE, "Ticket", fields, dict.fromkeys(fields, "was"), target_id=target
    )


def test_rewrite_replaces_fields_and_base_and_keeps_the_lease(outbox: LedgerOutbox) -> None:
    op = outbox.enqueue(update(5, status=2, title="new"))
    (leased,) = outbox.claim("w", 60)
    done = outbox.rewrite(op.id, fields={"title": "new"}, base={"title": "old"})
    assert done.fields == {"title": "new"}
    assert done.base == {"title": "old"}
    assert done.state is OpState.LEASED
    assert done.lease_owner == "w"
    assert done.attempts == leased.attempts
    assert done.fingerprint == fingerprint_of(update(5, title="new"))
    assert done.fingerprint != op.fingerprint
    assert outbox.get(op.id) == done


def test_a_rewritten_operation_deduplicates_by_its_new_fields(outbox: LedgerOutbox) -> None:
    op = outbox.enqueue(update(5, status=2, title="new"))
    outbox.claim("w", 60)  # leased: an identical enqueue is deduplicated, never merged
    outbox.rewrite(op.id, fields={"title": "new"}, base={"title": "old"})
    assert outbox.enqueue(update(5, title="new")).id == op.id
    assert outbox.enqueue(update(5, status=2, title="new")).id != op.id


def test_a_resolved_conflict_is_rewritten_then_requeued_with_the_chosen_values(
    outbox: LedgerOutbox,
) -> None:
    op = outbox.enqueue(update(8, status=2))
    outbox.claim("w", 60)
    outbox.park(op.id, "server changed status", conflict=True)
    rewritten = outbox.rewrite(op.id, fields={"status": 7}, base={"status": 3})
    assert rewritten.state is OpState.CONFLICT
    outbox.requeue(op.id)
    (again,) = outbox.claim("w", 60)
    assert (again.id, again.fields, again.base) == (op.id, {"status": 7}, {"status": 3})


def test_rewriting_is_recorded_in_the_operations_history(outbox: LedgerOutbox) -> None:
    op = outbox.enqueue(update(5, status=2))
    outbox.rewrite(op.id, fields={"status": 4}, base={"status": 1})
    events = [e for e in outbox.history(op.id) if e.action == "rewritten"]
    assert len(events) == 1
    assert events[0].detail == {"fields": ["status"], "base": ["status"]}


def test_a_finished_or_missing_operation_cannot_be_rewritten(outbox: LedgerOutbox) -> None:
    op = outbox.enqueue(update(5, status=2))
    outbox.claim("w", 60)
    outbox.acknowledge(op.id)
    with pytest.raises(InvalidOperationError):
        outbox.rewrite(op.id, fields={"status": 4}, base={})
    assert outbox.get(op.id).fields == {"status": 2}  # type: ignore[union-attr]
    with pytest.raises(OperationNotFound):
        outbox.rewrite(op.id + 100, fields={"status": 4}, base={})


def test_operations_whose_outcome_is_unknown_can_be_listed_alone(outbox: LedgerOutbox) -> None:
    sent = outbox.enqueue(update(1, status=1))
    outbox.enqueue(update(2, status=1))
    done = outbox.enqueue(update(3, status=1))
    outbox.claim("w", 60)
    outbox.mark_sent(sent.id)
    outbox.mark_sent(done.id)
    outbox.acknowledge(done.id)  # acknowledged: the outcome is known again
    unknown = OpQuery(outcome_unknown=True)
    assert [op.id for op in outbox.list_ops(unknown).items] == [sent.id]
    assert outbox.count(unknown) == 1
    assert outbox.count(OpQuery(outcome_unknown=False)) == 2
    pending = OpQuery(states=frozenset({OpState.PENDING}), outcome_unknown=True)
    assert outbox.list_ops(pending).items == []
    outbox.release(sent.id, 0.0, outcome_unknown=True)
    assert [op.id for op in outbox.list_ops(pending).items] == [sent.id]
