"""What only the SQLite backend promises: audit in the same transaction, a clear full-disk error
with nothing half-written, and index-backed paging over a large queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.queue import NewOperation, OpQuery, SQLiteBackend
from agent.store import DiskFullError, Store
from agent.store import audit as audit_trail
from agent.store.models import AuditEvent, OpKind, OpState, OutboxOp, Priority


def test_enqueue_coalesce_cancel_and_park_append_to_the_audit_chain(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock)
    a = box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": 1}, target_id=1))
    box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"title": "x"}, target_id=1))
    b = box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": 1}, target_id=2))
    box.cancel(b.id, "not needed")
    box.claim("w", 60)
    box.park(a.id, "refused")
    actions = store.read(lambda: [e.action for e in AuditEvent.select().order_by(AuditEvent.id)])
    assert actions == ["enqueued", "coalesced", "enqueued", "cancelled", "parked"]
    assert store.read(audit_trail.verify).ok


def test_without_audit_no_events_are_written(store: Store, fake_clock: FakeClock) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": 1}, target_id=1))
    assert store.read(lambda: AuditEvent.select().count()) == 0


def test_a_full_disk_raises_a_clear_error_and_leaves_nothing_half_written(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock)
    pages = store.read(lambda: store.db.execute_sql("PRAGMA page_count").fetchone()[0])
    store.write(lambda: store.db.execute_sql(f"PRAGMA max_page_count = {pages + 8}"))
    queued = 0

    def fill() -> None:
        nonlocal queued
        for n in range(200):
            box.enqueue(
                NewOperation(
                    OpKind.CREATE,
                    "TicketNote",
                    {"description": f"marker-{n} " + "x" * 3000},
                    parent_id=n,
                )
            )
            queued += 1

    with pytest.raises(DiskFullError) as caught:
        fill()
    assert "full" in str(caught.value)
    assert queued > 0
    ops = box.list_ops(OpQuery(limit=1000)).items
    assert len(ops) == queued
    assert all(op.fields["description"].startswith(f"marker-{i} ") for i, op in enumerate(ops))
    events = store.read(lambda: AuditEvent.select().count())
    assert events == queued  # no audit event without its operation
    assert store.integrity_check() == "ok"


def test_paging_a_large_queue_by_keyset_reads_no_temporary_sort(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    box.enqueue_many(
        [NewOperation(OpKind.UPDATE, "Ticket", {"n": i}, target_id=i) for i in range(2000)]
    )
    page = box.list_ops(OpQuery(states=frozenset({OpState.PENDING}), after_id=1500, limit=100))
    assert [op.id for op in page.items] == list(range(1501, 1601))
    where, params = box._where(OpQuery(states=frozenset({OpState.PENDING})))
    plan = store.read(
        lambda: store.db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM outbox_op"
            + where
            + " AND id>? ORDER BY id LIMIT 100",
            [*params, 1500],
        ).fetchall()
    )
    text = " ".join(str(row[-1]) for row in plan)
    assert "TEMP B-TREE" not in text
    assert "INTEGER PRIMARY KEY" in text or "rowid" in text.lower()


def test_listing_a_rare_state_uses_the_state_index_not_a_scan(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    made = box.enqueue_many(
        [NewOperation(OpKind.UPDATE, "Ticket", {"n": i}, target_id=i) for i in range(300)]
    )
    box.park(made[7].id, "refused")
    parked = OpQuery(states=frozenset({OpState.PARKED}))
    assert [op.id for op in box.list_ops(parked).items] == [made[7].id]
    assert box.count(parked) == 1
    where, params = box._where(parked)
    plan = store.read(
        lambda: store.db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM outbox_op" + where, params
        ).fetchall()
    )
    assert "outbox_op_state_id" in " ".join(str(row[-1]) for row in plan)


def test_each_stores_outbox_audits_into_its_own_database(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    with Store(tmp_path / "a.db") as first, Store(tmp_path / "b.db") as second:
        boxes = [SQLiteBackend(first, fake_clock), SQLiteBackend(second, fake_clock)]
        boxes[0].enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": 1}, target_id=1))
        boxes[0].enqueue_many(
            [NewOperation(OpKind.UPDATE, "Ticket", {"status": 1}, target_id=n) for n in (2, 3)]
        )

        def events(store: Store) -> int:
            return int(
                store.read(
                    lambda: store.db.execute_sql("SELECT COUNT(*) FROM audit_event").fetchone()[0]
                )
            )

        assert (events(first), events(second)) == (3, 0)


def test_acknowledging_a_batch_returns_what_the_rows_hold_even_when_changed_since_the_claim(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    other = SQLiteBackend(store, fake_clock, audit=False)
    for n in range(1, 5):
        box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"title": f"t{n}"}, target_id=n))
    claimed = box.claim("w", 60)
    assert len(claimed) == 4
    # Changed behind the claim's back at the same instant: a priority through another backend,
    # a release and re-claim by another worker, the fields of a partly sent update, and a
    # column written by plain SQL.
    other.set_priority(claimed[0].id, Priority.CRITICAL)
    other.release(claimed[1].id, fake_clock.now().timestamp(), "timeout")
    other.claim("v", 60)
    other.rewrite(claimed[2].id, fields={"title": "left"}, base={"title": "was"})
    store.write(
        lambda: store.db.execute_sql(
            # A payload like the others (plain JSON on a store that does not seal).
            "UPDATE outbox_op SET last_error=CAST('\"slow\"' AS BLOB) WHERE id=?",
            (claimed[3].id,),
        )
    )
    returned = {op.id: op for op in box.acknowledge_many({op.id: None for op in claimed})}
    assert returned[claimed[0].id].priority is Priority.CRITICAL
    assert returned[claimed[1].id].attempts == 2
    assert returned[claimed[2].id].fields == {"title": "left"}
    assert returned[claimed[3].id].last_error == "slow"
    assert all(op == other.get(op_id) for op_id, op in returned.items())


def test_acknowledging_a_claimed_batch_matches_reading_each_row(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    fresh = SQLiteBackend(store, fake_clock, audit=False)
    parent = box.enqueue(NewOperation(OpKind.CREATE, "Ticket", {"title": "p"}, temp_id="p"))
    box.claim("w", 60)
    box.acknowledge(parent.id, 77)
    box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"title": "x"}, target_id=9))
    box.enqueue(NewOperation(OpKind.CREATE, "TicketNote", {"description": "n"}, parent_temp_id="p"))
    claimed = box.claim("w", 60)
    fake_clock.advance(5)
    returned = box.acknowledge_many({op.id: None for op in claimed})
    assert returned == [fresh.get(op.id) for op in claimed]


def test_big_batches_are_written_on_the_writer_thread_and_small_ones_directly(
    store: Store, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    seen: list[bool] = []
    write = store.write

    def spy(fn: object, *, large: bool = False) -> object:
        seen.append(large)
        return write(fn, large=large)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write", spy)
    ops = [NewOperation(OpKind.UPDATE, "Ticket", {"n": n}, target_id=n) for n in range(1, 302)]
    box.enqueue_many(ops[:5])
    box.enqueue_many(ops[5:])
    box.claim("w", 60, limit=300)
    assert seen == [False, True, True]
    assert store.read(lambda: OutboxOp.select().count()) == 301


def test_acknowledging_skips_what_another_worker_finished_and_sees_new_dependencies(
    store: Store, fake_clock: FakeClock
) -> None:
    box = SQLiteBackend(store, fake_clock, audit=False)
    other = SQLiteBackend(store, fake_clock, audit=False)
    for n in range(1, 4):
        box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"title": f"t{n}"}, target_id=n))
    first, second, third = box.claim("w", 60)
    finished = other.acknowledge(first.id)
    store.write(
        lambda: store.db.execute_sql(
            "INSERT INTO op_dependency (op_id, depends_on_id) VALUES (?, ?)",
            (third.id, second.id),
        )
    )
    fake_clock.advance(5)
    returned = {op.id: op for op in box.acknowledge_many({op.id: None for op in (first, second)})}
    # Done before: kept as it was (not written again at the later instant).
    assert returned[first.id] == finished == other.get(first.id)
    assert returned[second.id] == other.get(second.id)
    assert returned[second.id].state is OpState.DONE
    assert returned[second.id].updated_at == fake_clock.now().timestamp()
    [acked] = box.acknowledge_many({third.id: None})
    assert acked.depends_on == [second.id] and acked == other.get(third.id)
