"""A parked operation says why it is parked: a refusal the server answered settles the outcome, so
the op no longer reads "checking whether an earlier attempt already reached Autotask"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.api import views
from agent.clock import FakeClock
from agent.queue import MemoryBackend, SQLiteBackend
from agent.queue.base import LedgerOutbox
from agent.queue.operation import NewOperation, Operation
from agent.store import Store
from agent.store.models import OpKind, OpState
from agent.sync import outcomes

REFUSAL = "The resource 1 does not exist or is inactive."


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "agent.db")
    yield s
    s.close()


@pytest.fixture(params=["memory", "sqlite"])
def outbox(
    request: pytest.FixtureRequest, store: Store, fake_clock: FakeClock
) -> Iterator[LedgerOutbox]:
    box: LedgerOutbox = (
        MemoryBackend(fake_clock) if request.param == "memory" else SQLiteBackend(store, fake_clock)
    )
    yield box
    box.close()


def sent_update(outbox: LedgerOutbox) -> Operation:
    """An update claimed and sent: from here its outcome is unknown until the server answers."""
    outbox.enqueue(
        NewOperation(
            OpKind.UPDATE,
            "Tickets",
            fields={"title": "New", "assignedResourceID": 1, "assignedResourceRoleID": 1},
            base={"title": "Old", "assignedResourceID": 7, "assignedResourceRoleID": 8},
            target_id=42,
        )
    )
    [op] = outbox.claim("worker", 300.0)
    sent = outbox.mark_sent(op.id)
    assert sent.outcome_unknown
    return sent


def test_a_refusal_parks_with_the_servers_reason_and_a_known_outcome(
    store: Store, outbox: LedgerOutbox
) -> None:
    op = sent_update(outbox)
    store.write(
        lambda: outcomes.failed(
            outbox,
            op,
            now=0.0,
            category="validation",
            action="park_needs_attention",
            message=REFUSAL,
            retry_at=None,
            outcome_unknown=False,
        )
    )
    parked = outbox.get(op.id)
    assert parked is not None and parked.state is OpState.PARKED
    assert not parked.outcome_unknown
    item = views.queue_item(parked)
    assert item.last_error == f"Autotask refused the change: {REFUSAL}"
    assert not item.outcome_unknown


def test_park_keeps_the_flag_unless_told_and_sets_or_clears_it_when_told(
    outbox: LedgerOutbox,
) -> None:
    op = sent_update(outbox)
    assert outbox.park(op.id, "a person looks first").outcome_unknown  # the caller cannot tell
    outbox.requeue(op.id)
    [again] = outbox.claim("worker", 300.0)
    assert again.outcome_unknown  # so a requeue still checks before sending
    assert not outbox.park(op.id, "refused", outcome_unknown=False).outcome_unknown


def test_conflicts_and_deletions_read_on_the_server_settle_the_outcome(
    store: Store, fake_clock: FakeClock
) -> None:
    outbox = SQLiteBackend(store, fake_clock)  # conflicts refer to the stored operation
    op = sent_update(outbox)
    store.write(lambda: outcomes.record_deleted_on_server(outbox, op, now=0.0))
    parked = outbox.get(op.id)
    assert parked is not None and parked.state is OpState.CONFLICT
    assert not parked.outcome_unknown


def test_a_parked_op_shows_its_reason_even_if_its_outcome_is_still_unknown(
    outbox: LedgerOutbox,
) -> None:
    op = sent_update(outbox)
    parked = outbox.park(op.id, "Gave up after the answer was lost five times")
    item = views.queue_item(parked)
    assert item.last_error == "Gave up after the answer was lost five times"
    assert item.outcome_unknown
