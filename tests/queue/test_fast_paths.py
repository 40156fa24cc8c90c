"""The fast paths (direct inserts, bulk batches, bulk acknowledgements) decide exactly what the
shared rules decide, on every backend; plus the purge of a create its dependents waited for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.canonical import canonical_bytes, canonical_json, loads
from agent.clock import FakeClock
from agent.queue import NewOperation, Operation
from agent.queue.base import LedgerOutbox
from agent.store.codec import JsonCodec
from agent.store.models import OpKind, OpState, Priority
from tests.queue.conftest import Factory


def update(target: int, **fields: Any) -> NewOperation:
    return NewOperation(
        OpKind.UPDATE, "Ticket", fields, dict.fromkeys(fields, "was"), target_id=target
    )


def shape(op: Operation) -> tuple[Any, ...]:
    return (
        op.id,
        op.kind,
        op.state,
        op.target_id,
        op.temp_id,
        op.parent_id,
        op.fields,
        op.base,
        op.priority,
        op.fingerprint,
        op.reason,
        op.depends_on,
        op.technician,
        op.deadline_at,
    )


INDEPENDENT = [
    update(1, status=5, title="Printer jams"),
    NewOperation(OpKind.CREATE, "Ticket", {"title": "New"}, temp_id="t-1"),
    NewOperation(OpKind.CREATE, "TicketNote", {"description": "a"}, parent_id=7),
    NewOperation(OpKind.CREATE, "TicketNote", {"description": "b"}, parent_id=7),
    NewOperation(OpKind.DELETE, "TimeEntry", {}, target_id=3),
    NewOperation(
        OpKind.UPDATE, "Ticket", {"status": 1}, target_id=2, priority=Priority.LOW, deadline_at=9.0
    ),
]
INTERACTING = [
    update(1, status=5),
    update(1, title="merged into the first"),
    update(1, status=5),  # identical to the first: deduplicated
    NewOperation(OpKind.CREATE, "Ticket", {"title": "New"}, temp_id="t-1"),
    NewOperation(OpKind.CREATE, "TicketNote", {"description": "a"}, parent_temp_id="t-1"),
    NewOperation(OpKind.UPDATE, "Ticket", {"title": "Renamed"}, temp_id="t-1"),
]


def _batch_and_one_by_one(make_outbox: Factory, news: list[NewOperation]) -> None:
    batch, single = make_outbox(), make_outbox()
    for box in (batch, single):
        box.enqueue(update(99, status=0))  # something live already, elsewhere
        box.enqueue(NewOperation(OpKind.CREATE, "Ticket", {"title": "Old"}, temp_id="t-0"))
    made = batch.enqueue_many(news)
    expected = [single.enqueue(new) for new in news]
    assert [shape(op) for op in made] == [shape(op) for op in expected]
    for op in made:
        assert shape(batch.get(op.id)) == shape(single.get(op.id))  # type: ignore[arg-type]


def test_a_batch_on_distinct_idle_entities_equals_queueing_one_by_one(
    make_outbox: Factory,
) -> None:
    _batch_and_one_by_one(make_outbox, INDEPENDENT)


def test_a_batch_whose_operations_interact_equals_queueing_one_by_one(
    make_outbox: Factory,
) -> None:
    _batch_and_one_by_one(make_outbox, INTERACTING)


def test_a_batch_touching_a_live_entity_merges_like_a_single_enqueue(
    outbox: LedgerOutbox,
) -> None:
    first = outbox.enqueue(update(1, status=5))
    made = outbox.enqueue_many([update(1, title="x"), update(2, title="y")])
    assert made[0].id == first.id
    assert made[0].fields == {"status": 5, "title": "x"}
    assert made[1].state is OpState.PENDING and made[1].id != first.id


def test_every_queued_operation_starts_its_history_as_enqueued(outbox: LedgerOutbox) -> None:
    one = outbox.enqueue(update(1, status=5))
    many = outbox.enqueue_many([update(2, status=5), update(3, status=5)])
    for op in [one, *many]:
        (event, *_) = outbox.history(op.id)
        assert (event.action, event.op_id) == ("enqueued", op.id)
        assert event.detail == {"kind": "update", "priority": "normal"}


def test_acknowledging_a_batch_marks_each_done_and_returns_what_is_stored(
    outbox: LedgerOutbox,
) -> None:
    made = outbox.enqueue_many([update(i, status=1) for i in range(1, 6)])
    claimed = outbox.claim("w", 60)
    outbox.mark_sent(claimed[0].id)
    done = outbox.acknowledge_many({op.id: None for op in claimed})
    assert [op.id for op in done] == [op.id for op in made]
    for op in done:
        assert op.state is OpState.DONE and op.lease_owner is None and not op.outcome_unknown
        assert op == outbox.get(op.id)
    assert outbox.acknowledge_many({made[0].id: None}) == [outbox.get(made[0].id)]


def test_acknowledging_a_create_in_a_batch_still_hands_its_id_to_waiting_operations(
    outbox: LedgerOutbox,
) -> None:
    ticket = outbox.enqueue(NewOperation(OpKind.CREATE, "Ticket", {"title": "x"}, temp_id="t"))
    other = outbox.enqueue(update(4, status=1))
    outbox.claim("w", 60)
    note = outbox.enqueue(
        NewOperation(OpKind.CREATE, "TicketNote", {"description": "y"}, parent_temp_id="t")
    )
    done = outbox.acknowledge_many({ticket.id: 555, other.id: None})
    assert [op.target_id for op in done] == [555, 4]
    assert outbox.get(note.id).parent_id == 555  # type: ignore[union-attr]


def test_purging_a_done_create_releases_the_operations_that_waited_for_it(
    outbox: LedgerOutbox, fake_clock: FakeClock
) -> None:
    ticket = outbox.enqueue(NewOperation(OpKind.CREATE, "Ticket", {"title": "x"}, temp_id="t"))
    note = outbox.enqueue(
        NewOperation(OpKind.CREATE, "TicketNote", {"description": "y"}, parent_temp_id="t")
    )
    assert outbox.get(note.id).depends_on == [ticket.id]  # type: ignore[union-attr]
    outbox.claim("w", 60)
    outbox.acknowledge(ticket.id, 555)
    fake_clock.advance(3600)
    assert outbox.purge(retention_seconds=600) == 1
    kept = outbox.get(note.id)
    assert kept is not None and kept.depends_on == [] and kept.parent_id == 555
    assert [op.id for op in outbox.claim("w", 60)] == [note.id]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
JSON_WITHOUT_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_WITHOUT_FLOATS)
def test_the_canonical_form_is_what_json_dumps_writes(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value).lstrip(" ") == expected  # a space marks integers past 64 bits
    assert JsonCodec().encode(value).lstrip(b" ") == expected.encode()


@given(JSON)
def test_the_canonical_form_reads_back_and_ignores_key_order(value: Any) -> None:
    assert loads(canonical_bytes(value)) == value
    assert JsonCodec().decode(JsonCodec().encode(value)) == value
    if isinstance(value, dict):
        assert canonical_bytes(dict(reversed(list(value.items())))) == canonical_bytes(value)


def test_everyday_decimals_and_huge_integers_match_json_too() -> None:
    for value in [0.25, 1.5, 12.75, 100.0, -3.125, 2**70, {"h": 7.5, "n": -(2**65)}]:
        text = canonical_json(value).lstrip(" ")
        assert text == json.dumps(value, sort_keys=True, separators=(",", ":"))
        assert loads(canonical_bytes(value)) == value  # not rounded through a float


def test_numbers_json_cannot_express_are_written_as_null() -> None:
    assert canonical_bytes({"a": float("inf"), "b": float("nan")}) == b'{"a":null,"b":null}'


def test_text_written_by_json_before_still_reads() -> None:
    assert loads(b'{"a":NaN}')["a"] != loads(b'{"a":NaN}')["a"]  # NaN is only equal to nothing
    assert JsonCodec().decode(json.dumps({"t": "caf\u00e9"}).encode()) == {"t": "café"}


def test_a_generated_evolver_changes_exactly_the_named_fields() -> None:
    from agent.queue.operation import evolver

    op = Operation(
        7,
        OpKind.UPDATE,
        "Ticket",
        3,
        None,
        None,
        None,
        {"a": 1},
        {"a": 0},
        Priority.NORMAL,
        OpState.PENDING,
        0,
        1.0,
        1.0,
        1.0,
        None,
        "f" * 64,
    )
    moved = evolver("state", "attempts")(op, OpState.LEASED, 4)
    assert moved == op.evolve(state=OpState.LEASED, attempts=4)
    assert moved.fields is op.fields
    with pytest.raises(ValueError, match="colour"):
        evolver("colour")


def test_direct_insert_after_another_path_took_the_next_id(store: Any) -> None:
    """The direct path's remembered next id is only a hint: a coalesced write (which takes
    MAX(id) + 1 itself) in between makes the next direct insert take a free id, not fail."""
    from agent.queue import SQLiteBackend

    box = SQLiteBackend(store, FakeClock(), audit=True)
    first = box.enqueue(update(1, status=5))
    merged = box.enqueue(update(1, title="later"))  # merged; its absorbed row takes id 2
    other = SQLiteBackend(store, FakeClock(), audit=True).enqueue(update(2, status=1))
    rows = store.read(
        lambda: store.db.execute_sql("SELECT id, target_id, state FROM outbox_op ORDER BY id")
    ).fetchall()
    assert merged.id == first.id == 1
    assert rows == [(1, 1, "pending"), (2, 1, "cancelled"), (3, 2, "pending")]
    assert other.id == 3 and box.get(3) == other


def test_a_rolled_back_direct_insert_leaves_a_gap_not_a_duplicate(store: Any) -> None:
    from agent.queue import SQLiteBackend

    box = SQLiteBackend(store, FakeClock(), audit=False)

    def enqueue_then_fail() -> None:
        box.enqueue(update(1, status=5))
        raise RuntimeError("the surrounding edit failed")

    with pytest.raises(RuntimeError):
        store.write(enqueue_then_fail)
    again = box.enqueue(update(1, status=5))
    assert box.count() == 1 and box.get(again.id) == again
